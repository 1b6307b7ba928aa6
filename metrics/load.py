"""Loading KPI inputs from the store as polars frames (SQLite and PostgreSQL alike).

Kept apart from the KPI functions, which stay pure. Each loader runs one SQLAlchemy ``select``
and returns a frame with a fixed schema, so an empty store gives empty frames of the right shape.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl
from sqlalchemy import Connection, Executable, select
from sqlalchemy.orm import aliased

from sync.store.tables import (
    BillingEventRow,
    ExceptionRow,
    HolidayRow,
    InvoiceRow,
    PaymentRow,
    ResourceRow,
    SpanRow,
    SyncRunRow,
    TimeEntryRow,
    TimeOffRow,
)

UTC_TIME = pl.Datetime("us", "UTC")
MONEY = pl.Decimal(18, 2)


def frame(connection: Connection, statement: Executable, schema: dict[str, Any]) -> pl.DataFrame:
    rows = connection.execute(statement).all()
    return pl.DataFrame([tuple(r) for r in rows], schema=schema, orient="row")


def billing_events(connection: Connection, *, until: date | None = None) -> pl.DataFrame:
    """Billing events with the dates of their invoice (for WIP and cycle time)."""
    event, invoice = BillingEventRow, aliased(InvoiceRow)
    statement = select(
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
    if until is not None:
        statement = statement.where(event.occurred_on <= until)
    return frame(
        connection,
        statement,
        {
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
        },
    )


def invoices(connection: Connection) -> pl.DataFrame:
    row = InvoiceRow
    return frame(
        connection,
        select(
            row.id,
            row.customer_id,
            row.contract_id,
            row.issue_date,
            row.total,
            row.currency,
            row.status,
            row.posted_at,
        ),
        {
            "invoice_id": pl.String,
            "customer_id": pl.String,
            "contract_id": pl.String,
            "issue_date": pl.Date,
            "total": MONEY,
            "currency": pl.String,
            "status": pl.String,
            "posted_at": UTC_TIME,
        },
    )


def payments(connection: Connection) -> pl.DataFrame:
    row = PaymentRow
    return frame(
        connection,
        select(row.invoice_id, row.received_on, row.amount, row.currency),
        {"invoice_id": pl.String, "paid_on": pl.Date, "amount": MONEY, "currency": pl.String},
    )


def exceptions(connection: Connection) -> pl.DataFrame:
    row = ExceptionRow
    return frame(
        connection,
        select(row.flow, row.category, row.status, row.first_seen, row.value_at_risk, row.currency),
        {
            "flow": pl.String,
            "category": pl.String,
            "status": pl.String,
            "first_seen": UTC_TIME,
            "value_at_risk": MONEY,
            "currency": pl.String,
        },
    )


def runs(connection: Connection) -> pl.DataFrame:
    row = SyncRunRow
    return frame(
        connection,
        select(
            row.flow, row.started_at, row.finished_at, row.status, row.records_in, row.exceptions
        ),
        {
            "flow": pl.String,
            "started_at": UTC_TIME,
            "finished_at": UTC_TIME,
            "status": pl.String,
            "records_in": pl.Int64,
            "exceptions": pl.Int64,
        },
    )


def client_spans(connection: Connection) -> pl.DataFrame:
    """Vendor call spans, with the attributes the health KPIs read."""
    row = SpanRow
    rows = connection.execute(
        select(row.kind, row.name, row.duration_ms, row.status, row.attributes).where(
            row.kind == "client"
        )
    ).all()
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
            )
            for k, n, d, s, a in rows
        ],
        schema={
            "kind": pl.String,
            "name": pl.String,
            "duration_ms": pl.Float64,
            "status": pl.String,
            "attributes": pl.Struct(
                {"vendor": pl.String, "attempt": pl.Int64, "http.status_code": pl.Int64}
            ),
        },
        orient="row",
    )


def time_entries(connection: Connection) -> pl.DataFrame:
    """Time entries that are not deleted (for utilization, approvals and realization)."""
    row = TimeEntryRow
    return frame(
        connection,
        select(
            row.id,
            row.resource_id,
            row.project_id,
            row.spent_date,
            row.hours,
            row.billable,
            row.status,
            row.submitted_at,
            row.approved_at,
            row.vendor_rate,
        ).where(row.deleted_at.is_(None)),
        {
            "time_entry_id": pl.String,
            "resource_id": pl.String,
            "project_id": pl.String,
            "spent_date": pl.Date,
            "hours": MONEY,
            "billable": pl.Boolean,
            "status": pl.String,
            "submitted_at": UTC_TIME,
            "approved_at": UTC_TIME,
            "vendor_rate": MONEY,
        },
    )


def people(connection: Connection) -> pl.DataFrame:
    """People with what their capacity depends on."""
    row = ResourceRow
    return frame(
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
    return frame(
        connection,
        select(HolidayRow.region, HolidayRow.day),
        {"region": pl.String, "day": pl.Date},
    )


def time_off(connection: Connection) -> pl.DataFrame:
    """Approved time off, a row per person and day."""
    row = TimeOffRow
    return frame(
        connection,
        select(row.resource_id, row.day, row.hours).where(row.status == "approved"),
        {"resource_id": pl.String, "day": pl.Date, "hours": MONEY},
    )
