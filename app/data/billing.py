"""Billing: what is posted, pending and unbilled, the events and invoices behind it, and the
weekly and monthly trend; each read cached for ``TTL_SECONDS``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import polars as pl
import streamlit as st

from app import frames
from app.data.store import TTL_SECONDS, engine
from metrics import bounds
from sync import ERP_LABELS
from sync.store import (
    BillingEventRow,
    InvoiceRow,
    InvoiceStatus,
    dashboard,
    triage,
)


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


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def billing_summary(as_of: date) -> BillingSummary:
    """KPIs: WIP, invoices posted this month and to date, pending delivery, exceptions, syncs."""
    month_start, month_end = bounds(as_of, "month")
    next_month = month_end + timedelta(days=1)
    with engine().connect() as connection:
        return BillingSummary(
            as_of=as_of,
            fetched_at=datetime.now(UTC),
            wip=dashboard.wip_by_currency(connection),
            billing_events=dashboard.count(connection, BillingEventRow),
            invoices=dashboard.count(connection, InvoiceRow),
            posted_this_month=dashboard.posted_between(connection, month_start, next_month),
            posted_to_date=dashboard.invoices_in_status(connection, InvoiceStatus.POSTED),
            pending_delivery=dashboard.invoices_in_status(connection, InvoiceStatus.PENDING),
            open_exceptions=triage.open_count(connection),
            value_at_risk=triage.value_at_risk(connection),
            last_sync=dashboard.last_successful_syncs(connection),
        )


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def wip_aging(as_of: date) -> pl.DataFrame:
    """Un-invoiced billing events by age bucket (0–30/31–60/61–90/90+ days) and currency."""
    with engine().connect() as connection:
        by_day = dashboard.wip_by_day(connection)
    return frames.wip_by_age(by_day, as_of=as_of)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def billing_events(limit: int = 200, filters: EventFilters | None = None) -> pl.DataFrame:
    """The most recent billing events with customer, project, person and invoice number."""
    filters = filters or EventFilters()
    with engine().connect() as connection:
        events = dashboard.billing_events(
            connection,
            limit,
            invoice_id=filters.invoice_id,
            invoiced=filters.invoiced,
            currency=filters.currency,
        )
    return frames.with_invoice_label(events)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def invoices(limit: int = 500, erp: str | None = None) -> pl.DataFrame:
    """Invoices, newest first: number, customer, service period, dates, total, status, posting,
    and the ERP (``erp_name``), company and legal entity each goes to; only ``erp``'s when
    given."""
    with engine().connect() as connection:
        rows = dashboard.invoices(connection, limit, erp=erp)
    return frames.with_erp_name(rows, ERP_LABELS)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def invoice_lines(invoice_id: str) -> pl.DataFrame:
    """One invoice's lines as stored: description, quantity, unit amount, amount."""
    with engine().connect() as connection:
        lines = dashboard.invoice_lines(connection, invoice_id)
    return frames.invoice_lines(lines)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def billing_trend() -> BillingTrend:
    """Billable value per week (by work date) and invoiced value per service month."""
    with engine().connect() as connection:
        by_day = dashboard.billable_by_day(connection)
        by_period = dashboard.invoiced_by_period(connection)
    return BillingTrend(
        weekly=frames.weekly_billable(by_day), monthly=frames.monthly_invoiced(by_period)
    )
