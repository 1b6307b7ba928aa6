"""Loading KPI inputs from the store as polars frames (SQLite and PostgreSQL alike).

Kept apart from the KPI functions, which stay pure. Each loader runs one SQLAlchemy ``select``
and returns a frame with a fixed schema, so an empty store gives empty frames of the right shape.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeAlias

import polars as pl
from sqlalchemy import ColumnElement, Connection, Select, select
from sqlalchemy.orm import aliased

from metrics import load_events
from sync import TIME_SOURCE
from sync.store import (
    OPEN_STATUSES,
    BillingEventRow,
    ExceptionRow,
    HolidayRow,
    InvoiceRow,
    PaymentRow,
    ResourceRow,
    SpanRow,
    SyncRunRow,
    TimeOffRow,
    live_time_entries,
    read_frame,
)

UTC_TIME = pl.Datetime("us", "UTC")
Rows: TypeAlias = Select[*tuple[Any, ...]]  # a select of any columns
MONEY = pl.Decimal(18, 2)
BILLING_INVOICE = aliased(InvoiceRow, name="billing_invoice")  # the invoice of a billing event


BILLING_EVENTS: dict[str, Any] = {
    "event_id": pl.String,
    "customer_id": pl.String,
    "project_id": pl.String,
    "contract_id": pl.String,
    "resource_id": pl.String,
    "occurred_on": pl.Date,
    "quantity": MONEY,
    "rate": MONEY,
    "amount": MONEY,
    "currency": pl.String,
    "approved_at": UTC_TIME,
    "event_created_at": UTC_TIME,
    "invoice_created_at": UTC_TIME,
    "posted_at": UTC_TIME,
    "invoiced_on": pl.Date,
}
INVOICES: dict[str, Any] = {
    "invoice_id": pl.String,
    "number": pl.String,
    "customer_id": pl.String,
    "contract_id": pl.String,
    "issue_date": pl.Date,
    "total": MONEY,
    "currency": pl.String,
    "status": pl.String,
    "posted_at": UTC_TIME,
}


def midnight(day: date) -> datetime:
    """The first moment of ``day`` in UTC: ``stamp < midnight(day + 1)`` is "on or before
    ``day``" for a stored UTC datetime, on both dialects."""
    return datetime.combine(day, time.min, tzinfo=UTC)


def on_or_before(stamp: Any, day: date) -> ColumnElement[bool]:
    """``stamp``'s UTC date is on or before ``day`` (false when ``stamp`` is null)."""
    return stamp < midnight(day + timedelta(days=1))


def billing_events_query() -> Rows:
    """Billing events with the dates of their invoice (``BILLING_EVENTS``); callers add
    ``where`` clauses (the invoice is ``BILLING_INVOICE``)."""
    event, invoice = BillingEventRow, BILLING_INVOICE
    return select(
        event.id,
        event.customer_id,
        event.project_id,
        event.contract_id,
        event.resource_id,
        event.occurred_on,
        event.quantity,
        event.rate,
        event.amount,
        event.currency,
        event.approved_at,
        event.created_at,
        invoice.created_at,
        invoice.posted_at,
        invoice.issue_date,
    ).join(invoice, invoice.id == event.invoice_id, isouter=True)


def billing_events(connection: Connection, *, until: date | None = None) -> pl.DataFrame:
    """Billing events with the dates of their invoice (for WIP and cycle time)."""
    statement = billing_events_query()
    if until is not None:
        statement = statement.where(BillingEventRow.occurred_on <= until)
    return read_frame(connection, statement, BILLING_EVENTS)


def invoices_query() -> Rows:
    """Invoices (``INVOICES``); callers add ``where`` clauses."""
    row = InvoiceRow
    return select(
        row.id,
        row.number,
        row.customer_id,
        row.contract_id,
        row.issue_date,
        row.total,
        row.currency,
        row.status,
        row.posted_at,
    )


def invoices(connection: Connection) -> pl.DataFrame:
    return read_frame(connection, invoices_query(), INVOICES).drop("number")


def payments(connection: Connection) -> pl.DataFrame:
    row = PaymentRow
    return read_frame(
        connection,
        select(row.invoice_id, row.received_on, row.amount, row.currency),
        {"invoice_id": pl.String, "paid_on": pl.Date, "amount": MONEY, "currency": pl.String},
    )


EXCEPTIONS: dict[str, Any] = {
    "flow": pl.String,
    "category": pl.String,
    "status": pl.String,
    "first_seen": UTC_TIME,
    "value_at_risk": MONEY,
    "currency": pl.String,
}
RUNS: dict[str, Any] = {
    "flow": pl.String,
    "started_at": UTC_TIME,
    "finished_at": UTC_TIME,
    "status": pl.String,
    "records_in": pl.Int64,
    "exceptions": pl.Int64,
}


def exceptions(connection: Connection, *, open_only: bool = False) -> pl.DataFrame:
    """Exceptions (``open_only``: those still open or retrying, the worklist)."""
    row = ExceptionRow
    statement = select(
        row.flow, row.category, row.status, row.first_seen, row.value_at_risk, row.currency
    )
    if open_only:
        statement = statement.where(row.status.in_(OPEN_STATUSES))
    return read_frame(connection, statement, EXCEPTIONS)


def runs(
    connection: Connection, *, since: date | None = None, until: date | None = None
) -> pl.DataFrame:
    """Flow runs, those started on days [``since``, ``until``] when given."""
    row = SyncRunRow
    statement = select(
        row.flow, row.started_at, row.finished_at, row.status, row.records_in, row.exceptions
    )
    if since is not None:
        statement = statement.where(row.started_at >= midnight(since))
    if until is not None:
        statement = statement.where(on_or_before(row.started_at, until))
    return read_frame(connection, statement, RUNS)


def client_spans(connection: Connection, *, since: datetime | None = None) -> pl.DataFrame:
    """Vendor call spans (those started at or after ``since`` when given), with when they
    started and the attributes the health KPIs read."""
    row = SpanRow
    statement = select(
        row.kind, row.name, row.duration_ms, row.status, row.attributes, row.start_time
    ).where(row.kind == "client")
    if since is not None:
        statement = statement.where(row.start_time >= since)
    rows = connection.execute(statement).all()
    return pl.DataFrame(
        [
            (
                k,
                n,
                d,
                s,
                {
                    "vendor": a.get("vendor"),
                    "attempt": a.get("attempt"),
                    "http.status_code": a.get("http.status_code"),
                },
                t,
            )
            for k, n, d, s, a, t in rows
        ],
        schema={
            "kind": pl.String,
            "name": pl.String,
            "duration_ms": pl.Float64,
            "status": pl.String,
            "attributes": pl.Struct(
                {"vendor": pl.String, "attempt": pl.Int64, "http.status_code": pl.Int64}
            ),
            "start_time": UTC_TIME,
        },
        orient="row",
    )


# the rows of ``live_time_entries`` (the rollups' ``TIME_SOURCE``), the id named for drilldowns
TIME_ENTRIES: dict[str, Any] = {
    ("time_entry_id" if name == "id" else name): dtype for name, dtype in TIME_SOURCE.items()
}


def time_entries_query() -> Rows:
    """Time entries that are not deleted (``TIME_ENTRIES``); callers add ``where`` clauses."""
    return live_time_entries()


def time_entries(connection: Connection) -> pl.DataFrame:
    """Time entries that are not deleted (for utilization, approvals and realization)."""
    return read_frame(connection, time_entries_query(), TIME_ENTRIES)


def people(connection: Connection) -> pl.DataFrame:
    """People with what their capacity depends on."""
    row = ResourceRow
    return read_frame(
        connection,
        select(
            row.id,
            row.region,
            row.practice,
            row.weekly_capacity_hours,
            row.hire_date,
            row.termination_date,
        ),
        {
            "resource_id": pl.String,
            "region": pl.String,
            "practice": pl.String,
            "weekly_capacity_hours": MONEY,
            "hire_date": pl.Date,
            "termination_date": pl.Date,
        },
    )


def holidays(connection: Connection) -> pl.DataFrame:
    """Holidays; a null region applies everywhere."""
    return read_frame(
        connection,
        select(HolidayRow.region, HolidayRow.day),
        {"region": pl.String, "day": pl.Date},
    )


def time_off(connection: Connection) -> pl.DataFrame:
    """Approved time off, a row per person and day."""
    row = TimeOffRow
    return read_frame(
        connection,
        select(row.resource_id, row.day, row.hours).where(row.status == "approved"),
        {"resource_id": pl.String, "day": pl.Date, "hours": MONEY},
    )


def cost_rates(connection: Connection) -> pl.DataFrame:
    """Each person's cost rate (per hour), for project margin."""
    return read_frame(
        connection,
        select(ResourceRow.id, ResourceRow.cost_rate),
        {"resource_id": pl.String, "cost_rate": MONEY},
    )


# the alerts' reads, kept in their own module and named here with the others
APPROVED_TIME = load_events.APPROVED_TIME
BUSINESS_EVENTS = load_events.BUSINESS_EVENTS
INVOICE_DELIVERIES = load_events.INVOICE_DELIVERIES
LAST_RUNS = load_events.LAST_RUNS
approved_time = load_events.approved_time
business_events = load_events.business_events
invoice_deliveries = load_events.invoice_deliveries
last_runs = load_events.last_runs
period_time = load_events.period_time
