"""Overview: the numbers executives run the firm on, and the records behind each of them.

Utilization, approved-before-close, billing cycle time, WIP, DSO, revenue leakage and margin for
a period (week, month or quarter) as of a date, for the whole firm or one slice, each against the
period before. Every chart drills down: click a bar (or pick it in the box under the chart) to
list the records behind it, then select a record to see its journey from approval to cash.

A thin page: the figures are :func:`metrics.report.executive_kpis` over the rollups (and
:func:`metrics.report.revenue_leakage`) and the records :mod:`metrics.drill`'s, all through
:mod:`app.data`; the charts come from :mod:`app.charts`, the words from :mod:`app.labels`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import streamlit as st

from app import charts, data, kpi_frames, labels
from app.kpi_frames import DIMENSIONS, Filters, Overview
from metrics import CLOSE_DAYS

GRAINS = {"Week": "week", "Month": "month", "Quarter": "quarter"}
SLICES = {"Whole firm": None, **{label: key for key, label in DIMENSIONS.items()}}
GROUPS = {"Practice": "practice", "Region": "region", "Person": "person"}
MONEY = "accounting"
DAY = "D MMM YYYY"
WHEN = "D MMM YYYY, HH:mm"
EMPTY_STORE = (
    "**No data yet**: nothing has synced into the store, so there are no KPIs to show.\n\n"
    "Run `plan2cash sync --once` to pull people, time and invoices from the firm's systems, or "
    "`make demo` to start the sandbox firm, the sync engine and this dashboard together. "
    "Then press **Refresh**."
)
RAW_SOURCE = (
    "Read from the raw records: the rollups have not been built yet (the `rollups` flow has not "
    "run), so this page is slower than it will be."
)


def header() -> None:
    left, right = st.columns([6, 1], vertical_alignment="bottom")
    left.title("Overview")
    if right.button("Refresh", icon=":material/refresh:", width="stretch"):
        data.refresh()


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


def people_tiles(overview: Overview) -> None:
    st.markdown(f"##### People and billing — {overview.label}")
    utilization, approvals, median, p90 = st.columns(4)
    now = overview.utilization_now()
    share, before = overview.tile("utilization")
    utilization.metric(
        f"Billable utilization, {overview.label_short}",
        labels.percent(share),
        delta=labels.points(share, before),
        delta_description=_vs(before, overview.previous_short),
        help=f"{labels.hours(now['billable_hours'])} billable of "
        f"{labels.hours(now['available_hours'])} available (capacity less holidays and time off)."
        + ("" if overview.filters.honoured_by("person") else " The slice does not apply to "
           "people: utilization is shown for the whole firm."),
        border=True,
        height="stretch",
    )  # fmt: skip
    approvals_tile(approvals, overview)
    for column, stat in ((median, "median"), (p90, "p90")):
        value, previous = overview.tile(f"cycle_time_{stat}")
        column.metric(
            f"Cycle time {stat}, {overview.label_short}",
            labels.days_exact(value),
            delta=labels.days_delta(value, previous),
            delta_description=_vs(previous, overview.previous_short),
            delta_color="inverse",
            help="Days from approval of the time to its invoice posted in the ERP, over time "
            "billed on invoices posted in the period.",
            border=True,
            height="stretch",
        )


def approvals_tile(column: Any, overview: Overview) -> None:
    closed = overview.approvals
    if closed.is_empty():
        column.metric(
            "Approved before close", "—", help="No period has closed yet.", border=True,
            height="stretch",
        )  # fmt: skip
        return
    last = closed.row(-1, named=True)
    before = closed.row(-2, named=True) if closed.height > 1 else {}
    earlier = before.get("approved_share")
    column.metric(
        f"Approved by close, {last['label_short']}",
        labels.percent(last["approved_share"]),
        delta=labels.points(last["approved_share"], earlier),
        delta_description=_vs(earlier, before.get("label_short", "")),
        help=f"Share of the hours logged in {last['label']} that were approved by "
        f"{labels.day(last['cutoff'])}, the close cut-off {CLOSE_DAYS} days after the period "
        "ended (the last period whose cut-off has passed).",
        border=True,
        height="stretch",
    )


def money_tiles(overview: Overview, currency: str) -> None:
    st.markdown(
        f"##### Money in {labels.text(currency)} — as of {labels.day(overview.filters.as_of)}"
    )
    wip, dso, leakage, margin = st.columns(4)
    totals = overview.wip_total(currency)
    now_wip, old_wip = overview.tile("wip", currency)
    wip.metric(
        f"WIP, unbilled — {currency}",
        labels.money_tile(now_wip or 0.0, currency),
        delta=labels.money_delta((now_wip or 0.0) - (old_wip or 0.0), currency),
        delta_description=_vs(old_wip, f"{overview.previous_end}"),
        delta_color="inverse",
        help=f"Exactly {labels.money(now_wip or 0.0, currency)} over "
        f"{labels.hours(totals['hours'])}: approved billable work on no invoice as of "
        f"{labels.day(overview.filters.as_of)}; {labels.money(totals['over_60'], currency)} of "
        f"it is older than 60 days. At the end of {overview.previous_label}: "
        f"{labels.money(old_wip or 0.0, currency)}.",
        border=True,
        height="stretch",
    )
    countback, before = overview.tile("dso_countback", currency)
    dso.metric(
        f"DSO (countback) — {currency}",
        labels.days_exact(countback),
        delta=labels.days_delta(countback, before),
        delta_description=_vs(before, overview.previous_end),
        delta_color="inverse",
        help=labels.dso_help(overview.dso_now(currency), currency)
        + ("" if overview.filters.honoured_by("customer") else
           " Receivables have no practice: DSO is the whole firm's."),
        border=True,
        height="stretch",
    )  # fmt: skip
    leaked, hours, entries = overview.leaked(currency)
    leakage.metric(
        f"Revenue leakage — {currency}",
        labels.money_tile(leaked, currency),
        help=f"Exactly {labels.money(leaked, currency)} over "
        f"{labels.count(entries, 'time entry')} ({labels.hours(hours)}) as of "
        f"{labels.day(overview.filters.as_of)}: approved billable time never billed (its month "
        "closed over 15 days ago), billed below its rate, or on closed projects. Time with no "
        "known rate counts in hours only.",
        border=True,
        height="stretch",
    )
    row = overview.margin_row(currency)
    share, before = overview.tile("margin_share", currency)
    margin.metric(
        f"Margin, {overview.label_short} — {currency}",
        labels.percent(share),
        delta=labels.points(share, before),
        delta_description=_vs(before, overview.previous_short),
        help=(
            f"Margin {labels.money(row['margin'], currency)}: revenue "
            f"{labels.money(row['revenue'], currency)} (billable value of the work done in "
            f"{overview.label}) less labour at cost {labels.money(row['labour_cost'], currency)}"
            f" and expenses {labels.money(row['expenses'], currency)}."
            if row
            else f"No work in {currency} in {overview.label}."
        ),
        border=True,
        height="stretch",
    )


def _vs(previous: Any, when: str) -> str | None:
    """What a tile's delta compares with (nothing when there is no delta)."""
    return None if previous is None else f"vs {when}"


def drill_box(label: str, options: list[str], key: str, format_func: Any = str) -> str | None:
    """The value a chart bar selects (clicked, or picked here); the chart's click writes it."""
    if st.session_state.get(key) not in options:
        st.session_state.pop(key, None)
    return st.selectbox(
        label, options, index=None, key=key, placeholder="Click a bar, or pick one…",
        format_func=format_func,
    )  # fmt: skip


def on_click(chart_key: str, box_key: str) -> Any:
    """A plotly ``on_select`` callback that copies the clicked bar's value into the drill box."""

    def copy() -> None:
        state = st.session_state.get(chart_key)
        points = state["selection"]["points"] if state else []
        if points:
            value = points[0].get("customdata")
            st.session_state[box_key] = value[0] if isinstance(value, list) else value

    return copy


def chart(figure: Any, chart_key: str, box_key: str) -> None:
    st.plotly_chart(
        figure, key=chart_key, on_select=on_click(chart_key, box_key), selection_mode="points"
    )


def records(frame: Any, key: str, columns: dict[str, Any]) -> None:
    """The records behind a figure (``metrics.drill`` rows); selecting one shows its journey."""
    if frame.is_empty():
        st.caption("No records behind this figure.")
        return
    st.caption(f"{labels.count(frame.height, 'record')} — select one to see its journey.")
    event = st.dataframe(
        frame,
        key=key,
        hide_index=True,
        placeholder="—",
        on_select="rerun",
        selection_mode="single-row",
        column_order=list(columns),
        column_config=columns,
    )
    rows = event.selection.rows
    if rows:
        row = frame.row(rows[0], named=True)
        journey(row["entity_type"], row["entity_id"])


def journey(entity_type: str, entity_id: str) -> None:
    steps = data.record_journey(entity_type, entity_id)
    kind = entity_type.replace("_", " ")
    st.markdown(
        f"**Journey of {labels.text(kind)} {labels.code(entity_id)}** — from approval to cash"
    )
    if steps.is_empty():
        st.caption("No business events recorded for this record yet.")
        return
    timeline, table = st.columns(2, gap="large")
    timeline.plotly_chart(charts.journey_timeline(steps), key=f"journey_{entity_id}")
    table.dataframe(
        kpi_frames.with_waits(steps, labels.days),
        hide_index=True,
        placeholder="—",
        column_order=["occurred_at", "event", "wait", "entity_id"],
        column_config={
            "occurred_at": st.column_config.DatetimeColumn("When (UTC)", format=WHEN),
            "event": st.column_config.TextColumn("Milestone"),
            "wait": st.column_config.TextColumn("Waited", help="Since the previous milestone"),
            "entity_id": st.column_config.TextColumn("Record"),
        },
    )


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
    records(entries, f"util_records_{column}_{chosen}", {
        "spent_date": st.column_config.DateColumn("Date", format=DAY),
        "person": st.column_config.TextColumn("Person"),
        "customer": st.column_config.TextColumn("Customer"),
        "project": st.column_config.TextColumn("Project"),
        "hours": st.column_config.NumberColumn("Hours", format="%.2f"),
        "status": st.column_config.TextColumn("Status"),
        "approved_at": st.column_config.DatetimeColumn("Approved (UTC)", format=WHEN),
    })  # fmt: skip


def wip_tab(overview: Overview, currency: str) -> None:
    chart(charts.wip_by_bucket(overview.wip, currency), "wip_chart", "wip_drill")
    chosen = drill_box("Billing events of one age bucket", overview.wip_buckets(currency),
                       "wip_drill", format_func=lambda b: f"{b} days")  # fmt: skip
    if chosen is None:
        return
    events = data.kpi_records(overview.filters, "wip", bucket=chosen, currency=currency)
    records(events, f"wip_records_{currency}_{chosen}", {
        "occurred_on": st.column_config.DateColumn("Work date", format=DAY),
        "customer": st.column_config.TextColumn("Customer"),
        "project": st.column_config.TextColumn("Project"),
        "person": st.column_config.TextColumn("Person"),
        "quantity": st.column_config.NumberColumn("Hours", format="%.2f"),
        "rate": st.column_config.NumberColumn("Rate", format=MONEY),
        "amount": st.column_config.NumberColumn(f"Amount ({currency})", format=MONEY),
        "age_days": st.column_config.NumberColumn("Age (days)", format="%d"),
    })  # fmt: skip


def cash_tab(overview: Overview, currency: str) -> None:
    st.plotly_chart(charts.dso_trend(overview.dso_trend, currency), key="dso_trend")
    st.markdown(
        f"**Open invoices — {labels.text(currency)}**: the receivable behind the DSO figure"
    )
    invoices = data.kpi_records(overview.filters, "dso", currency=currency)
    records(invoices, f"ar_records_{currency}", {
        "number": st.column_config.TextColumn("Invoice"),
        "customer": st.column_config.TextColumn("Customer"),
        "issue_date": st.column_config.DateColumn("Issued", format=DAY),
        "total": st.column_config.NumberColumn(f"Total ({currency})", format=MONEY),
        "paid": st.column_config.NumberColumn("Paid", format=MONEY),
        "due": st.column_config.NumberColumn("Outstanding", format=MONEY),
        "days_outstanding": st.column_config.NumberColumn("Days outstanding", format="%d"),
    })  # fmt: skip


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
    records(billed, f"cycle_records_{chosen}", {
        "occurred_on": st.column_config.DateColumn("Work date", format=DAY),
        "customer": st.column_config.TextColumn("Customer"),
        "person": st.column_config.TextColumn("Person"),
        "amount": st.column_config.NumberColumn("Amount", format=MONEY),
        "currency": st.column_config.TextColumn("Currency", width="small"),
        "cycle_time": st.column_config.NumberColumn("Cycle (days)", format="%.1f"),
        "approval_lag": st.column_config.NumberColumn("Approval", format="%.1f"),
        "sync_lag": st.column_config.NumberColumn("Sync", format="%.1f"),
        "invoicing_lag": st.column_config.NumberColumn("Invoicing", format="%.1f"),
        "posting_lag": st.column_config.NumberColumn("Posting", format="%.1f"),
    })  # fmt: skip


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
    records(leaking, f"leak_records_{currency}_{chosen}", {
        "spent_date": st.column_config.DateColumn("Date", format=DAY),
        "person": st.column_config.TextColumn("Person"),
        "customer": st.column_config.TextColumn("Customer"),
        "project": st.column_config.TextColumn("Project"),
        "hours": st.column_config.NumberColumn("Hours", format="%.2f"),
        "amount": st.column_config.NumberColumn(f"Value ({currency})", format=MONEY),
    })  # fmt: skip


header()
filters = filter_bar()
overview = data.executive_overview(filters)
if overview.empty:
    st.info(EMPTY_STORE, icon=":material/hourglass_empty:")
else:
    caption(overview)
    people_tiles(overview)
    currency = currency_choice(overview)
    if currency:
        money_tiles(overview, currency)
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
