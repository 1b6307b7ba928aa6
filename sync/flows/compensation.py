"""Compensating transactions: time that changed after it was invoiced is put right with a new
document, never by editing the posted invoice (DESIGN §4, flow 4).

For a time entry already on an invoice, the hours the customer has been billed for it are the
invoiced hours, plus its invoiced adjustments, minus its credit notes. What it is worth now is its
current hours (none once it is deleted, unapproved or made non-billable), at the rate it was
invoiced at. The difference becomes:

- down: a credit note (Xero ACCRECCREDIT) for the difference against the original invoice's
  contact, delivered through the outbox and allocated to that invoice there;
- up: an adjustment, a billing event of kind ``adjustment`` dated today, so that it lands as its
  own line on the contract's next invoice;
- an adjustment still waiting for its invoice has posted nothing yet, so it is revised in place
  (or withdrawn) instead of being compensated in turn.

A compensation's id comes from (invoice, entry, version), the version counting the entry's
compensations. It is written in one transaction with its outbox row or billing event, its
business event and the resolution of the entry's ``edited_after_invoiced`` exception: a second
run finds nothing left to compensate, and a crash leaves all or nothing.

A run looks only at invoiced entries touched since the last one, so its cost follows what
changed, not the history: entries whose ``updated_at`` (the time system's clock; never past the
engine's committed Harvest cursor less its lag, the window the billable flow re-reads) or
``deleted_at`` (the store's clock) moved, billing events put on an invoice and compensations
written (the engine's clock). Each column has its own watermark (``sync.flows.watermarks``,
under system ``compensation``), moved in the transaction of the run's last page, so a crash reads
the same changes again. The first run, and one a day (or ``full=True``), reads every invoiced
entry, so that nothing a watermark let through (an entry stored late with an old stamp by the
reconciliation flow) waits for ever.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import CompoundSelect, delete, false, func, or_, select, union, update
from sqlalchemy.orm import Session

from collectors.entities import canonical_id
from sync.flows import watermarks
from sync.flows.context import FlowContext, FlowResult
from sync.flows.record_keys import BILLABLE_FLOW, edited_entry
from sync.flows.watermarks import Moment
from sync.pipeline import with_last
from sync.store import outbox
from sync.store.db import transaction
from sync.store.repo import Problem, get_cursor, resolve_problems, set_cursor
from sync.store.tables import (
    BillingEventRow,
    CompensationRow,
    InvoiceRow,
    TimeEntryRow,
)
from sync.telemetry import record_events, tracer

CREDIT_NOTE = "credit_note"
ADJUSTMENT = "adjustment"
CENT = Decimal("0.01")
HOURS = Decimal("0.0001")
MAX_HOURS = Decimal(24)
PAGE = 200
SYSTEM = "compensation"
FULL_SCAN_EVERY = timedelta(days=1)  # on the wall clock
NEVER = datetime.min.replace(tzinfo=UTC)
# watermark name -> the column it follows (each on one clock)
SOURCES: dict[str, Any] = {
    "entries": TimeEntryRow.updated_at,
    "deleted": TimeEntryRow.deleted_at,
    "events": BillingEventRow.updated_at,
    "compensations": CompensationRow.updated_at,
}


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


def run(ctx: FlowContext, *, full: bool = False) -> FlowResult:
    """Compensate every invoiced entry whose value changed since the last run (``full``: among
    all invoiced entries), a page of entries per transaction. ``records_in`` counts the invoiced
    entries read, ``records_out`` the compensations made."""
    at = Moment.of(ctx.clock())
    lag = timedelta(seconds=ctx.settings.billing.cursor_lag_seconds)
    with ctx.sessions() as session:
        floors = {name: watermarks.floor(session, SYSTEM, name) for name in SOURCES}
        full = full or _full_scan_due(session, floors, at)
        newest = {name: _newest(session, name, lag) for name in SOURCES}  # before the scan
        entry_ids = _changed_entries(session, None if full else floors)
    result = FlowResult(records_in=len(entry_ids))
    pages = [entry_ids[i : i + PAGE] for i in range(0, len(entry_ids), PAGE)] or [[]]
    with tracer.start_as_current_span(
        "compensation", attributes={"full": full, "scanned": len(entry_ids)}
    ):
        for page, last in with_last(iter(pages)):
            with transaction(ctx.sessions) as session:
                result.records_out += _compensate_page(session, ctx, page)
                if last:
                    _move_watermarks(session, floors, newest, at, full=full)
    return result


def _compensate_page(session: Session, ctx: FlowContext, page: list[str]) -> int:
    with tracer.start_as_current_span("compensation page", attributes={"records": len(page)}):
        plans = [p for p in plan(session, page) if not p.settled]
        for p in plans:
            _compensate(session, ctx, p)
    return len(plans)


def _full_scan_due(session: Session, floors: dict[str, datetime | None], at: Moment) -> bool:
    last = get_cursor(session, SYSTEM, "full_scan")
    if last is None or any(f is None for f in floors.values()):
        return True
    return at.wall - datetime.fromisoformat(last) >= FULL_SCAN_EVERY


def _newest(session: Session, name: str, lag: timedelta) -> datetime | None:
    """The newest stamp of a source; for time entries, never past what the billable flow will not
    read again (its committed Harvest cursor less its lag)."""
    column = SOURCES[name]  # not null: ``deleted_at`` is indexed only where set
    newest: datetime | None = session.scalar(select(func.max(column)).where(column.is_not(None)))
    cursor = get_cursor(session, "harvest", "time_entries") if name == "entries" else None
    if newest is not None and cursor:
        stored = datetime.fromisoformat(cursor.replace("Z", "+00:00"))
        newest = min(newest, stored - lag)
    return newest


def _move_watermarks(
    session: Session,
    floors: dict[str, datetime | None],
    newest: dict[str, datetime | None],
    at: Moment,
    *,
    full: bool,
) -> None:
    """A full scan read more than the floors ask, so it moves them as any run does; the first
    run starts them."""
    for name in SOURCES:
        old = floors[name]
        if old is None:
            watermarks.restart(session, SYSTEM, name, newest=newest[name] or NEVER, at=at)
        else:
            watermarks.advance(session, SYSTEM, name, old=old, newest=newest[name], at=at)
    if full:
        set_cursor(session, SYSTEM, "full_scan", at.wall.isoformat())


def uncompensated(session: Session, problems: Sequence[Problem]) -> list[Problem]:
    """The ``edited_after_invoiced`` problems whose entry is not compensated yet (an entry whose
    difference already has its credit note or adjustment is not reported again)."""
    if not problems:
        return []
    plans = {p.case.entry_id: p for p in plan(session, [p.entity_id or "" for p in problems])}
    return [p for p in problems if p.entity_id not in plans or not plans[p.entity_id].settled]


def _changed_entries(session: Session, floors: dict[str, datetime | None] | None) -> list[str]:
    """Invoiced time entries that are gone or whose hours differ from the invoiced hours, among
    those touched after ``floors`` (``None``: all); compensated ones drop out in ``plan``."""
    entry = TimeEntryRow
    statement = (
        select(entry.id)
        .join(BillingEventRow, BillingEventRow.source_record_id == entry.id)
        .where(
            BillingEventRow.kind == "time",
            BillingEventRow.invoice_id.is_not(None),
            or_(
                entry.deleted_at.is_not(None),
                entry.status != "approved",
                entry.billable.is_(None),
                entry.billable == false(),
                entry.hours != BillingEventRow.quantity,
            ),
        )
        .order_by(entry.id)
    )
    if floors is not None:
        statement = statement.where(entry.id.in_(_touched(floors)))
    return list(session.scalars(statement))


def _touched(floors: dict[str, datetime | None]) -> CompoundSelect[tuple[str]]:
    """Ids of the entries touched after the floors (each branch reads an index on its stamp)."""
    entry, event, done = TimeEntryRow, BillingEventRow, CompensationRow
    return union(
        select(entry.id).where(entry.updated_at > floors["entries"]),
        select(entry.id).where(entry.deleted_at > floors["deleted"]),
        select(event.source_record_id).where(event.updated_at > floors["events"]),
        select(done.time_entry_id).where(done.updated_at > floors["compensations"]),
        select(done.time_entry_id)  # an adjustment put on an invoice
        .join(event, event.id == done.billing_event_id)
        .where(event.updated_at > floors["events"]),
    )


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
            if row.status == "withdrawn":  # still a version, no longer hours
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


def _compensate(session: Session, ctx: FlowContext, p: Plan) -> None:
    if p.pending is not None:
        if p.want > 0:
            _revise(session, ctx, p, p.pending)
            return
        _withdraw(session, ctx, p.pending)
        if p.want == 0:
            _resolve(session, p, f"withdrawing the pending adjustment {p.pending.id}")
    if p.want > 0:
        _adjust(session, ctx, p)
    elif p.want < 0:
        _credit(session, ctx, p)


def _amount(hours: Decimal, rate: Decimal) -> Decimal:
    """Hours × rate rounded as the ERP rounds a line."""
    return (hours * rate).quantize(CENT, rounding=ROUND_HALF_UP)


def _invoice_number(session: Session, event: BillingEventRow) -> str:
    invoice = session.get(InvoiceRow, event.invoice_id)
    return invoice.number if invoice else str(event.invoice_id)


def _credit(session: Session, ctx: FlowContext, p: Plan) -> None:
    event, hours = p.case.event, -p.want
    invoice_number = _invoice_number(session, event)
    rate = Decimal(event.rate)
    key = f"{event.invoice_id}:{p.case.entry_id}:{p.version}"
    row = CompensationRow(
        id=canonical_id("plan2cash", CREDIT_NOTE, key),
        kind=CREDIT_NOTE,
        number=f"CN-{invoice_number}-{p.case.source_id}-{p.version}",
        reason=_why(p, invoice_number),
        quantity=hours,
        rate=rate,
        amount=_amount(hours, rate),
        issue_date=ctx.today(),
        status="pending",
        **_common(p, ctx.clock()),
    )
    session.add(row)
    outbox.enqueue(
        session,
        outbox.CREDIT_NOTE_KIND,
        row.id,
        {"credit_note_id": row.id, "invoice_id": event.invoice_id},
    )
    _done(session, ctx, p, "credit_note.created", row, f"credit note {row.number}")


def _adjust(session: Session, ctx: FlowContext, p: Plan) -> None:
    event, hours = p.case.event, p.want
    invoice_number = _invoice_number(session, event)
    rate = Decimal(event.rate)
    source = f"{p.case.entry_id}:adjustment:{p.version}"
    row = CompensationRow(
        id=canonical_id("plan2cash", ADJUSTMENT, f"{event.invoice_id}:{source}"),
        kind=ADJUSTMENT,
        number=None,
        billing_event_id=canonical_id("plan2cash", "billing_event", source),
        reason=_why(p, invoice_number),
        quantity=hours,
        rate=rate,
        amount=_amount(hours, rate),
        issue_date=ctx.today(),
        status="pending",
        **_common(p, ctx.clock()),
    )
    session.add(row)
    session.add(
        BillingEventRow(
            id=row.billing_event_id,
            contract_id=event.contract_id,
            project_id=event.project_id,
            customer_id=event.customer_id,
            resource_id=event.resource_id,
            kind=ADJUSTMENT,
            source_record_id=source,
            occurred_on=ctx.today(),
            quantity=hours,
            rate=rate,
            amount=row.amount,
            currency=event.currency,
            description=_line(p, hours, invoice_number),
            approved_at=None,
            created_at=row.created_at,  # billing events are stamped on the engine's clock
            updated_at=row.updated_at,
            invoice_id=None,
        )
    )
    _done(session, ctx, p, "adjustment.created", row, "an adjustment on the next invoice")


def _revise(session: Session, ctx: FlowContext, p: Plan, pending: CompensationRow) -> None:
    """An adjustment not yet invoiced takes the new difference: nothing was posted for it."""
    amount = _amount(p.want, Decimal(pending.rate))
    session.execute(
        update(CompensationRow)
        .where(CompensationRow.id == pending.id)
        .values(
            quantity=p.want,
            amount=amount,
            reason=_why(p, _invoice_number(session, p.case.event)),
            updated_at=ctx.clock(),
        )
    )
    session.execute(
        update(BillingEventRow)
        .where(BillingEventRow.id == pending.billing_event_id, BillingEventRow.invoice_id.is_(None))
        .values(quantity=p.want, amount=amount, updated_at=ctx.clock())
    )
    _resolve(session, p, f"the pending adjustment {pending.id}, revised to {amount}")


def _withdraw(session: Session, ctx: FlowContext, pending: CompensationRow) -> None:
    session.execute(
        delete(BillingEventRow).where(
            BillingEventRow.id == pending.billing_event_id, BillingEventRow.invoice_id.is_(None)
        )
    )
    session.execute(
        update(CompensationRow)
        .where(CompensationRow.id == pending.id)
        .values(status="withdrawn", updated_at=ctx.clock())
    )


def _common(p: Plan, moment: datetime) -> dict[str, object]:
    event = p.case.event
    return {
        "time_entry_id": p.case.entry_id,
        "invoice_id": event.invoice_id,
        "customer_id": event.customer_id,
        "contract_id": event.contract_id,
        "version": p.version,
        "currency": event.currency,
        "created_at": moment,
        "updated_at": moment,
        "posted_at": None,
    }


def _why(p: Plan, invoice_number: str) -> str:
    change = p.case.gone or f"now {p.case.hours_now.normalize():f} h"
    return (
        f"Harvest entry {p.case.source_id} of {p.case.event.occurred_on} {change} "
        f"after invoice {invoice_number}"
    )


def _line(p: Plan, hours: Decimal, invoice_number: str) -> str:
    day: date = p.case.event.occurred_on
    return (
        f"Adjustment — {p.case.event.description}, {day}: +{hours.normalize():f} h "
        f"(time corrected after invoice {invoice_number})"
    )


def _done(
    session: Session, ctx: FlowContext, p: Plan, event_name: str, row: CompensationRow, what: str
) -> None:
    record_events(
        session,
        event_name,
        row.kind,
        [(row.id, ctx.clock())],
        attributes={
            "time_entry_id": p.case.entry_id,
            "invoice_id": row.invoice_id,
            "number": row.number,
            "amount": str(row.amount),
            "currency": row.currency,
        },
    )
    _resolve(session, p, f"{what} for {row.amount:.2f} {row.currency} ({row.id})")


def _resolve(session: Session, p: Plan, what: str) -> None:
    resolve_problems(
        session, BILLABLE_FLOW, [edited_entry(p.case.source_id)], note=f"Compensated by {what}."
    )
