"""What an invoiced time entry still needs, from the store as it is (DESIGN §4, flow 4).

The hours the customer has been billed for an entry are its invoiced hours, plus its invoiced
adjustments, minus its credit notes; what it is worth now is its current hours (none once it is
deleted, unapproved or made non-billable). The difference is what a new document must carry; an
adjustment still waiting for its invoice is counted apart (``Plan.pending``), since it can be
revised in place. Every compensation, withdrawn ones too, counts as a version.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from sync.store.tables import BillingEventRow, CompensationRow, TimeEntryRow
from sync.store.vocabulary import CompensationKind, CompensationStatus

CREDIT_NOTE = CompensationKind.CREDIT_NOTE
ADJUSTMENT = CompensationKind.ADJUSTMENT
HOURS = Decimal("0.0001")
MAX_HOURS = Decimal(24)


@dataclass(frozen=True)
class Case:
    """An invoiced time entry as it is now, with what it was invoiced at."""

    entry_id: str
    source_id: str
    event: BillingEventRow
    hours_now: Decimal
    gone: str | None  # why the entry is worth nothing now, if it is not


@dataclass(frozen=True)
class Plan:
    """What an entry still needs: ``want`` hours on a pending adjustment (> 0) or on a new
    credit note (< 0); ``pending`` is the adjustment already waiting for an invoice."""

    case: Case
    want: Decimal
    pending: CompensationRow | None
    version: int

    @property
    def settled(self) -> bool:
        return self.want == (self.pending.quantity if self.pending else Decimal(0))


def plan(session: Session, entry_ids: Sequence[str]) -> list[Plan]:
    """What each invoiced entry among ``entry_ids`` still needs, from the store as it is."""
    rows = session.execute(
        select(BillingEventRow, TimeEntryRow)
        .join(TimeEntryRow, TimeEntryRow.id == BillingEventRow.source_record_id)
        .where(
            BillingEventRow.source_record_id.in_(entry_ids),
            BillingEventRow.kind == "time",
            BillingEventRow.invoice_id.is_not(None),
        )
    ).all()
    done = _compensations(session, [te.id for _, te in rows])
    plans = []
    for event, entry in rows:
        case = _case(event, entry)
        if case is None:
            continue
        billed, pending, count = Decimal(event.quantity), None, 0
        for row, invoiced in done.get(entry.id, []):
            count += 1
            if row.status == CompensationStatus.WITHDRAWN:  # still a version, no longer hours
                continue
            if row.kind == CREDIT_NOTE:
                billed -= row.quantity
            elif invoiced:
                billed += row.quantity
            else:
                pending = row
        want = (case.hours_now - billed).quantize(HOURS)
        plans.append(Plan(case, want, pending, count + 1))
    return plans


def _case(event: BillingEventRow, entry: TimeEntryRow) -> Case | None:
    gone = (
        "deleted in Harvest"
        if entry.deleted_at is not None
        else "no longer approved"
        if entry.status != "approved"
        else "made non-billable"
        if not entry.billable
        else None
    )
    hours = Decimal(0) if gone else Decimal(entry.hours) if entry.hours is not None else None
    if hours is None or not Decimal(0) <= hours <= MAX_HOURS:
        return None  # not a valid value yet: the entry's own exception says why
    return Case(entry.id, entry.source_id, event, hours.quantize(HOURS), gone)


def _compensations(
    session: Session, entry_ids: list[str]
) -> dict[str, list[tuple[CompensationRow, bool]]]:
    """Each entry's compensations in version order, with whether an adjustment is invoiced."""
    found: dict[str, list[tuple[CompensationRow, bool]]] = defaultdict(list)
    rows = session.execute(
        select(CompensationRow, BillingEventRow.invoice_id)
        .outerjoin(BillingEventRow, BillingEventRow.id == CompensationRow.billing_event_id)
        .where(CompensationRow.time_entry_id.in_(entry_ids))
        .order_by(CompensationRow.version)
    ).all()
    for row, invoice_id in rows:
        found[row.time_entry_id].append((row, invoice_id is not None))
    return found
