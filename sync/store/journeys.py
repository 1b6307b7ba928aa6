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

from collectors.entities import canonical_id
from sync.store.tables import AuditRow, BillingEventRow, ExceptionRow

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


def exception_edits(session: Session, exception: ExceptionRow) -> list[BillingEventEdit]:
    """The edits behind the billing event of the record an exception held (none when the
    record was never edited, or the exception holds no record)."""
    return billing_event_edits(session, related_ids(exception))


def related_ids(exception: ExceptionRow) -> list[str]:
    """The ids a held record's journey is made of: the record's and its billing event's."""
    entity = exception.entity_id
    return [entity, canonical_id("plan2cash", "billing_event", entity)] if entity else []


__all__ = ["EDITED", "BillingEventEdit", "billing_event_edits", "exception_edits", "related_ids"]
