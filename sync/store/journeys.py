"""The steps of a record's journey that are not business events: edits made before a replay.

A billing event made from a record a person edited carries the audit row of the edit
(``billing_events.edit_audit_id``); :func:`billing_event_edits` reads those edits back, with
who made them, when and what changed (before → after), for the Exceptions page's journey and
``plan2cash exceptions show``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sync.store.tables import AuditRow, BillingEventRow

EDITED = "billing_event.edited"


@dataclass(frozen=True)
class BillingEventEdit:
    """The edit a billing event was made from: who, when, what, why, and its audit row."""

    billing_event_id: str
    audit_id: int
    actor: str
    at: datetime
    changes: dict[str, Any]  # field → {"before": …, "after": …}
    reason: str

    @property
    def summary(self) -> str:
        """``by ana@firm: hours -2.0 → 2.0 (audit #12: hours were typed with a minus)``."""
        what = "; ".join(
            f"{field} {_shown(change.get('before'))} → {_shown(change.get('after'))}"
            for field, change in self.changes.items()
            if isinstance(change, dict)
        )
        why = f": {self.reason}" if self.reason else ""
        return f"by {self.actor}: {what} (audit #{self.audit_id}{why})"


def _shown(value: Any) -> str:
    if isinstance(value, dict) and "name" in value:
        return repr(value["name"])
    return "—" if value is None else repr(value) if isinstance(value, str) else str(value)


def billing_event_edits(
    session: Session, billing_event_ids: Sequence[str]
) -> list[BillingEventEdit]:
    """The edits the given billing events were made from, oldest first (events made from a
    record as the vendor sent it have none)."""
    if not billing_event_ids:
        return []
    rows = session.execute(
        select(BillingEventRow.id, AuditRow)
        .join(AuditRow, AuditRow.id == BillingEventRow.edit_audit_id)
        .where(BillingEventRow.id.in_(billing_event_ids))
        .order_by(AuditRow.at, AuditRow.id)
    ).all()
    return [
        BillingEventEdit(
            billing_event_id=event_id,
            audit_id=entry.id,
            actor=entry.actor,
            at=entry.at,
            changes=dict(entry.detail.get("changes") or {}),
            reason=str(entry.detail.get("reason") or ""),
        )
        for event_id, entry in rows
    ]


__all__ = ["EDITED", "BillingEventEdit", "billing_event_edits"]
