"""The loaders the alert rules need beyond the KPIs: each flow's last runs, approved time with its
billing events, invoice deliveries and business events. Re-exported by :mod:`metrics.load`,
which is what other packages import."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, TypeAlias

import polars as pl
from sqlalchemy import Connection, Select, case, func, select

from sync.store import (
    BillingEventRow,
    BusinessEventRow,
    InvoiceRow,
    SyncRunRow,
    TimeEntryRow,
    read_frame,
)

UTC_TIME = pl.Datetime("us", "UTC")
MONEY = pl.Decimal(18, 2)
Rows: TypeAlias = Select[*tuple[Any, ...]]


LAST_RUNS: dict[str, Any] = {
    "flow": pl.String,
    "first_started_at": UTC_TIME,
    "last_started_at": UTC_TIME,
    "last_ok": UTC_TIME,
}


def last_runs(connection: Connection) -> pl.DataFrame:
    """Per flow that has run: its first and latest start, and when it last finished
    successfully (null if it never has). One grouped read, whatever the run history's length."""
    row = SyncRunRow
    succeeded = case((row.status == "succeeded", row.finished_at))
    statement = select(
        row.flow, func.min(row.started_at), func.max(row.started_at), func.max(succeeded)
    ).group_by(row.flow)
    return read_frame(connection, statement, LAST_RUNS)


APPROVED_TIME: dict[str, Any] = {
    "time_entry_id": pl.String,
    "project_id": pl.String,
    "spent_date": pl.Date,
    "hours": MONEY,
    "billable": pl.Boolean,
    "status": pl.String,
    "approved_at": UTC_TIME,
    "event_created_at": UTC_TIME,
    "amount": MONEY,
    "currency": pl.String,
}


def _time_with_events() -> Rows:
    entry, event = TimeEntryRow, BillingEventRow
    return (
        select(
            entry.id,
            entry.project_id,
            entry.spent_date,
            entry.hours,
            entry.billable,
            entry.status,
            entry.approved_at,
            event.created_at,
            event.amount,
            event.currency,
        )
        .join(event, event.source_record_id == entry.id, isouter=True)
        .where(entry.deleted_at.is_(None))
    )


def approved_time(connection: Connection, *, since: datetime) -> pl.DataFrame:
    """Live billable time entries approved at or after ``since``, with when their billing event
    was made (null while none is) and its amount (``APPROVED_TIME``): the billing SLI's events.
    Time billed outside plan2cash (``is_billed``) is left out."""
    entry = TimeEntryRow
    statement = _time_with_events().where(
        entry.approved_at >= since, entry.billable.is_(True), entry.is_billed.is_not(True)
    )
    return read_frame(connection, statement, APPROVED_TIME)


def period_time(connection: Connection, *, start: date, end: date) -> pl.DataFrame:
    """Live time entries dated in [``start``, ``end``] with their billing event, if any
    (``APPROVED_TIME``): what is still unapproved or unbilled as a period closes."""
    entry = TimeEntryRow
    statement = _time_with_events().where(entry.spent_date >= start, entry.spent_date <= end)
    return read_frame(connection, statement, APPROVED_TIME)


INVOICE_DELIVERIES: dict[str, Any] = {
    "invoice_id": pl.String,
    "customer_id": pl.String,
    "period_start": pl.Date,
    "period_end": pl.Date,
    "total": MONEY,
    "currency": pl.String,
    "status": pl.String,
    "created_at": UTC_TIME,
    "posted_at": UTC_TIME,
}


def invoice_deliveries(
    connection: Connection, *, since: datetime | None = None, period_end: date | None = None
) -> pl.DataFrame:
    """Invoices with when plan2cash made them and when the ERP took them (``INVOICE_DELIVERIES``):
    those made at or after ``since``, or billing a period that ended on ``period_end``."""
    row = InvoiceRow
    statement = select(
        row.id,
        row.customer_id,
        row.period_start,
        row.period_end,
        row.total,
        row.currency,
        row.status,
        row.created_at,
        row.posted_at,
    )
    if since is not None:
        statement = statement.where(row.created_at >= since)
    if period_end is not None:
        statement = statement.where(row.period_end == period_end)
    return read_frame(connection, statement, INVOICE_DELIVERIES)


BUSINESS_EVENTS: dict[str, Any] = {
    "name": pl.String,
    "entity_id": pl.String,
    "occurred_at": UTC_TIME,
    "recorded_at": UTC_TIME,
}


def business_events(
    connection: Connection, names: tuple[str, ...], *, since: datetime
) -> pl.DataFrame:
    """The business events of the given names that occurred at or after ``since``."""
    row = BusinessEventRow
    statement = select(row.name, row.entity_id, row.occurred_at, row.recorded_at).where(
        row.name.in_(names), row.occurred_at >= since
    )
    return read_frame(connection, statement, BUSINESS_EVENTS)
