"""The dashboard's SQL: SQLAlchemy ``select(...)`` statements, each with its result columns.

Each function returns a :class:`Query`: a statement that runs unchanged on SQLite and PostgreSQL
and the polars schema its rows are read into (names by position, money as ``Float64``). Money is
summed in SQL only within ``GROUP BY currency``. Nothing here executes or caches;
:mod:`app.data` does both.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, NamedTuple

import polars as pl
from sqlalchemy import ColumnElement, Executable, case, func, literal, select

from sync.store import (
    OPEN_STATUSES,
    AuditRow,
    BillingEventRow,
    BusinessEventRow,
    CursorRow,
    CustomerRow,
    ExceptionRow,
    InvoiceRow,
    InvoiceStatus,
    ProjectRow,
    ResourceRow,
    RunStatus,
    SpanRow,
    SyncRunRow,
)

UTC_TIME = pl.Datetime("us", "UTC")
MONEY_BY_CURRENCY: dict[str, Any] = {
    "currency": pl.String,
    "amount": pl.Float64,
    "count": pl.Int64,
}


class Query(NamedTuple):
    statement: Executable
    schema: dict[str, Any]


def count(table: type[Any], *where: ColumnElement[bool]) -> Executable:
    """``SELECT count(*)`` of ``table`` rows matching ``where``."""
    return select(func.count()).select_from(table).where(*where)


def wip_by_currency() -> Query:
    """Un-invoiced billing events per currency: amount, hours, events."""
    event = BillingEventRow
    return Query(
        select(event.currency, func.sum(event.amount), func.sum(event.quantity), func.count())
        .where(event.invoice_id.is_(None))
        .group_by(event.currency)
        .order_by(event.currency),
        {"currency": pl.String, "amount": pl.Float64, "hours": pl.Float64, "count": pl.Int64},
    )


def wip_by_day() -> Query:
    """Un-invoiced billing events per work date and currency (bucketed by age in polars)."""
    event = BillingEventRow
    return Query(
        select(
            event.occurred_on,
            event.currency,
            func.sum(event.amount),
            func.sum(event.quantity),
            func.count(),
        )
        .where(event.invoice_id.is_(None))
        .group_by(event.occurred_on, event.currency),
        {
            "occurred_on": pl.Date,
            "currency": pl.String,
            "amount": pl.Float64,
            "hours": pl.Float64,
            "events": pl.Int64,
        },
    )


def invoice_totals(*where: ColumnElement[bool]) -> Query:
    """Invoice value and count per currency for invoices matching ``where``."""
    return Query(
        select(InvoiceRow.currency, func.sum(InvoiceRow.total), func.count())
        .where(*where)
        .group_by(InvoiceRow.currency)
        .order_by(InvoiceRow.currency),
        MONEY_BY_CURRENCY,
    )


def posted_between(start: date, end: date) -> Query:
    """Invoices posted from midnight UTC of ``start`` up to (not including) ``end``."""
    return invoice_totals(
        InvoiceRow.status == InvoiceStatus.POSTED,
        InvoiceRow.posted_at >= _midnight(start),
        InvoiceRow.posted_at < _midnight(end),
    )


def open_exception_count() -> Executable:
    return count(ExceptionRow, ExceptionRow.status.in_(OPEN_STATUSES))


def value_at_risk() -> Query:
    """Open exceptions that carry a value, per currency."""
    return Query(
        select(ExceptionRow.currency, func.sum(ExceptionRow.value_at_risk), func.count())
        .where(
            ExceptionRow.status.in_(OPEN_STATUSES),
            ExceptionRow.value_at_risk.is_not(None),
            ExceptionRow.currency.is_not(None),
        )
        .group_by(ExceptionRow.currency)
        .order_by(ExceptionRow.currency),
        MONEY_BY_CURRENCY,
    )


def last_successful_syncs() -> Query:
    """Every flow that ever ran, with the end of its last successful run (null: never)."""
    succeeded = case((SyncRunRow.status == RunStatus.SUCCEEDED, SyncRunRow.finished_at))
    return Query(
        select(SyncRunRow.flow, func.max(succeeded))
        .group_by(SyncRunRow.flow)
        .order_by(SyncRunRow.flow),
        {"flow": pl.String, "finished_at": UTC_TIME},
    )


def billing_events(
    limit: int, *, invoice_id: str | None, invoiced: bool | None, currency: str | None
) -> Query:
    """The most recent billing events, joined to customer, project, person and invoice."""
    event = BillingEventRow
    stmt = (
        select(
            event.id,
            event.occurred_on,
            CustomerRow.name,
            ProjectRow.code,
            ProjectRow.name,
            ResourceRow.name,
            event.description,
            event.quantity,
            event.rate,
            event.amount,
            event.currency,
            InvoiceRow.number,
        )
        .outerjoin(CustomerRow, CustomerRow.id == event.customer_id)
        .outerjoin(ProjectRow, ProjectRow.id == event.project_id)
        .outerjoin(ResourceRow, ResourceRow.id == event.resource_id)
        .outerjoin(InvoiceRow, InvoiceRow.id == event.invoice_id)
        .order_by(event.occurred_on.desc(), event.id)
        .limit(limit)
    )
    if invoice_id is not None:
        stmt = stmt.where(event.invoice_id == invoice_id)
    if invoiced is not None:
        stmt = stmt.where(event.invoice_id.is_not(None) if invoiced else event.invoice_id.is_(None))
    if currency is not None:
        stmt = stmt.where(event.currency == currency)
    return Query(stmt, EVENT_COLUMNS)


EVENT_COLUMNS: dict[str, Any] = {
    "id": pl.String,
    "occurred_on": pl.Date,
    "customer": pl.String,
    "project_code": pl.String,
    "project": pl.String,
    "person": pl.String,
    "description": pl.String,
    "hours": pl.Float64,
    "rate": pl.Float64,
    "amount": pl.Float64,
    "currency": pl.String,
    "invoice_number": pl.String,
}


def invoices(limit: int) -> Query:
    """Invoices, newest issue date first, with the customer's name."""
    return Query(
        select(
            InvoiceRow.id,
            InvoiceRow.number,
            CustomerRow.name,
            InvoiceRow.period_start,
            InvoiceRow.period_end,
            InvoiceRow.issue_date,
            InvoiceRow.due_date,
            InvoiceRow.total,
            InvoiceRow.currency,
            InvoiceRow.status,
            InvoiceRow.posted_at,
        )
        .outerjoin(CustomerRow, CustomerRow.id == InvoiceRow.customer_id)
        .order_by(InvoiceRow.issue_date.desc(), InvoiceRow.number.desc())
        .limit(limit),
        {
            "id": pl.String,
            "number": pl.String,
            "customer": pl.String,
            "period_start": pl.Date,
            "period_end": pl.Date,
            "issue_date": pl.Date,
            "due_date": pl.Date,
            "total": pl.Float64,
            "currency": pl.String,
            "status": pl.String,
            "posted_at": UTC_TIME,
        },
    )


def invoice_lines(invoice_id: str) -> Executable:
    """The stored ``lines`` JSON of one invoice."""
    return select(InvoiceRow.lines).where(InvoiceRow.id == invoice_id)


def billable_by_day() -> Query:
    """All billing events' value per work date and currency."""
    event = BillingEventRow
    return Query(
        select(event.occurred_on, event.currency, func.sum(event.amount)).group_by(
            event.occurred_on, event.currency
        ),
        {"occurred_on": pl.Date, "currency": pl.String, "amount": pl.Float64},
    )


def invoiced_by_period() -> Query:
    """Every invoice's service month, currency, status and total."""
    return Query(
        select(InvoiceRow.period_start, InvoiceRow.currency, InvoiceRow.status, InvoiceRow.total),
        {"period_start": pl.Date, "currency": pl.String, "status": pl.String, "total": pl.Float64},
    )


# --- operations: exceptions, audit, journeys, runs, spans ----------------------------------------

EXCEPTION_COLUMNS: dict[str, Any] = {
    "id": pl.Int64,
    "flow": pl.String,
    "stage": pl.String,
    "category": pl.String,
    "reason": pl.String,
    "record_key": pl.String,
    "entity_type": pl.String,
    "entity_id": pl.String,
    "value_at_risk": pl.Float64,
    "currency": pl.String,
    "attempts": pl.Int64,
    "first_seen": UTC_TIME,
    "last_seen": UTC_TIME,
    "trace_id": pl.String,
    "status": pl.String,
    "assignee": pl.String,
    "notes": pl.String,
}
"""The columns of an exception row as the dashboard lists it (everything but the payload)."""


def exception_values(row: ExceptionRow) -> tuple[Any, ...]:
    """One :class:`ExceptionRow` as a tuple in :data:`EXCEPTION_COLUMNS` order."""
    return tuple(getattr(row, name) for name in EXCEPTION_COLUMNS)


def exception_flows_and_categories() -> Query:
    """Every (flow, category) pair that has ever held an exception, for the filters."""
    return Query(
        select(ExceptionRow.flow, ExceptionRow.category)
        .distinct()
        .order_by(ExceptionRow.flow, ExceptionRow.category),
        {"flow": pl.String, "category": pl.String},
    )


def oldest_open_exception() -> Executable:
    """When the oldest open (or retrying) exception was first seen."""
    return select(func.min(ExceptionRow.first_seen)).where(ExceptionRow.status.in_(OPEN_STATUSES))


def audit_history(target: str) -> Executable:
    """The audit log of one target (``exception:<id>``), oldest first, as ORM rows."""
    return select(AuditRow).where(AuditRow.target == target).order_by(AuditRow.at, AuditRow.id)


def journey(entity_ids: list[str]) -> Query:
    """Business events of the given entities in time order: a record's path through the chain."""
    event = BusinessEventRow
    return Query(
        select(event.occurred_at, event.name, event.entity_type, event.entity_id, event.trace_id)
        .where(event.entity_id.in_(entity_ids))
        .order_by(event.occurred_at, event.id),
        {
            "occurred_at": UTC_TIME,
            "event": pl.String,
            "entity_type": pl.String,
            "entity_id": pl.String,
            "trace_id": pl.String,
        },
    )


def failed_runs(limit: int) -> Query:
    """The most recent failed flow runs with their error text."""
    run = SyncRunRow
    return Query(
        select(run.flow, run.started_at, run.finished_at, run.error, run.trace_id)
        .where(run.status == RunStatus.FAILED)
        .order_by(run.started_at.desc())
        .limit(limit),
        {
            "flow": pl.String,
            "started_at": UTC_TIME,
            "finished_at": UTC_TIME,
            "error": pl.String,
            "trace_id": pl.String,
        },
    )


def client_call_times() -> Query:
    """Every vendor call's start, vendor and duration (ms), for latency over time."""
    span = SpanRow
    return Query(
        select(span.start_time, span.attributes["vendor"].as_string(), span.duration_ms).where(
            span.kind == "client"
        ),
        {"start_time": UTC_TIME, "vendor": pl.String, "duration_ms": pl.Float64},
    )


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


# --- executive overview: what metrics.report does not cover ------------------------------------
# The KPIs themselves come from metrics.report.executive_kpis (the rollups) and the records behind
# them from metrics.drill; here are only the data version, margin's and leakage's inputs, and the
# invoice numbers that name the receivables.


def rollup_watermarks() -> Query:
    """The rollups flow's watermarks: they move only when the rollups took in a change."""
    return Query(
        select(CursorRow.stream, CursorRow.value)
        .where(CursorRow.system == "rollups")
        .order_by(CursorRow.stream),
        {"stream": pl.String, "value": pl.String},
    )


def fingerprint(column: Any) -> Executable:
    """How many rows a source table has and its newest stamp (``column``): a change shows."""
    return select(func.count(), func.max(column)).select_from(column.class_)


def first_row(table: type[Any]) -> Executable:
    """One row of ``table`` if it has any (cheaper than counting a large table)."""
    return select(literal(1)).select_from(table).limit(1)
