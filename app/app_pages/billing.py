"""Billing: unbilled work (WIP) and its age, invoices posted and pending, and the events behind.

A thin page: every number comes from :mod:`app.data`, every figure from :mod:`app.charts`, and
money is always shown per currency.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import streamlit as st

from app import charts, data, labels
from app.views import columns, erp_sections, page

if TYPE_CHECKING:
    import polars as pl

EVENT_VIEWS = {"All": None, "Not invoiced": False, "Invoiced": True}
INVOICES = columns.table(
    "number", "customer", "erp_name", "legal_entity", "period_start", "period_end", "issue_date",
    "due_date", "total", "currency", "status", "posted_at", "erp_invoice_id",
    number=columns.text("Invoice"),
    period_start=columns.day("Period from"),
    period_end=columns.day("Period to"),
    due_date=columns.day("Due"),
    total=columns.money("Total"),
    status=columns.text(
        "Status", help="pending: created here, not yet posted to its ERP; posted: in its ERP."
    ),
    posted_at=columns.when("Posted to the ERP (UTC)"),
    erp_name=columns.text("ERP", help="The ERP keeping the legal entity's books."),
    legal_entity=columns.text("Legal entity"),
    erp_invoice_id=columns.text("ERP's id", help="The invoice's id in its ERP, once posted."),
)  # fmt: skip
EVENTS = columns.table(
    "occurred_on", "customer", "project_code", "project", "person", "hours", "rate", "amount",
    "currency", "invoice_number",
    project_code=columns.text("Code"),
    invoice_number=columns.text("Invoice"),
)  # fmt: skip


def caption(summary: data.BillingSummary) -> None:
    syncs = [
        f"{labels.text(row['flow'])} "
        + (labels.ago(row["finished_at"], summary.fetched_at) if row["finished_at"] else "never")
        for row in summary.last_sync.iter_rows(named=True)
    ]
    st.caption(
        f"Source: plan2cash store `{data.store_label()}` · as of "
        f"{summary.fetched_at:%d %b %Y %H:%M} UTC · last successful sync: "
        + (", ".join(syncs) if syncs else "none yet")
    )


def overview_tiles(summary: data.BillingSummary) -> None:
    first, second, third, fourth = st.columns(4)
    first.metric(
        "Unbilled hours (approved, all currencies)",
        labels.hours(summary.unbilled_hours),
        help="Approved billable hours on billing events that are on no invoice yet.",
        border=True,
    )
    second.metric("Billing events (all time)", f"{summary.billing_events:,}", border=True)
    third.metric("Invoices (all time)", f"{summary.invoices:,}", border=True)
    fourth.metric(
        "Open exceptions (all flows)",
        f"{summary.open_exceptions:,}",
        help="Records that could not flow and are still open or retrying; "
        "their value at risk is shown per currency below.",
        border=True,
    )


def currency_tiles(summary: data.BillingSummary) -> None:
    month = f"{summary.as_of:%b %Y}"
    for kpi in summary.kpis.iter_rows(named=True):
        cur = kpi["currency"]
        tiles = (  # label, amount column, what the amount is made of
            ("WIP, unbilled", "wip", f"{labels.count(kpi['wip_events'], 'billing event')}, "
             f"{labels.hours(kpi['wip_hours'])}, approved and on no invoice yet."),
            (f"Posted in {month}", "posted_month",
             f"{labels.count(kpi['posted_month_invoices'], 'invoice')} posted to the ERPs "
             f"in {month} (UTC)."),
            ("Posted to date", "posted",
             f"{labels.count(kpi['posted_invoices'], 'invoice')} posted to the ERPs."),
            ("Awaiting posting", "pending",
             f"{labels.count(kpi['pending_invoices'], 'invoice')} created, not yet posted."),
            ("At risk (open exceptions)", "at_risk",
             f"{labels.count(kpi['at_risk_exceptions'], 'open exception')} "
             f"carrying a {cur} value."),
        )  # fmt: skip
        for column, (label, key, made_of) in zip(st.columns(len(tiles)), tiles, strict=True):
            column.metric(
                f"{label} — {labels.text(cur)}",
                labels.money_tile(kpi[key], cur),
                help=f"Exactly {labels.money(kpi[key], cur)}: {made_of}",
                border=True,
            )


def charts_row(summary: data.BillingSummary) -> None:
    aging_col, trend_col = st.columns(2, gap="large")
    with aging_col:
        st.subheader("WIP aging")
        st.caption("Un-invoiced approved work by age (days since the work was done), per currency.")
        aging = data.wip_aging(summary.as_of)
        if aging.is_empty():
            st.success("No unbilled work: every approved billable hour is on an invoice.")
        else:
            st.plotly_chart(charts.wip_aging_bars(aging), key="wip_aging")
    with trend_col:
        st.subheader("Billable vs invoiced")
        trend = data.billing_trend()
        if not trend.currencies:
            st.caption("No billable work yet.")
            return
        currency = st.segmented_control(
            "Currency", trend.currencies, default=trend.currencies[0], key="trend_currency"
        )
        chosen = currency or trend.currencies[0]
        st.plotly_chart(charts.billing_trend(trend.weekly, trend.monthly, chosen), key="trend")


def invoices_section(erps: data.ErpReport) -> None:
    st.subheader("Invoices")
    names = erps.names
    chosen = st.segmented_control("ERP", ["All", *names], default="All", key="invoice_erp")
    invoices = data.invoices(erp=names.get(chosen or "All"))
    if invoices.is_empty():
        st.caption("No invoices yet: the invoicing flow creates them from approved billable time.")
        return
    event = columns.dataframe(
        invoices, INVOICES, key="invoice_table", on_select="rerun", selection_mode="single-row"
    )
    rows = event.selection.rows
    if not rows:
        st.caption("Select an invoice to see its lines and the billing events behind it.")
        return
    invoice_drilldown(invoices.row(rows[0], named=True))


def invoice_drilldown(invoice: dict[str, Any]) -> None:
    period = f"{labels.day(invoice['period_start'])} – {labels.day(invoice['period_end'])}"
    st.markdown(
        f"#### Invoice {labels.text(invoice['number'])} · "
        f"{labels.text(invoice['customer'] or 'unknown customer')}\n"
        f"{labels.text(labels.money(invoice['total'], invoice['currency']))} · "
        f"{labels.text(invoice['status'])} · service period {period}"
    )
    lines_col, events_col = st.columns([2, 3], gap="large")
    with lines_col:
        st.markdown("**Lines**")
        st.dataframe(
            data.invoice_lines(invoice["id"]),
            hide_index=True,
            column_config=columns.table(
                "description",
                "quantity",
                "unit_amount",
                "amount",
                description=columns.text("Description"),
                quantity=columns.SHARED["hours"],
                unit_amount=columns.money(f"Rate ({invoice['currency']})"),
                amount=columns.money(f"Amount ({invoice['currency']})"),
            ),
        )
    with events_col:
        st.markdown("**Billing events on this invoice**")
        events_table(
            data.billing_events(1000, data.EventFilters(invoice_id=invoice["id"])),
            key="invoice_events",
        )


def events_section() -> None:
    st.subheader("Billing events")
    view = st.segmented_control("Show", list(EVENT_VIEWS), default="All", key="event_view")
    limit = 200
    events = data.billing_events(limit, data.EventFilters(invoiced=EVENT_VIEWS[view or "All"]))
    st.caption(f"The {limit} most recent by work date. Each event is approved billable time.")
    events_table(events, key="events")


def events_table(events: pl.DataFrame, *, key: str) -> None:
    columns.dataframe(events, EVENTS, key=key)


now = datetime.now(UTC)
page.header("Billing")
summary = data.billing_summary(now.date())
caption(summary)
if summary.empty:
    page.empty_store(
        "**No data has synced into the store yet**, so there is nothing to report.",
        "pull approved time from Harvest and invoices from the ERPs once",
    )
else:
    overview_tiles(summary)
    currency_tiles(summary)
    charts_row(summary)
    erp_report = data.erp_report()
    erp_sections.billing_section(erp_report)
    invoices_section(erp_report)
    events_section()
