"""Rollups: the daily facts the KPIs read, kept up to date incrementally (DESIGN §4.6).

Each run finds what changed since the last run's watermarks, turns it into dirty cells — (day,
person) for work and capacity, customers for receivables, invoices for billing cycle stages —
deletes those cells' facts and recomputes them from the source rows of those cells only, then
moves the watermarks, all in one transaction. So a run costs what changed, not what is stored,
and an interrupted run leaves the previous rollups and watermarks as they were.

Change detection, per source table (watermarks live in ``cursors`` under system ``rollups``):

- every other source is read from its watermark by ``sync.flows.watermarks``: the watermark
  rises to the newest stamp a run saw only once 15 minutes have passed since that run on both the
  wall clock and the engine's, so a row that a transaction still open at a run stamped earlier is
  not missed, whatever the engine's clock does beside the wall clock (recomputing a cell twice
  is harmless);
- time entries carry the time system's ``updated_at``, and the billable flow stores a backfill's
  pages in ``spent_date`` order, so their watermark never passes the engine's committed Harvest
  cursor (everything up to it is stored); ``deleted_at`` catches deletions;
- an entry moved to another day or person also refreshes the cell it left (``rollup_members``);
- a billing event withdrawn (hard-deleted) when its entry changed is caught through the entry;
- capacity is kept for every weekday from the first day of time (at most ``CAPACITY_YEARS``
  back) to today; new days, and any person, time off or holiday that changed, refresh their cells.

With no watermark yet (a new store) the run is a full rebuild, a month at a time, through the very
same cell computation — which is why an incremental run and a rebuild always agree.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import polars as pl
from sqlalchemy import ColumnElement, delete, func, select, true
from sqlalchemy.orm import Session

from sync.flows import rollup_cells as store
from sync.flows import rollup_facts as facts
from sync.flows import watermarks
from sync.flows.context import FlowContext, FlowResult
from sync.flows.watermarks import Moment
from sync.store.db import transaction, upsert
from sync.store.repo import get_cursor, set_cursor
from sync.store.tables import (
    BillingEventRow,
    HolidayRow,
    InvoiceRow,
    PaymentRow,
    ResourceRow,
    RollupCycleRow,
    RollupMemberRow,
    RollupPersonRow,
    RollupReceivableRow,
    TimeEntryRow,
    TimeOffRow,
)
from sync.telemetry import tracer

FLOW = "rollups"
SYSTEM = "rollups"
CAPACITY_YEARS = 3
# watermark name -> the column it follows (each compared only with its own clock)
SOURCES: dict[str, Any] = {
    "time_entries": TimeEntryRow.updated_at,  # the time system's clock
    "time_entries_deleted": TimeEntryRow.deleted_at,  # the store's clock
    "billing_events": BillingEventRow.updated_at,
    "invoices": InvoiceRow.updated_at,
    "payments": PaymentRow.updated_at,
    "resources": ResourceRow.updated_at,
    "time_off": TimeOffRow.updated_at,
    "holidays": HolidayRow.updated_at,
}
NEVER = datetime.min.replace(tzinfo=UTC)


@dataclass
class Changes:
    """What one run recomputes."""

    cells: list[pl.DataFrame] = field(default_factory=list)  # (day, resource_id)
    customers: set[str] = field(default_factory=set)
    invoices: set[str] = field(default_factory=set)
    entries: set[str] = field(default_factory=set)  # time entries whose membership may move

    def cell_frame(self) -> pl.DataFrame:
        frames = [c.select(list(facts.CELL)).cast(facts.CELL) for c in self.cells]  # type: ignore[arg-type]
        return pl.concat(frames).unique() if frames else pl.DataFrame(schema=facts.CELL)


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
        newest = _detect(session, name, _newer(name, mark, lag), changes)
        if name == "time_entries":
            new_marks[name] = min(max(newest or mark, mark), _harvest_cursor(session))
        else:
            watermarks.advance(session, SYSTEM, name, old=mark, newest=newest, at=at)
    _extend_horizon(session, today, changes)
    cells = changes.cell_frame()
    store.forget_members(session, changes.entries)
    store.recompute_cells(session, cells, horizon=_stored_horizon(session), fresh=False)
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
    marks = {name: _max_stamp(session, name, None) for name in SOURCES}
    for table in (
        *store.CELL_TABLES,
        RollupCycleRow,
        RollupReceivableRow,
        RollupMemberRow,
        RollupPersonRow,
    ):
        session.execute(delete(table))
    _remember_people(session, _digests(session, true()))
    start, end = _horizon(session, today)
    set_cursor(session, SYSTEM, "capacity_from", start.isoformat())
    set_cursor(session, SYSTEM, "capacity_to", end.isoformat())
    days = _cell_days(session)
    first, last = min([start, *days]), max([today, *days])
    resources = _all_resources(session)
    cells_done = 0
    for month_start, month_end in _months(first, last):
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
    marks["time_entries"] = min(marks["time_entries"] or NEVER, _harvest_cursor(session))
    for name, mark in marks.items():
        if name == "time_entries" or mark is None:
            set_cursor(session, SYSTEM, name, (mark or NEVER).isoformat())
        else:
            watermarks.restart(session, SYSTEM, name, newest=mark, at=at)
    return FlowResult(records_in=cells_done, records_out=cells_done, notes=["full rebuild"])


# --- change detection -----------------------------------------------------------------------


def _mark(session: Session, name: str) -> datetime | None:
    return watermarks.floor(session, SYSTEM, name)


def _harvest_cursor(session: Session) -> datetime:
    """The engine's committed time-entry cursor: every entry updated before it is stored."""
    value = get_cursor(session, "harvest", "time_entries")
    if not value:
        return datetime.max.replace(tzinfo=UTC)
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _max_stamp(session: Session, name: str, newer: ColumnElement[bool] | None) -> datetime | None:
    statement = select(func.max(SOURCES[name]))
    if newer is not None:
        statement = statement.where(newer)
    return session.scalar(statement)


def _newer(name: str, mark: datetime, lag: timedelta) -> ColumnElement[bool]:
    """Which rows of source ``name`` count as changed since its watermark ``mark``.

    Time entries: from the mark (the engine's cursor) less the engine's own cursor lag, the window
    the billable flow re-reads too. Others: rows stamped after the floor (``watermarks``)."""
    column = SOURCES[name]
    if name == "time_entries":
        return column >= (mark - lag if mark > NEVER + lag else NEVER)
    return column > mark


def _detect(
    session: Session, name: str, newer: ColumnElement[bool], changes: Changes
) -> datetime | None:
    """Add the cells touched by the rows of ``name`` that are ``newer``; return the newest
    stamp seen (None when nothing changed)."""
    detectors = {
        "time_entries": _changed_entries,
        "time_entries_deleted": _deleted_entries,
        "billing_events": _changed_events,
        "invoices": _changed_invoices,
        "payments": _changed_payments,
        "resources": _changed_resources,
        "time_off": _changed_time_off,
        "holidays": _changed_holidays,
    }
    detectors[name](session, newer, changes)
    return _max_stamp(session, name, newer)


def _changed_entries(session: Session, newer: ColumnElement[bool], changes: Changes) -> None:
    _entries_where(session, newer, changes)


def _deleted_entries(session: Session, newer: ColumnElement[bool], changes: Changes) -> None:
    _entries_where(session, newer, changes)


def _entries_where(session: Session, condition: ColumnElement[bool], changes: Changes) -> None:
    row = TimeEntryRow
    columns = (row.id, row.spent_date, func.coalesce(row.resource_id, facts.UNKNOWN))
    touched = session.execute(select(*columns).where(condition)).all()
    ids = {entry_id for entry_id, _, _ in touched}
    changes.entries |= ids
    changes.cells.append(store.cells_frame((d, r) for _, d, r in touched if d is not None))
    changes.cells.append(_member_cells(session, ids))


def _changed_events(session: Session, newer: ColumnElement[bool], changes: Changes) -> None:
    row = BillingEventRow
    touched = session.execute(
        select(
            row.source_record_id, row.occurred_on, func.coalesce(row.resource_id, facts.UNKNOWN)
        ).where(newer)
    ).all()
    ids = {entry_id for entry_id, _, _ in touched}
    changes.cells.append(store.cells_frame((d, r) for _, d, r in touched))
    changes.cells.append(_member_cells(session, ids))


def _changed_invoices(session: Session, newer: ColumnElement[bool], changes: Changes) -> None:
    touched = session.execute(select(InvoiceRow.id, InvoiceRow.customer_id).where(newer)).all()
    ids = {invoice_id for invoice_id, _ in touched}
    changes.invoices |= ids
    changes.customers |= {customer for _, customer in touched}
    event = BillingEventRow
    for chunk in store.chunks(sorted(ids)):
        changes.cells.append(
            store.cells_frame(
                session.execute(
                    select(event.occurred_on, func.coalesce(event.resource_id, facts.UNKNOWN))
                    .where(event.invoice_id.in_(chunk))
                    .distinct()
                )
            )
        )


def _changed_payments(session: Session, newer: ColumnElement[bool], changes: Changes) -> None:
    changes.customers |= set(
        session.scalars(
            select(InvoiceRow.customer_id)
            .join(PaymentRow, PaymentRow.invoice_id == InvoiceRow.id)
            .where(newer)
            .distinct()
        )
    )


def _changed_resources(session: Session, newer: ColumnElement[bool], changes: Changes) -> None:
    """People whose capacity, dates or region changed refresh every day of the horizon."""
    people = _digests(session, newer)
    known = dict(
        session.execute(
            select(RollupPersonRow.resource_id, RollupPersonRow.digest).where(
                RollupPersonRow.resource_id.in_(list(people))
            )
        ).all()
    ) if people else {}  # fmt: skip
    moved = sorted(pid for pid, digest in people.items() if known.get(pid) != digest)
    start, end = _stored_horizon(session)
    if moved and start <= end:
        changes.cells.append(facts.weekday_cells(moved, start, end))
    _remember_people(session, {pid: people[pid] for pid in moved})


def _digests(session: Session, condition: ColumnElement[bool]) -> dict[str, str]:
    person = ResourceRow
    rows = session.execute(
        select(
            person.id,
            person.weekly_capacity_hours,
            person.hire_date,
            person.termination_date,
            person.region,
        ).where(condition)
    ).all()
    return {
        pid: hashlib.sha256(repr((str(hours), start, end, region)).encode()).hexdigest()
        for pid, hours, start, end, region in rows
    }


def _remember_people(session: Session, digests: dict[str, str]) -> None:
    rows = [{"resource_id": pid, "digest": digest} for pid, digest in digests.items()]
    for start in range(0, len(rows), store.CHUNK):
        upsert(session, RollupPersonRow, rows[start : start + store.CHUNK], keys=["resource_id"])


def _changed_time_off(session: Session, newer: ColumnElement[bool], changes: Changes) -> None:
    changes.cells.append(
        store.cells_frame(
            session.execute(select(TimeOffRow.day, TimeOffRow.resource_id).where(newer))
        )
    )


def _changed_holidays(session: Session, newer: ColumnElement[bool], changes: Changes) -> None:
    days = session.execute(select(HolidayRow.day, HolidayRow.region).where(newer)).all()
    for day, region in days:
        people = select(ResourceRow.id)
        if region is not None:
            people = people.where(ResourceRow.region == region)
        changes.cells.append(facts.weekday_cells(list(session.scalars(people)), day, day))


def _member_cells(session: Session, entry_ids: set[str]) -> pl.DataFrame:
    """The cells these entries were last rolled up into."""
    found: list[tuple[date, str]] = []
    for chunk in store.chunks(sorted(entry_ids)):
        found += session.execute(
            select(RollupMemberRow.day, RollupMemberRow.resource_id).where(
                RollupMemberRow.time_entry_id.in_(chunk)
            )
        )
    return store.cells_frame(found)


# --- the capacity horizon -------------------------------------------------------------------


def _horizon(session: Session, today: date) -> tuple[date, date]:
    floor = today - timedelta(days=365 * CAPACITY_YEARS)
    first = _min_day(session) or today.replace(day=1)
    return max(min(first, today.replace(day=1)), floor), today


def _stored_horizon(session: Session) -> tuple[date, date]:
    start, end = (
        get_cursor(session, SYSTEM, "capacity_from"),
        get_cursor(session, SYSTEM, "capacity_to"),
    )
    if not start or not end:
        return date.max, date.min
    return date.fromisoformat(start), date.fromisoformat(end)


def _extend_horizon(session: Session, today: date, changes: Changes) -> None:
    """Days that entered the horizon (a new day, or older time) become dirty for everyone."""
    old_start, old_end = _stored_horizon(session)
    start, end = _horizon(session, today)
    start = min(start, old_start)
    people = _all_resources(session)
    if start < old_start:
        changes.cells.append(facts.weekday_cells(people, start, old_start - timedelta(days=1)))
    if end > old_end:
        changes.cells.append(facts.weekday_cells(people, old_end + timedelta(days=1), end))
    set_cursor(session, SYSTEM, "capacity_from", start.isoformat())
    set_cursor(session, SYSTEM, "capacity_to", max(end, old_end).isoformat())


def _min_day(session: Session) -> date | None:
    return session.scalar(select(func.min(TimeEntryRow.spent_date)))


def _cell_days(session: Session) -> list[date]:
    """The first and last day of each source of (day, person) cells: time entries and billing
    events (a milestone, fixed fee or adjustment has no time entry and may predate all time)."""
    days: list[date | None] = []
    for column in (TimeEntryRow.spent_date, BillingEventRow.occurred_on):
        days += session.execute(select(func.min(column), func.max(column))).one()
    return [day for day in days if day is not None]


def _all_resources(session: Session) -> list[str]:
    return list(session.scalars(select(ResourceRow.id)))


def _months(first: date, last: date) -> Iterator[tuple[date, date]]:
    start = first.replace(day=1)
    while start <= last:
        following = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
        yield start, following - timedelta(days=1)
        start = following


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
