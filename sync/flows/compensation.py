"""Compensating transactions: time that changed after it was invoiced is put right with a new
document, never by editing the posted invoice (DESIGN §4, flow 4).

For a time entry already on an invoice, the hours the customer has been billed for it are the
invoiced hours, plus its invoiced adjustments, minus its credit notes. What it is worth now is its
current hours (none once it is deleted, unapproved or made non-billable), at the rate it was
invoiced at. The difference becomes:

- down: a credit note for the difference against the original invoice's customer, delivered
  through the outbox to the ERP its invoice went to, and applied to that invoice there;
- up: an adjustment, a billing event of kind ``adjustment`` dated today, so that it lands as its
  own line on the contract's next invoice;
- an adjustment still waiting for its invoice has posted nothing yet, so it is revised in place
  (or withdrawn) instead of being compensated in turn.

What an entry needs is worked out by ``sync.flows.compensation_plan``; the documents are written
by ``sync.flows.compensation_documents``; this module finds the entries to look at.

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

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import CompoundSelect, false, func, or_, select, union
from sqlalchemy.orm import Session

from sync.flows import watermarks
from sync.flows.compensation_documents import compensate
from sync.flows.compensation_plan import plan
from sync.flows.context import FlowContext, FlowResult
from sync.flows.watermarks import Moment
from sync.pipeline import with_last
from sync.store.db import transaction
from sync.store.repo import Problem, get_cursor, set_cursor
from sync.store.tables import (
    BillingEventRow,
    CompensationRow,
    TimeEntryRow,
)
from sync.telemetry import tracer

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
            compensate(session, ctx, p)
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
