"""What changed since the rollups' last run, as dirty cells (DESIGN §4.6): (day, person) for work
and capacity, customers for receivables, invoices for billing cycle stages.

Each source table has a watermark (``SOURCES``, in ``cursors`` under system ``rollups``) and a
detector that adds the cells its changed rows touch; an entry moved to another day or person
also dirties the cell it left (``rollup_members``). People are compared by a digest of what their
capacity depends on, so only a real change dirties their days. The capacity horizon (every
weekday from the first day of time, at most ``CAPACITY_YEARS`` back, to today) grows with new
days and older time, and the days it gains are dirty for everyone."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import polars as pl
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from sync.flows import rollup_cells as store
from sync.flows import rollup_facts as facts
from sync.store.db import upsert
from sync.store.repo import get_cursor, set_cursor
from sync.store.tables import (
    BillingEventRow,
    HolidayRow,
    InvoiceRow,
    PaymentRow,
    ResourceRow,
    RollupMemberRow,
    RollupPersonRow,
    TimeEntryRow,
    TimeOffRow,
)

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


def harvest_cursor(session: Session) -> datetime:
    """The engine's committed time-entry cursor: every entry updated before it is stored."""
    value = get_cursor(session, "harvest", "time_entries")
    if not value:
        return datetime.max.replace(tzinfo=UTC)
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def max_stamp(session: Session, name: str, newer: ColumnElement[bool] | None) -> datetime | None:
    statement = select(func.max(SOURCES[name]))
    if newer is not None:
        statement = statement.where(newer)
    return session.scalar(statement)


def newer(name: str, mark: datetime, lag: timedelta) -> ColumnElement[bool]:
    """Which rows of source ``name`` count as changed since its watermark ``mark``.

    Time entries: from the mark (the engine's cursor) less the engine's own cursor lag, the window
    the billable flow re-reads too. Others: rows stamped after the floor (``watermarks``)."""
    column = SOURCES[name]
    if name == "time_entries":
        return column >= (mark - lag if mark > NEVER + lag else NEVER)
    return column > mark


def detect(
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
    return max_stamp(session, name, newer)


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
    people = digests(session, newer)
    known = dict(
        session.execute(
            select(RollupPersonRow.resource_id, RollupPersonRow.digest).where(
                RollupPersonRow.resource_id.in_(list(people))
            )
        ).all()
    ) if people else {}  # fmt: skip
    moved = sorted(pid for pid, digest in people.items() if known.get(pid) != digest)
    start, end = stored_horizon(session)
    if moved and start <= end:
        changes.cells.append(facts.weekday_cells(moved, start, end))
    remember_people(session, {pid: people[pid] for pid in moved})


def digests(session: Session, condition: ColumnElement[bool]) -> dict[str, str]:
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


def remember_people(session: Session, digests: dict[str, str]) -> None:
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


def horizon(session: Session, today: date) -> tuple[date, date]:
    floor = today - timedelta(days=365 * CAPACITY_YEARS)
    first = _min_day(session) or today.replace(day=1)
    return max(min(first, today.replace(day=1)), floor), today


def stored_horizon(session: Session) -> tuple[date, date]:
    start, end = (
        get_cursor(session, SYSTEM, "capacity_from"),
        get_cursor(session, SYSTEM, "capacity_to"),
    )
    if not start or not end:
        return date.max, date.min
    return date.fromisoformat(start), date.fromisoformat(end)


def extend_horizon(session: Session, today: date, changes: Changes) -> None:
    """Days that entered the horizon (a new day, or older time) become dirty for everyone."""
    old_start, old_end = stored_horizon(session)
    start, end = horizon(session, today)
    start = min(start, old_start)
    people = all_resources(session)
    if start < old_start:
        changes.cells.append(facts.weekday_cells(people, start, old_start - timedelta(days=1)))
    if end > old_end:
        changes.cells.append(facts.weekday_cells(people, old_end + timedelta(days=1), end))
    set_cursor(session, SYSTEM, "capacity_from", start.isoformat())
    set_cursor(session, SYSTEM, "capacity_to", max(end, old_end).isoformat())


def _min_day(session: Session) -> date | None:
    return session.scalar(select(func.min(TimeEntryRow.spent_date)))


def all_resources(session: Session) -> list[str]:
    return list(session.scalars(select(ResourceRow.id)))
