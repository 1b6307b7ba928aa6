"""What the dashboard reads of billing, integration health and the Overview's data version:
each function runs one select on the caller's connection and returns a typed polars frame (or a
number).

Connection first: the caller opens the connection (and caches what it reads). The selects run
unchanged on SQLite and PostgreSQL; a frame's columns are named by position and money is
``Float64``. Money is summed in SQL only within ``GROUP BY currency``. The exceptions' reads are
in :mod:`sync.store.triage`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

import polars as pl
from sqlalchemy import ColumnElement, Connection, case, func, literal, select

from sync.store.deliveries import routed_company, routed_erp
from sync.store.reads import read_frame
from sync.store.tables import (
    BillingEventRow,
    CursorRow,
    CustomerRow,
    InvoiceRow,
    OutboxRow,
    ProjectRow,
    ResourceRow,
    SpanRow,
    SyncRunRow,
)
from sync.store.vocabulary import InvoiceStatus, OutboxKind, RunStatus

UTC_TIME = pl.Datetime("us", "UTC")
MONEY_BY_CURRENCY: dict[str, Any] = {
    "currency": pl.String,
    "amount": pl.Float64,
    "count": pl.Int64,
}
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


def count(connection: Connection, table: type[Any], *where: ColumnElement[bool]) -> int:
    """How many rows of ``table`` match ``where``."""
    return int(connection.scalar(select(func.count()).select_from(table).where(*where)) or 0)


def has_rows(connection: Connection, table: type[Any]) -> bool:
    """Whether ``table`` has any row (cheaper than counting a large table)."""
    return connection.scalar(select(literal(1)).select_from(table).limit(1)) is not None


# --- billing -------------------------------------------------------------------------------------


def wip_by_currency(connection: Connection) -> pl.DataFrame:
    """Un-invoiced billing events per currency: currency, amount, hours, count (events)."""
    event = BillingEventRow
    statement = (
        select(event.currency, func.sum(event.amount), func.sum(event.quantity), func.count())
        .where(event.invoice_id.is_(None))
        .group_by(event.currency)
        .order_by(event.currency)
    )
    schema = {"currency": pl.String, "amount": pl.Float64, "hours": pl.Float64, "count": pl.Int64}
    return read_frame(connection, statement, schema)


def wip_by_day(connection: Connection) -> pl.DataFrame:
    """Un-invoiced billing events per work date and currency: occurred_on, currency, amount,
    hours, events."""
    event = BillingEventRow
    statement = (
        select(
            event.occurred_on,
            event.currency,
            func.sum(event.amount),
            func.sum(event.quantity),
            func.count(),
        )
        .where(event.invoice_id.is_(None))
        .group_by(event.occurred_on, event.currency)
    )
    schema = {
        "occurred_on": pl.Date,
        "currency": pl.String,
        "amount": pl.Float64,
        "hours": pl.Float64,
        "events": pl.Int64,
    }
    return read_frame(connection, statement, schema)


def _invoice_totals(connection: Connection, *where: ColumnElement[bool]) -> pl.DataFrame:
    """Invoice value and count per currency (currency, amount, count) of invoices matching
    ``where``."""
    statement = (
        select(InvoiceRow.currency, func.sum(InvoiceRow.total), func.count())
        .where(*where)
        .group_by(InvoiceRow.currency)
        .order_by(InvoiceRow.currency)
    )
    return read_frame(connection, statement, MONEY_BY_CURRENCY)


def invoices_in_status(connection: Connection, status: InvoiceStatus) -> pl.DataFrame:
    """Value and count per currency of the invoices in ``status``."""
    return _invoice_totals(connection, InvoiceRow.status == status)


def posted_between(connection: Connection, start: date, end: date) -> pl.DataFrame:
    """Value and count per currency of the invoices posted from midnight UTC of ``start`` up to
    (not including) ``end``."""
    return _invoice_totals(
        connection,
        InvoiceRow.status == InvoiceStatus.POSTED,
        InvoiceRow.posted_at >= _midnight(start),
        InvoiceRow.posted_at < _midnight(end),
    )


def billing_events(
    connection: Connection,
    limit: int,
    *,
    invoice_id: str | None,
    invoiced: bool | None,
    currency: str | None,
) -> pl.DataFrame:
    """The most recent billing events (:data:`EVENT_COLUMNS`), joined to customer, project,
    person and invoice; ``None`` filters nothing."""
    event = BillingEventRow
    statement = (
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
        statement = statement.where(event.invoice_id == invoice_id)
    if invoiced is not None:
        on_invoice = event.invoice_id.is_not(None) if invoiced else event.invoice_id.is_(None)
        statement = statement.where(on_invoice)
    if currency is not None:
        statement = statement.where(event.currency == currency)
    return read_frame(connection, statement, EVENT_COLUMNS)


def invoices(connection: Connection, limit: int, *, erp: str | None = None) -> pl.DataFrame:
    """Invoices, newest issue date first, with the customer's name and legal entity, and the ERP
    and company each was routed to with the ERP's id of it (null until routed, or posted); only
    those routed to ``erp`` when given."""
    item = OutboxRow
    statement = (
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
            CustomerRow.legal_entity,
            routed_erp(),
            routed_company(),
            item.external_id,
        )
        .outerjoin(CustomerRow, CustomerRow.id == InvoiceRow.customer_id)
        .outerjoin(
            item, (item.kind == OutboxKind.INVOICE_CREATE) & (item.aggregate_id == InvoiceRow.id)
        )
        .order_by(InvoiceRow.issue_date.desc(), InvoiceRow.number.desc())
        .limit(limit)
    )
    if erp is not None:
        statement = statement.where(routed_erp() == erp)
    schema = {
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
        "legal_entity": pl.String,
        "erp": pl.String,
        "company": pl.String,
        "erp_invoice_id": pl.String,
    }
    return read_frame(connection, statement, schema)


def invoice_lines(connection: Connection, invoice_id: str) -> Any:
    """The stored ``lines`` JSON of one invoice (``None``: no such invoice)."""
    return connection.scalar(select(InvoiceRow.lines).where(InvoiceRow.id == invoice_id))


def billable_by_day(connection: Connection) -> pl.DataFrame:
    """All billing events' value per work date and currency: occurred_on, currency, amount."""
    event = BillingEventRow
    statement = select(event.occurred_on, event.currency, func.sum(event.amount)).group_by(
        event.occurred_on, event.currency
    )
    schema = {"occurred_on": pl.Date, "currency": pl.String, "amount": pl.Float64}
    return read_frame(connection, statement, schema)


def invoiced_by_period(connection: Connection) -> pl.DataFrame:
    """Every invoice's service month, currency, status and total."""
    statement = select(
        InvoiceRow.period_start, InvoiceRow.currency, InvoiceRow.status, InvoiceRow.total
    )
    schema = {
        "period_start": pl.Date,
        "currency": pl.String,
        "status": pl.String,
        "total": pl.Float64,
    }
    return read_frame(connection, statement, schema)


# --- integration health --------------------------------------------------------------------------


def last_successful_syncs(connection: Connection) -> pl.DataFrame:
    """Every flow that ever ran, with the end of its last successful run (null: never)."""
    succeeded = case((SyncRunRow.status == RunStatus.SUCCEEDED, SyncRunRow.finished_at))
    statement = (
        select(SyncRunRow.flow, func.max(succeeded))
        .group_by(SyncRunRow.flow)
        .order_by(SyncRunRow.flow)
    )
    return read_frame(connection, statement, {"flow": pl.String, "finished_at": UTC_TIME})


def failed_runs(connection: Connection, limit: int) -> pl.DataFrame:
    """The most recent failed flow runs: flow, started_at, finished_at, error, trace_id."""
    run = SyncRunRow
    statement = (
        select(run.flow, run.started_at, run.finished_at, run.error, run.trace_id)
        .where(run.status == RunStatus.FAILED)
        .order_by(run.started_at.desc())
        .limit(limit)
    )
    schema = {
        "flow": pl.String,
        "started_at": UTC_TIME,
        "finished_at": UTC_TIME,
        "error": pl.String,
        "trace_id": pl.String,
    }
    return read_frame(connection, statement, schema)


def client_call_times(connection: Connection) -> pl.DataFrame:
    """Every vendor call's start, vendor and duration (ms), for latency over time."""
    span = SpanRow
    statement = select(
        span.start_time, span.attributes["vendor"].as_string(), span.duration_ms
    ).where(span.kind == "client")
    schema = {"start_time": UTC_TIME, "vendor": pl.String, "duration_ms": pl.Float64}
    return read_frame(connection, statement, schema)


# --- the Overview's data version -----------------------------------------------------------------


def rollup_watermarks(connection: Connection) -> pl.DataFrame:
    """The rollups flow's watermarks (stream, value): they move only when the rollups took in a
    change."""
    statement = (
        select(CursorRow.stream, CursorRow.value)
        .where(CursorRow.system == "rollups")
        .order_by(CursorRow.stream)
    )
    return read_frame(connection, statement, {"stream": pl.String, "value": pl.String})


def fingerprints(connection: Connection, columns: Iterable[Any]) -> list[tuple[Any, ...]]:
    """For each column, how many rows its table has and the column's newest value (a source
    table's stamp): a change to the table shows."""
    return [
        tuple(connection.execute(select(func.count(), func.max(c)).select_from(c.class_)).one())
        for c in columns
    ]


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)
