"""Overview: the numbers executives run the firm on, and the records behind each of them.

Utilization, approved-before-close, billing cycle time, WIP, DSO, revenue leakage and margin for
a period (week, month or quarter) as of a date, for the whole firm or one slice, each against the
period before. Every chart drills down: click a bar (or pick it in the box under the chart) to
list the records behind it, then select a record to see its journey from approval to cash.

A thin page: the figures are :func:`metrics.executive_kpis` over the rollups (and
:func:`metrics.revenue_leakage`) and the records :mod:`metrics.drill`'s, all through
:mod:`app.data`; the tiles and the drilldown are :mod:`app.views`', the charts :mod:`app.charts`',
the words :mod:`app.labels`'.
"""

from __future__ import annotations

from datetime import UTC, datetime

import streamlit as st

from app import charts, data, kpi_frames, labels
from app.kpi_frames import DIMENSIONS, Filters, Overview
from app.views import columns, overview_tiles, page
from app.views.overview_drill import chart, drill_box, records

GRAINS = {"Week": "week", "Month": "month", "Quarter": "quarter"}
SLICES = {"Whole firm": None, **{label: key for key, label in DIMENSIONS.items()}}
GROUPS = {"Practice": "practice", "Region": "region", "Person": "person"}
RAW_SOURCE = (
    "Read from the raw records: the rollups have not been built yet (the `rollups` flow has not "
    "run), so this page is slower than it will be."
)


def filter_bar() -> Filters:
    grain_col, date_col, slice_col, value_col = st.columns([3, 2, 2, 3])
    grain = grain_col.segmented_control(
        "Period", list(GRAINS), default="Month", key="grain", bind="query-params"
    )
    as_of = date_col.date_input(
        "As of", value=datetime.now(UTC).date(), key="as_of", format="YYYY-MM-DD"
    )
    base = Filters(as_of=as_of, grain=GRAINS[grain or "Month"])  # type: ignore[arg-type]
    choice = slice_col.selectbox("Slice by", list(SLICES), key="slice")
    dimension = SLICES[choice]
    if dimension is None:
        value_col.selectbox("Value", ["—"], disabled=True, key="slice_value_none")
        return base
    names = data.slice_values().get(dimension, {})
    value = value_col.selectbox(
        choice, list(names), key=f"slice_value_{dimension}", format_func=lambda k: names[k]
    )
    return Filters(as_of=as_of, grain=base.grain, dimension=dimension, value=value)


def currency_choice(overview: Overview) -> str | None:
    currencies = overview.currencies
    if not currencies:
        return None
    chosen = st.segmented_control(
        "Currency (money figures are never added across currencies)",
        currencies,
        default=currencies[0],
        key="currency",
    )
    return chosen or currencies[0]


def caption(overview: Overview) -> None:
    start, end = overview.period
    filters = overview.filters
    where = "the whole firm"
    if filters.sliced and filters.dimension and filters.value:
        name = data.slice_values()[filters.dimension].get(filters.value, filters.value)
        where = f"{DIMENSIONS[filters.dimension]}: **{labels.text(name)}**"
    st.caption(
        f"Source: plan2cash store `{data.store_label()}` · {overview.label} "
        f"({labels.day(start)} – {labels.day(end)}) as of {labels.day(filters.as_of)} · "
        f"{where} · trends compare with {overview.previous_label}"
    )
    if overview.source != "rollups":
        st.caption(RAW_SOURCE)


def utilization_tab(overview: Overview) -> None:
    filters = overview.filters
    trend_col, group_col = st.columns(2, gap="large")
    trend_col.plotly_chart(charts.utilization_trend(overview.utilization_trend), key="util_trend")
    with group_col:
        by = st.segmented_control("By", list(GROUPS), default="Practice", key="util_by")
        column = GROUPS[by or "Practice"]
        groups = data.utilization_groups(filters, column)
        title = f"Utilization by {column} — {overview.label}"
        chart(charts.utilization_by_group(groups, title), "util_groups", "util_drill")
    names = dict(groups.select("key", "label").iter_rows())
    chosen = drill_box(f"Billable time of one {column}", list(names), "util_drill",
                       format_func=lambda k: names.get(k, k))  # fmt: skip
    if chosen is None:
        return
    entries = data.kpi_records(filters, "utilization", group=(column, chosen))
    records(entries, f"util_records_{column}_{chosen}", columns.table(
        "spent_date", "person", "customer", "project", "hours", "status", "approved_at",
        approved_at=columns.when("Approved (UTC)"),
    ))  # fmt: skip


def wip_tab(overview: Overview, currency: str) -> None:
    chart(charts.wip_by_bucket(overview.wip, currency), "wip_chart", "wip_drill")
    chosen = drill_box("Billing events of one age bucket", overview.wip_buckets(currency),
                       "wip_drill", format_func=lambda b: f"{b} days")  # fmt: skip
    if chosen is None:
        return
    events = data.kpi_records(overview.filters, "wip", bucket=chosen, currency=currency)
    records(events, f"wip_records_{currency}_{chosen}", columns.table(
        "occurred_on", "customer", "project", "person", "quantity", "rate", "amount", "age_days",
        quantity=columns.SHARED["hours"],
        amount=columns.money(f"Amount ({currency})"),
        age_days=columns.number("Age (days)", "%d"),
    ))  # fmt: skip


def cash_tab(overview: Overview, currency: str) -> None:
    st.plotly_chart(charts.dso_trend(overview.dso_trend, currency), key="dso_trend")
    st.markdown(
        f"**Open invoices — {labels.text(currency)}**: the receivable behind the DSO figure"
    )
    invoices = data.kpi_records(overview.filters, "dso", currency=currency)
    records(invoices, f"ar_records_{currency}", columns.table(
        "number", "customer", "issue_date", "total", "paid", "due", "days_outstanding",
        number=columns.text("Invoice"),
        total=columns.money(f"Total ({currency})"),
        paid=columns.money("Paid"),
        due=columns.money("Outstanding"),
        days_outstanding=columns.number("Days outstanding", "%d"),
    ))  # fmt: skip


STAGE_COLUMNS = columns.table(
    "occurred_on", "customer", "person", "amount", "currency",
    "cycle_time", "approval_lag", "sync_lag", "invoicing_lag", "posting_lag",
    cycle_time=columns.number("Cycle (days)", "%.1f"),
    approval_lag=columns.number("Approval", "%.1f"),
    sync_lag=columns.number("Sync", "%.1f"),
    invoicing_lag=columns.number("Invoicing", "%.1f"),
    posting_lag=columns.number("Posting", "%.1f"),
)  # fmt: skip


def cycle_tab(overview: Overview) -> None:
    if overview.cycle.is_empty():
        st.caption(f"No invoice was posted in {overview.label}, so there is no cycle time yet.")
        return
    chart(charts.cycle_stages(overview.cycle), "cycle_chart", "cycle_drill")
    chosen = drill_box("Billed time, slowest first in one stage", list(charts.STAGE_LABELS),
                       "cycle_drill", format_func=charts.STAGE_LABELS.get)  # fmt: skip
    if chosen is None:
        return
    billed = kpi_frames.slowest_first(data.kpi_records(overview.filters, "cycle_time"), chosen)
    records(billed, f"cycle_records_{chosen}", STAGE_COLUMNS)


def leakage_tab(overview: Overview, currency: str) -> None:
    kinds = overview.leakage_kinds(currency)
    if not kinds:
        st.success(f"No revenue leakage in {currency}: approved time is billed, at its rate.")
        return
    leaked, hours, entries = overview.leaked(currency)
    if leaked > 0:
        chart(charts.leakage_by_kind(overview.leakage, currency), "leak_chart", "leak_drill")
    else:
        st.info(
            f"{labels.count(entries, 'time entry')} ({labels.hours(hours)}) of approved "
            f"billable {currency} time were never billed and have no known rate (no billing "
            "event, and no value at risk on an exception), so they count in hours, not money. "
            "Pick the kind to list them.",
            icon=":material/help:",
        )
    chosen = drill_box("Time entries of one kind of leakage", kinds, "leak_drill",
                       format_func=lambda k: charts.LEAKAGE_LABELS.get(k, k))  # fmt: skip
    if chosen is None:
        return
    leaking = data.kpi_records(overview.filters, "leakage", bucket=chosen, currency=currency)
    records(leaking, f"leak_records_{currency}_{chosen}", columns.table(
        "spent_date", "person", "customer", "project", "hours", "amount",
        amount=columns.money(f"Value ({currency})"),
    ))  # fmt: skip


page.header("Overview")
filters = filter_bar()
overview = data.executive_overview(filters)
if overview.empty:
    page.empty_store(
        "**No data yet**: nothing has synced into the store, so there are no KPIs to show.",
        "pull people, time and invoices from the firm's systems",
    )
else:
    caption(overview)
    overview_tiles.people_tiles(overview)
    currency = currency_choice(overview)
    if currency:
        overview_tiles.money_tiles(overview, currency)
    tabs = st.tabs(["Utilization", "WIP", "Cash & DSO", "Cycle time", "Leakage"])
    with tabs[0]:
        utilization_tab(overview)
    with tabs[1]:
        if currency:
            wip_tab(overview, currency)
    with tabs[2]:
        if currency:
            cash_tab(overview, currency)
    with tabs[3]:
        cycle_tab(overview)
    with tabs[4]:
        if currency:
            leakage_tab(overview, currency)
