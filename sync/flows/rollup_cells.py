"""Recomputing rollup cells from the store: the I/O half of the rollups flow.

Given dirty (day, person) cells, customers or invoices, these functions delete their facts, read
the source rows of exactly those cells (one indexed query per dirty day and chunk of people, or
one range for a rebuild) and write the facts ``sync.flows.rollup_facts`` computes from them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from typing import Any

import polars as pl
from sqlalchemy import ColumnElement, Table, bindparam, delete, or_, select
from sqlalchemy.orm import Session

from sync.flows import rollup_facts as facts
from sync.store.db import insert_frame
from sync.store.repo import live_time_entries
from sync.store.tables import (
    BillingEventRow,
    HolidayRow,
    InvoiceRow,
    PaymentRow,
    ResourceRow,
    RollupBillingRow,
    RollupCapacityRow,
    RollupCycleRow,
    RollupMemberRow,
    RollupReceivableRow,
    RollupTimeRow,
    TimeEntryRow,
    TimeOffRow,
)

CHUNK = 500
CELL_TABLES = (RollupTimeRow, RollupBillingRow, RollupCapacityRow)


def recompute_cells(
    session: Session, cells: pl.DataFrame, *, horizon: tuple[date, date], fresh: bool
) -> None:
    """Replace the time, billing and capacity facts (and memberships) of ``cells``; capacity
    only within ``horizon``. ``fresh``: the cells cover whole days and hold no facts yet (a
    rebuild), so nothing is deleted."""
    if cells.height == 0:
        return
    keys = cells.rows()
    if not fresh:
        for model in CELL_TABLES:
            table: Table = model.__table__  # type: ignore[assignment]
            session.connection().execute(
                delete(table).where(
                    table.c.day == bindparam("d"), table.c.resource_id == bindparam("r")
                ),
                [{"d": d, "r": r} for d, r in keys],
            )
    entries = _load_entries(session, cells, fresh)
    events = _load_events(session, cells, fresh)
    insert_frame(session, RollupTimeRow, facts.time_facts(entries))
    insert_frame(session, RollupBillingRow, facts.billing_facts(events))
    insert_frame(session, RollupCapacityRow, _capacity(session, cells, horizon))
    members = entries.filter(pl.col("spent_date").is_not_null()).select(
        pl.col("id").alias("time_entry_id"),
        pl.col("spent_date").alias("day"),
        pl.col("resource_id").fill_null(facts.UNKNOWN),
    )
    if not fresh:
        forget_members(session, set(members["time_entry_id"]))
    insert_frame(session, RollupMemberRow, members)


def recompute_customers(session: Session, customers: set[str], *, fresh: bool) -> None:
    """Replace the receivable facts of ``customers``."""
    for chunk in chunks(sorted(customers)):
        if not fresh:
            session.execute(
                delete(RollupReceivableRow).where(RollupReceivableRow.customer_id.in_(chunk))
            )
        invoice = InvoiceRow
        invoices = _frame(
            session,
            select(
                invoice.customer_id,
                invoice.issue_date,
                invoice.posted_at,
                invoice.currency,
                invoice.total,
            ).where(invoice.customer_id.in_(chunk)),
            facts.INVOICE_SOURCE,
        )
        payments = _frame(
            session,
            select(
                invoice.customer_id,
                PaymentRow.received_on,
                invoice.issue_date,
                invoice.posted_at,
                invoice.currency,
                PaymentRow.amount,
            )
            .join(invoice, invoice.id == PaymentRow.invoice_id)
            .where(invoice.customer_id.in_(chunk), invoice.posted_at.is_not(None)),
            facts.PAYMENT_SOURCE,
        )
        insert_frame(session, RollupReceivableRow, facts.receivable_facts(invoices, payments))


def recompute_invoices(session: Session, invoices: set[str], *, fresh: bool) -> None:
    """Replace the billing cycle facts of ``invoices``."""
    event, invoice = BillingEventRow, InvoiceRow
    for chunk in chunks(sorted(invoices)):
        if not fresh:
            session.execute(delete(RollupCycleRow).where(RollupCycleRow.invoice_id.in_(chunk)))
        events = _frame(
            session,
            select(
                event.invoice_id,
                event.project_id,
                event.occurred_on,
                event.approved_at,
                event.created_at,
                invoice.created_at,
                invoice.posted_at,
            )
            .join(invoice, invoice.id == event.invoice_id)
            .where(event.invoice_id.in_(chunk), invoice.posted_at.is_not(None)),
            facts.CYCLE_SOURCE,
        )
        insert_frame(session, RollupCycleRow, facts.cycle_facts(events))


def _load_entries(session: Session, cells: pl.DataFrame, fresh: bool) -> pl.DataFrame:
    row = TimeEntryRow
    statement = live_time_entries()
    return _in_cells(
        session, statement, row.spent_date, row.resource_id, cells, fresh, facts.TIME_SOURCE
    )


def _load_events(session: Session, cells: pl.DataFrame, fresh: bool) -> pl.DataFrame:
    event, invoice = BillingEventRow, InvoiceRow
    statement = select(
        event.resource_id,
        event.project_id,
        event.occurred_on,
        event.currency,
        event.quantity,
        event.amount,
        event.approved_at,
        event.created_at,
        invoice.issue_date,
        invoice.posted_at,
    ).join(invoice, invoice.id == event.invoice_id, isouter=True)
    return _in_cells(
        session, statement, event.occurred_on, event.resource_id, cells, fresh, facts.EVENT_SOURCE
    )


def _in_cells(
    session: Session,
    statement: Any,
    day: Any,
    resource: Any,
    cells: pl.DataFrame,
    fresh: bool,
    schema: dict[str, Any],
) -> pl.DataFrame:
    """The rows of ``statement`` in ``cells``: one query per dirty day and chunk of people (a
    rebuild reads its whole range at once), then an exact semi-join on the cells."""
    if fresh:
        low, high = cells["day"].min(), cells["day"].max()
        found = _frame(session, statement.where(day.between(low, high)), schema)
    else:
        parts = []
        for (on,), group in cells.group_by("day"):
            for chunk in chunks(sorted(group["resource_id"])):
                who: ColumnElement[bool] = resource.in_(chunk)
                if facts.UNKNOWN in chunk:
                    who = or_(who, resource.is_(None))
                parts.append(_frame(session, statement.where(day == on, who), schema))
        found = pl.concat(parts) if parts else pl.DataFrame(schema=schema)
    day_column = "spent_date" if "spent_date" in schema else "occurred_on"
    keyed = found.with_columns(
        pl.col(day_column).alias("day"), pl.col("resource_id").fill_null(facts.UNKNOWN).alias("_r")
    )
    return keyed.join(cells.rename({"resource_id": "_r"}), on=["day", "_r"], how="semi").drop(
        "day", "_r"
    )


def _capacity(session: Session, cells: pl.DataFrame, horizon: tuple[date, date]) -> pl.DataFrame:
    start, end = horizon
    cells = cells.filter(pl.col("day").is_between(start, end))
    if cells.height == 0:
        return pl.DataFrame()
    people_ids = sorted(set(cells["resource_id"]) - {facts.UNKNOWN})
    low, high = cells["day"].min(), cells["day"].max()
    person = ResourceRow
    people = pl.concat(
        [
            _frame(
                session,
                select(
                    person.id,
                    person.region,
                    person.weekly_capacity_hours,
                    person.hire_date,
                    person.termination_date,
                ).where(person.id.in_(chunk)),
                facts.PEOPLE_SOURCE,
            )
            for chunk in chunks(people_ids)
        ]
        or [pl.DataFrame(schema=facts.PEOPLE_SOURCE)]
    )
    holidays = _frame(
        session,
        select(HolidayRow.region, HolidayRow.day).where(HolidayRow.day.between(low, high)),
        facts.HOLIDAY_SOURCE,
    )
    off = TimeOffRow
    time_off = _frame(
        session,
        select(off.resource_id, off.day, off.hours).where(
            off.day.between(low, high), off.status == "approved"
        ),
        facts.TIME_OFF_SOURCE,
    )
    return facts.capacity_facts(cells, people, holidays, time_off)


def forget_members(session: Session, entry_ids: set[str]) -> None:
    for chunk in chunks(sorted(entry_ids)):
        session.execute(delete(RollupMemberRow).where(RollupMemberRow.time_entry_id.in_(chunk)))


def _frame(session: Session, statement: Any, schema: dict[str, Any]) -> pl.DataFrame:
    rows = session.execute(statement).all()
    return pl.DataFrame([tuple(r) for r in rows], schema=schema, orient="row")


def cells_frame(rows: Iterable[tuple[date, str]]) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=facts.CELL, orient="row")


def chunks(items: Sequence[str]) -> Iterator[list[str]]:
    for start in range(0, len(items), CHUNK):
        yield list(items[start : start + CHUNK])
