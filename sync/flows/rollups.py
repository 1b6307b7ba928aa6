"""Rollups: the daily facts the KPIs read, kept up to date incrementally (DESIGN §4.6).

A run recomputes the facts of the dirty cells only — (day, person) for work and capacity,
customers for receivables, invoices for billing cycle stages — from those cells' source rows, and
moves the watermarks, in one transaction: a run costs what changed, not what is stored, and an
interrupted run leaves the rollups and watermarks as they were. ``sync.flows.rollup_changes``
finds the dirty cells; ``sync.flows.rollup_cells`` recomputes them.

Watermarks (in ``cursors`` under system ``rollups``):

- time entries carry the time system's ``updated_at``; their watermark never passes the engine's
  committed Harvest cursor (everything before it is stored), and they are read again from it less
  the engine's cursor lag; ``deleted_at`` catches deletions;
- every other source follows ``sync.flows.watermarks``: a watermark rises to the newest stamp a
  run saw only once 15 minutes have passed since that run on both the wall clock and the
  engine's, so a row stamped earlier by a transaction still open at a run is not missed
  (recomputing a cell twice is harmless);
- a billing event withdrawn (deleted) when its entry changed is caught through the entry.

With no watermark (a new store) a run is a full rebuild, a month at a time, through the same cell
computation, so an incremental run and a rebuild agree.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import polars as pl
from sqlalchemy import delete, func, select, true
from sqlalchemy.orm import Session

from sync.flows import rollup_cells as store
from sync.flows import rollup_facts as facts
from sync.flows import watermarks
from sync.flows.context import FlowContext, FlowResult
from sync.flows.months import months
from sync.flows.rollup_changes import (
    NEVER,
    SOURCES,
    SYSTEM,
    Changes,
    all_resources,
    detect,
    digests,
    extend_horizon,
    harvest_cursor,
    horizon,
    max_stamp,
    newer,
    remember_people,
    stored_horizon,
)
from sync.flows.watermarks import Moment
from sync.store.db import transaction
from sync.store.repo import set_cursor
from sync.store.tables import (
    BillingEventRow,
    InvoiceRow,
    RollupCycleRow,
    RollupMemberRow,
    RollupPersonRow,
    RollupReceivableRow,
    TimeEntryRow,
)
from sync.store.vocabulary import Flow
from sync.telemetry import tracer

FLOW = Flow.ROLLUPS


def run(ctx: FlowContext) -> FlowResult:
    with tracer.start_as_current_span("rollups refresh"), transaction(ctx.sessions) as session:
        lag = timedelta(seconds=ctx.settings.billing.cursor_lag_seconds)
        return refresh(session, today=ctx.today(), now=ctx.clock(), lag=lag)


def refresh(
    session: Session,
    *,
    today: date,
    now: datetime | None = None,
    wall: datetime | None = None,
    lag: timedelta = timedelta(minutes=5),
) -> FlowResult:
    """Bring the rollups up to date (a full rebuild when they have never been built). ``now``:
    the engine's clock, ``wall``: the wall clock (both default to the wall clock); ``lag``: the
    engine's time-entry cursor lag."""
    at = Moment.of(now, wall)
    marks = {name: _mark(session, name) for name in SOURCES}
    if any(mark is None for mark in marks.values()):
        return rebuild(session, today=today, now=now, wall=wall)
    changes = Changes()
    new_marks: dict[str, datetime] = {}
    for name, mark in marks.items():
        assert mark is not None
        newest = detect(session, name, newer(name, mark, lag), changes)
        if name == "time_entries":
            new_marks[name] = min(max(newest or mark, mark), harvest_cursor(session))
        else:
            watermarks.advance(session, SYSTEM, name, old=mark, newest=newest, at=at)
    extend_horizon(session, today, changes)
    cells = changes.cell_frame()
    store.forget_members(session, changes.entries)
    store.recompute_cells(session, cells, horizon=stored_horizon(session), fresh=False)
    store.recompute_customers(session, changes.customers, fresh=False)
    store.recompute_invoices(session, changes.invoices, fresh=False)
    for name, mark in new_marks.items():
        set_cursor(session, SYSTEM, name, mark.isoformat())
    return FlowResult(
        records_in=cells.height + len(changes.customers) + len(changes.invoices),
        records_out=cells.height,
        notes=[f"{cells.height} cells, {len(changes.customers)} customers, "
               f"{len(changes.invoices)} invoices refreshed"],
    )  # fmt: skip


def rebuild(
    session: Session, *, today: date, now: datetime | None = None, wall: datetime | None = None
) -> FlowResult:
    """Every rollup from scratch, a month at a time; watermarks set to what was read."""
    at = Moment.of(now, wall)
    marks = {name: max_stamp(session, name, None) for name in SOURCES}
    for table in (
        *store.CELL_TABLES,
        RollupCycleRow,
        RollupReceivableRow,
        RollupMemberRow,
        RollupPersonRow,
    ):
        session.execute(delete(table))
    remember_people(session, digests(session, true()))
    start, end = horizon(session, today)
    set_cursor(session, SYSTEM, "capacity_from", start.isoformat())
    set_cursor(session, SYSTEM, "capacity_to", end.isoformat())
    days = _cell_days(session)
    first, last = min([start, *days]), max([today, *days])
    resources = all_resources(session)
    cells_done = 0
    for month_start, month_end in months(first, last):
        with tracer.start_as_current_span("rollups month", attributes={"month": str(month_start)}):
            cells = _month_cells(session, month_start, month_end)
            low, high = max(month_start, start), min(month_end, end)
            if low <= high:
                cells = pl.concat([cells, facts.weekday_cells(resources, low, high)]).unique()
            store.recompute_cells(session, cells, horizon=(start, end), fresh=True)
            cells_done += cells.height
    customers = set(session.scalars(select(InvoiceRow.customer_id).distinct()))
    store.recompute_customers(session, customers, fresh=True)
    posted = session.scalars(select(InvoiceRow.id).where(InvoiceRow.posted_at.is_not(None)))
    store.recompute_invoices(session, set(posted), fresh=True)
    marks["time_entries"] = min(marks["time_entries"] or NEVER, harvest_cursor(session))
    for name, mark in marks.items():
        if name == "time_entries" or mark is None:
            set_cursor(session, SYSTEM, name, (mark or NEVER).isoformat())
        else:
            watermarks.restart(session, SYSTEM, name, newest=mark, at=at)
    return FlowResult(records_in=cells_done, records_out=cells_done, notes=["full rebuild"])


# --- change detection -----------------------------------------------------------------------


def _mark(session: Session, name: str) -> datetime | None:
    return watermarks.floor(session, SYSTEM, name)


# --- the capacity horizon -------------------------------------------------------------------


def _cell_days(session: Session) -> list[date]:
    """The first and last day of each source of (day, person) cells: time entries and billing
    events (a milestone, fixed fee or adjustment has no time entry and may predate all time)."""
    days: list[date | None] = []
    for column in (TimeEntryRow.spent_date, BillingEventRow.occurred_on):
        days += session.execute(select(func.min(column), func.max(column))).one()
    return [day for day in days if day is not None]


def _month_cells(session: Session, start: date, end: date) -> pl.DataFrame:
    entry, event = TimeEntryRow, BillingEventRow
    rows = [
        *session.execute(
            select(entry.spent_date, func.coalesce(entry.resource_id, facts.UNKNOWN))
            .where(entry.spent_date.between(start, end))
            .distinct()
        ),
        *session.execute(
            select(event.occurred_on, func.coalesce(event.resource_id, facts.UNKNOWN))
            .where(event.occurred_on.between(start, end))
            .distinct()
        ),
    ]
    return store.cells_frame(rows)
