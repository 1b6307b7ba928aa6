"""Xero webhooks as Xero sends them: signed with ``x-xero-signature``.

The signature is base64(HMAC-SHA256(webhook key, raw body)). When a webhook is set up, Xero first
sends "intent to receive" deliveries with no events, one correctly and one incorrectly signed,
and expects 200 and 401. Events name the resource that changed; the receiver fetches it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime

import httpx
import orjson

DEFAULT_WEBHOOK_KEY = "sandbox-xero-webhook-key"
API = "https://api.xero.com/api.xro/2.0"


def sign(body: bytes, key: str) -> str:
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


def event(
    tenant_id: str,
    category: str,
    resource_id: str,
    *,
    kind: str = "UPDATE",
    at: datetime | None = None,
) -> dict[str, str]:
    """One event: ``category`` INVOICE, CONTACT or CREDITNOTE; ``kind`` CREATE or UPDATE."""
    collection = {"INVOICE": "Invoices", "CONTACT": "Contacts", "CREDITNOTE": "CreditNotes"}
    return {
        "resourceUrl": f"{API}/{collection[category]}/{resource_id}",
        "resourceId": resource_id,
        "eventDateUtc": (at or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3],
        "eventType": kind,
        "eventCategory": category,
        "tenantId": tenant_id,
        "tenantType": "ORGANISATION",
    }


def delivery(
    events: Sequence[dict[str, str]],
    key: str,
    *,
    first_sequence: int = 1,
    bad_signature: bool = False,
) -> tuple[dict[str, str], bytes]:
    """Headers and raw body of one delivery (``bad_signature``: signed with a wrong key)."""
    body = orjson.dumps(
        {
            "events": list(events),
            "firstEventSequence": first_sequence,
            "lastEventSequence": first_sequence + max(len(events) - 1, 0),
            "entropy": secrets.token_hex(10).upper(),
        }
    )
    signer = key if not bad_signature else key + "-wrong"
    return {"x-xero-signature": sign(body, signer), "Content-Type": "application/json"}, body


def intent_to_receive(
    url: str, key: str, *, transport: httpx.BaseTransport | None = None
) -> tuple[int, int]:
    """Xero's set-up check: statuses the receiver gave to a good and a badly signed delivery
    (a correct receiver answers 200 then 401)."""
    with httpx.Client(transport=transport, timeout=5.0) as client:
        statuses = []
        for bad in (False, True):
            headers, body = delivery([], key, bad_signature=bad)
            statuses.append(client.post(url, content=body, headers=headers).status_code)
    return statuses[0], statuses[1]
