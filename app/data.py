"""The dashboard's only door to the store, and its only caching.

``engine()`` is a process-wide resource (and migrates an empty store so that pages render on a
fresh clone); every query function is cached for 30 s and returns polars frames built from
the SQLAlchemy statements of :mod:`app.queries`, which run unchanged on SQLite and PostgreSQL.
Grouping by currency happens in SQL or in :mod:`app.frames`; amounts in different currencies
never meet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import polars as pl
import streamlit as st
from sqlalchemy import Engine, Executable

from app import frames, queries
from sync.settings import load_settings
from sync.store.db import make_engine
from sync.store.migrate import upgrade
from sync.store.tables import BillingEventRow, InvoiceRow

TTL_SECONDS = 30


@dataclass(frozen=True)
class BillingSummary:
    """The billing KPIs at ``as_of``; every money frame has one row per currency."""

    as_of: date
    fetched_at: datetime
    wip: pl.DataFrame  # currency, amount, hours, count (events)
    billing_events: int
    invoices: int
    posted_this_month: pl.DataFrame  # currency, amount, count (invoices)
    posted_to_date: pl.DataFrame  # currency, amount, count
    pending_delivery: pl.DataFrame  # currency, amount, count
    open_exceptions: int
    value_at_risk: pl.DataFrame  # currency, amount, count (exceptions with a value)
    last_sync: pl.DataFrame  # flow, finished_at (last successful run; null: never)

    @property
    def empty(self) -> bool:
        """Nothing has synced yet: no billable work and no invoices."""
        return self.billing_events == 0 and self.invoices == 0

    @property
    def kpis(self) -> pl.DataFrame:
        """One row per currency: WIP, posted this month, posted to date, pending, at risk."""
        return frames.kpi_table(
            wip=self.wip,
            posted_this_month=self.posted_this_month,
            posted_to_date=self.posted_to_date,
            pending_delivery=self.pending_delivery,
            value_at_risk=self.value_at_risk,
        )

    @property
    def unbilled_hours(self) -> float:
        """Approved hours not yet invoiced, all currencies (hours add up; money does not)."""
        return float(self.wip["hours"].sum())


@dataclass(frozen=True)
class BillingTrend:
    """Billable value per week and invoiced value per service month, per currency."""

    weekly: pl.DataFrame  # week, currency, amount
    monthly: pl.DataFrame  # month, currency, status, amount, invoices

    @property
    def currencies(self) -> list[str]:
        """Currencies with billable work or invoices, alphabetically."""
        both = pl.concat([self.weekly.select("currency"), self.monthly.select("currency")])
        return sorted(both["currency"].unique().to_list())


@dataclass(frozen=True)
class EventFilters:
    """Which billing events to list; ``None`` means no restriction."""

    invoice_id: str | None = None
    invoiced: bool | None = None
    currency: str | None = None


@st.cache_resource(show_spinner=False)
def engine() -> Engine:
    """The store's engine, migrated to the latest schema (an empty store renders too)."""
    store = make_engine(load_settings().database_url)
    upgrade(store)
    return store


def store_label() -> str:
    """Where the data comes from, with any password hidden."""
    return engine().url.render_as_string(hide_password=True)


def refresh() -> None:
    """Forget cached query results (the engine stays)."""
    st.cache_data.clear()


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def billing_summary(as_of: date) -> BillingSummary:
    """KPIs: WIP, invoices posted this month and to date, pending delivery, exceptions, syncs."""
    month_start = as_of.replace(day=1)
    next_month = (month_start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return BillingSummary(
        as_of=as_of,
        fetched_at=datetime.now(UTC),
        wip=_read(queries.wip_by_currency()),
        billing_events=_count(queries.count(BillingEventRow)),
        invoices=_count(queries.count(InvoiceRow)),
        posted_this_month=_read(queries.posted_between(month_start, next_month)),
        posted_to_date=_read(queries.invoice_totals(InvoiceRow.status == "posted")),
        pending_delivery=_read(queries.invoice_totals(InvoiceRow.status == "pending")),
        open_exceptions=_count(queries.open_exception_count()),
        value_at_risk=_read(queries.value_at_risk()),
        last_sync=_read(queries.last_successful_syncs()),
    )


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def wip_aging(as_of: date) -> pl.DataFrame:
    """Un-invoiced billing events by age bucket (0–30/31–60/61–90/90+ days) and currency."""
    return frames.wip_by_age(_read(queries.wip_by_day()), as_of=as_of)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def billing_events(limit: int = 200, filters: EventFilters | None = None) -> pl.DataFrame:
    """The most recent billing events with customer, project, person and invoice number."""
    filters = filters or EventFilters()
    query = queries.billing_events(
        limit, invoice_id=filters.invoice_id, invoiced=filters.invoiced, currency=filters.currency
    )
    return frames.with_invoice_label(_read(query))


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def invoices(limit: int = 500) -> pl.DataFrame:
    """Invoices, newest first: number, customer, service period, dates, total, status, posting."""
    return _read(queries.invoices(limit))


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def invoice_lines(invoice_id: str) -> pl.DataFrame:
    """One invoice's lines as stored: description, quantity, unit amount, amount."""
    with engine().connect() as connection:
        lines = connection.scalar(queries.invoice_lines(invoice_id))
    return frames.invoice_lines(lines)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def billing_trend() -> BillingTrend:
    """Billable value per week (by work date) and invoiced value per service month."""
    return BillingTrend(
        weekly=frames.weekly_billable(_read(queries.billable_by_day())),
        monthly=frames.monthly_invoiced(_read(queries.invoiced_by_period())),
    )


# --- plumbing -----------------------------------------------------------------------------------


def _read(query: queries.Query) -> pl.DataFrame:
    """Run the query; name its columns by its schema (positional), Decimal money as floats."""
    with engine().connect() as connection:
        rows = connection.execute(query.statement).all()
    return pl.DataFrame(
        [tuple(_plain(value) for value in row) for row in rows],
        schema=query.schema,
        orient="row",
    )


def _count(statement: Executable) -> int:
    with engine().connect() as connection:
        return int(connection.scalar(statement) or 0)


def _plain(value: Any) -> Any:
    return float(value) if isinstance(value, Decimal) else value


__all__ = [
    "BillingSummary",
    "BillingTrend",
    "EventFilters",
    "billing_events",
    "billing_summary",
    "billing_trend",
    "engine",
    "invoice_lines",
    "invoices",
    "refresh",
    "store_label",
    "wip_aging",
]
