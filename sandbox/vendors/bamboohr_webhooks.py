"""BambooHR webhook deliveries, signed as BambooHR signs them.

Payload (JSON format of a global webhook): ``{"employees": [{"id", "action", "changedFields",
"fields"}]}`` with ``action`` Created|Updated|Deleted; Created and Deleted carry empty
``changedFields`` and ``fields``, Updated carries the changed field names and the posted fields.

Signature: HMAC-SHA256 keyed with the webhook's private key over the raw body immediately
followed by the ``X-BambooHR-Timestamp`` value (Unix seconds). The digest is sent as lowercase
**hex**: the vendor notes mark the encoding unconfirmed; hex is what BambooHR's PHP example
(``hash_hmac('sha256', ...)``, hex by default) produces, so hex is the assumption here.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson

# What a delivery posts for an Updated employee: BambooHR label -> field alias.
POSTED_FIELDS = {
    "First Name": "firstName",
    "Last Name": "lastName",
    "Job Title": "jobTitle",
    "Department": "department",
    "Location": "location",
    "Division": "division",
    "Status": "status",
    "Employment Status": "employmentHistoryStatus",
    "Reporting to": "supervisor",
    "Hire Date": "hireDate",
    "Termination Date": "terminationDate",
}
ACTIONS = {"created": "Created", "updated": "Updated", "deleted": "Deleted"}


def action_of(event: str) -> str:
    """``"employee.updated"``, ``"employee_with_fields.updated"`` or ``"updated"`` → Updated."""
    name = event.rsplit(".", 1)[-1].lower()
    if name not in ACTIONS:
        raise ValueError(f"unknown webhook event {event!r}")
    return ACTIONS[name]


def signature(body: bytes, timestamp: str, key: str) -> str:
    """The ``X-BambooHR-Signature`` of ``body`` sent at ``timestamp``."""
    return hmac.new(key.encode(), body + timestamp.encode(), hashlib.sha256).hexdigest()


def payload(
    action: str,
    changes: Sequence[tuple[int, Mapping[str, Any]]],
    changed_fields: Sequence[str] = (),
) -> bytes:
    """The raw JSON body for ``changes`` (employee id, posted fields)."""
    employees = []
    for employee_id, fields in changes:
        updated = action == "Updated"
        employees.append(
            {
                "id": str(employee_id),
                "action": action,
                "changedFields": list(changed_fields) if updated else [],
                "fields": dict(fields) if updated else {},
            }
        )
    return orjson.dumps({"employees": employees})


def signed(body: bytes, key: str, sent_at: datetime) -> dict[str, str]:
    """The headers of a delivery of ``body`` sent at ``sent_at``."""
    timestamp = str(int(sent_at.timestamp()))
    return {
        "Content-Type": "application/json",
        "X-BambooHR-Timestamp": timestamp,
        "X-BambooHR-Signature": signature(body, timestamp, key),
    }
