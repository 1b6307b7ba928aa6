"""Overview: the numbers executives run the firm on, and the records behind each of them.

Utilization, approved-before-close, billing cycle time, WIP, DSO, revenue leakage and margin for
a period (week, month or quarter) as of a date, for the whole firm or one slice, each against the
period before. Every chart drills down: click a bar (or pick it in the box under the chart) to
list the records behind it, then select a record to see its journey from approval to cash.

A thin page: the figures come from :func:`app.data.executive_overview` (which calls the
:mod:`metrics` functions), the charts from :mod:`app.charts`, the words from :mod:`app.labels`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import streamlit as st

from app import charts, data, kpi_frames, labels
from app.executive import CLOSE_DAYS, Filters, Overview

GRAINS = {"Week": "week", "Month": "month", "Quarter": "quarter"}
SLICES = {"Whole firm": None, **{label: key for key, label in kpi_frames.DIMENSIONS.items()}}
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
    values = data.executive_overview(base).slices.get(dimension, [])
    value = value_col.selectbox(choice, values, key=f"slice_value_{dimension}")
    return Filters(as_of=as_of, grain=base.grain, dimension=dimension, value=value)  # type: ignore[arg-type]


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
    where = (
        f"{kpi_frames.DIMENSIONS[overview.filters.dimension]}: **{overview.filters.value}**"
        if overview.filters.sliced and overview.filters.dimension
        else "the whole firm"
    )
    st.caption(
        f"Source: plan2cash store `{data.store_label()}` · {overview.label} "
        f"({labels.day(start)} – {labels.day(end)}) as of {labels.day(overview.filters.as_of)} · "
        f"{where} · trends compare with {overview.previous_label}"
    )


def people_tiles(overview: Overview) -> None:
    st.markdown(f"##### People and billing — {overview.label}")
    utilization, approvals, median, p90 = st.columns(4)
    now, before = (
        overview.utilization_trend.row(-1, named=True),
        overview.utilization_trend.row(-2, named=True),
    )
    utilization.metric(
        f"Billable utilization, {overview.label_short}",
        labels.percent(now["utilization"]),
        delta=labels.points(now["utilization"], before["utilization"]),
        help=f"{labels.hours(now['billable_hours'])} billable of "
        f"{labels.hours(now['available_hours'])} available (capacity less holidays and time off)."
        + ("" if overview.utilization_sliced else " The slice does not apply to people: "
           "utilization is shown for the whole firm."),
        border=True,
    )  # fmt: skip
    if overview.approvals.is_empty():
        approvals.metric(
            "Approved before close", "—", help="No period has closed yet.", border=True
        )
    else:
        last = overview.approvals.row(-1, named=True)
        earlier = overview.approvals.row(-2, named=True) if overview.approvals.height > 1 else None
        approvals.metric(
            f"Approved by close, {last['label_short']}",
            labels.percent(last["approved_share"]),
            delta=labels.points(last["approved_share"], _get(earlier, "approved_share")),
            help=f"{labels.hours(last['approved_hours'])} of {labels.hours(last['logged_hours'])} "
            f"logged were approved by {labels.day(last['cutoff'])}, "
            f"{CLOSE_DAYS} days after the period closed.",
            border=True,
        )
    for column, stat in ((median, "median"), (p90, "p90")):
        value = _stage(overview.cycle, "cycle_time", stat)
        column.metric(
            f"Cycle time {stat}, {overview.label_short}",
            labels.days_exact(value),
            delta=labels.days_delta(value, _stage(overview.cycle_previous, "cycle_time", stat)),
            delta_color="inverse",
            help="Days from approval of the time to its invoice posted in the ERP, over time "
            "billed on invoices posted in the period.",
            border=True,
        )


def _get(row: dict[str, Any] | None, key: str) -> Any:
    return None if row is None else row[key]


def _stage(stages: Any, stage: str, stat: str) -> float | None:
    match = [row[stat] for row in stages.iter_rows(named=True) if row["stage"] == stage]
    return match[0] if match else None


def money_tiles(overview: Overview, currency: str) -> None:
    st.markdown(f"##### Money in {currency} — as of {labels.day(overview.filters.as_of)}")
    wip, dso, leakage, margin = st.columns(4)
    totals = {r["currency"]: r for r in kpi_frames.wip_totals(overview.wip).iter_rows(named=True)}
    before = {r["currency"]: r for r in overview.wip_previous.iter_rows(named=True)}
    now_wip = totals.get(currency, {}).get("amount", 0.0)
    old_wip = before.get(currency, {}).get("amount", 0.0)
    wip.metric(
        f"WIP, unbilled — {currency}",
        labels.money_tile(now_wip, currency),
        delta=labels.money_delta(now_wip - old_wip, currency),
        delta_color="inverse",
        help=f"Exactly {labels.money(now_wip, currency)}: approved billable work on no invoice "
        f"as of {labels.day(overview.filters.as_of)}; "
        f"{labels.money(totals.get(currency, {}).get('over_60', 0.0), currency)} of it is older "
        "than 60 days.",
        border=True,
    )
    dso_now, dso_before = kpi_frames.last_two(overview.dso_trend, currency)
    dso.metric(
        f"DSO (countback) — {currency}",
        labels.days_exact(_get(dso_now, "countback_days")),
        delta=labels.days_delta(
            _get(dso_now, "countback_days"), _get(dso_before, "countback_days")
        ),
        delta_color="inverse",
        help=labels.dso_help(dso_now, currency)
        + ("" if overview.dso_sliced else " Invoices have no practice: DSO is the whole firm's."),
        border=True,
    )
    leaks = overview.leakage.filter(overview.leakage["currency"] == currency)
    leaked = float(leaks["amount"].sum()) if leaks.height else 0.0
    leakage.metric(
        f"Revenue leakage — {currency}",
        labels.money_tile(leaked, currency),
        help=f"Exactly {labels.money(leaked, currency)} over "
        f"{labels.count(int(leaks['entries'].sum()) if leaks.height else 0, 'time entry')}: "
        "approved time never billed, billed below its rate, or on closed projects.",
        border=True,
    )
    rows = {r["currency"]: r for r in overview.margin.iter_rows(named=True)}
    earlier = {r["currency"]: r for r in overview.margin_previous.iter_rows(named=True)}
    row, old = rows.get(currency), earlier.get(currency)
    margin.metric(
        f"Margin, {overview.label_short} — {currency}",
        labels.percent(_get(row, "margin_share")),
        delta=labels.points(_get(row, "margin_share"), _get(old, "margin_share")),
        help=(
            f"Revenue {labels.money(row['revenue'], currency)} less labour at cost "
            f"{labels.money(row['cost'], currency)} on work done in {overview.label}."
            if row
            else "No billable work in the period."
        ),
        border=True,
    )


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


def records(frame: Any, key: str, columns: dict[str, Any], id_column: str, kind: str) -> None:
    """The records behind a figure; selecting one shows its journey."""
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
        journey(frame.row(rows[0], named=True)[id_column], kind)


def journey(entity_id: str, kind: str) -> None:
    steps = data.record_journey(entity_id, kind)
    st.markdown(f"**Journey of {kind.replace('_', ' ')} `{entity_id}`** — from approval to cash")
    if steps.is_empty():
        st.caption("No business events recorded for this record yet.")
        return
    timeline, table = st.columns([3, 2], gap="large")
    timeline.plotly_chart(charts.journey_timeline(steps), key=f"journey_{entity_id}")
    table.dataframe(
        steps,
        hide_index=True,
        column_config={
            "occurred_at": st.column_config.DatetimeColumn(
                "When (UTC)", format="D MMM YYYY, HH:mm"
            ),
            "event": st.column_config.TextColumn("Event"),
            "entity_type": st.column_config.TextColumn("Entity"),
            "entity_id": st.column_config.TextColumn("Id"),
            "trace_id": None,
        },
    )


def utilization_tab(overview: Overview) -> None:
    trend_col, group_col = st.columns(2, gap="large")
    trend_col.plotly_chart(charts.utilization_trend(overview.utilization_trend), key="util_trend")
    with group_col:
        by = st.segmented_control("By", list(GROUPS), default="Practice", key="util_by")
        column = GROUPS[by or "Practice"]
        groups = kpi_frames.utilization_by(overview.utilization_people, column)
        title = f"Utilization by {column} — {overview.label}"
        chart(charts.utilization_by_group(groups, column, title), "util_groups", "util_drill")
    chosen = drill_box(f"Time entries of one {column}", groups[column].to_list(), "util_drill")
    entries = kpi_frames.records_where(overview.utilization_entries, **{column: chosen})
    records(entries, f"util_records_{column}_{chosen}", {
        "spent_date": st.column_config.DateColumn("Date", format=DAY),
        "person": st.column_config.TextColumn("Person"),
        "customer": st.column_config.TextColumn("Customer"),
        "project_code": st.column_config.TextColumn("Project"),
        "hours": st.column_config.NumberColumn("Hours", format="%.2f"),
        "status": st.column_config.TextColumn("Status"),
        "approved_at": st.column_config.DatetimeColumn("Approved (UTC)", format=WHEN),
    }, "id", "time_entry")  # fmt: skip


def wip_tab(overview: Overview, currency: str) -> None:
    chart(charts.wip_by_bucket(overview.wip, currency), "wip_chart", "wip_drill")
    buckets = [str(b) for b in overview.wip.filter(overview.wip["currency"] == currency)["bucket"]]
    chosen = drill_box("Billing events of one age bucket", buckets, "wip_drill",
                       format_func=lambda b: f"{b} days")  # fmt: skip
    events = kpi_frames.records_where(overview.wip_records, currency=currency, bucket=chosen)
    records(events, f"wip_records_{currency}_{chosen}", {
        "occurred_on": st.column_config.DateColumn("Work date", format=DAY),
        "customer": st.column_config.TextColumn("Customer"),
        "project_code": st.column_config.TextColumn("Project"),
        "person": st.column_config.TextColumn("Person"),
        "quantity": st.column_config.NumberColumn("Hours", format="%.2f"),
        "rate": st.column_config.NumberColumn("Rate", format=MONEY),
        "amount": st.column_config.NumberColumn(f"Amount ({currency})", format=MONEY),
        "age_days": st.column_config.NumberColumn("Age (days)", format="%d"),
    }, "event_id", "billing_event")  # fmt: skip


def cash_tab(overview: Overview, currency: str) -> None:
    st.plotly_chart(charts.dso_trend(overview.dso_trend, currency), key="dso_trend")
    st.markdown(f"**Open invoices — {currency}**: the receivable behind the DSO figure")
    invoices = kpi_frames.records_where(overview.ar_records, currency=currency)
    records(invoices, f"ar_records_{currency}", {
        "number": st.column_config.TextColumn("Invoice"),
        "customer": st.column_config.TextColumn("Customer"),
        "issue_date": st.column_config.DateColumn("Issued", format=DAY),
        "total": st.column_config.NumberColumn(f"Total ({currency})", format=MONEY),
        "paid": st.column_config.NumberColumn("Paid", format=MONEY),
        "due": st.column_config.NumberColumn("Outstanding", format=MONEY),
        "days_outstanding": st.column_config.NumberColumn("Days outstanding", format="%d"),
    }, "invoice_id", "invoice")  # fmt: skip


def cycle_tab(overview: Overview) -> None:
    if overview.cycle.is_empty():
        st.caption(f"No invoice was posted in {overview.label}, so there is no cycle time yet.")
        return
    st.plotly_chart(charts.cycle_stages(overview.cycle), key="cycle_chart")
    st.markdown("**Billed time, slowest first**")
    records(overview.cycle_records, "cycle_records", {
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
    }, "event_id", "billing_event")  # fmt: skip


def leakage_tab(overview: Overview, currency: str) -> None:
    leaks = overview.leakage.filter(overview.leakage["currency"] == currency)
    if leaks.is_empty():
        st.success(f"No revenue leakage in {currency}: approved time is billed, at its rate.")
        return
    chart(charts.leakage_by_kind(overview.leakage, currency), "leak_chart", "leak_drill")
    chosen = drill_box("Time entries of one kind of leakage", leaks["kind"].to_list(), "leak_drill",
                       format_func=lambda k: charts.LEAKAGE_LABELS.get(k, k))  # fmt: skip
    entries = kpi_frames.records_where(overview.leakage_records, currency=currency, kind=chosen)
    records(entries, f"leak_records_{currency}_{chosen}", {
        "spent_date": st.column_config.DateColumn("Date", format=DAY),
        "person": st.column_config.TextColumn("Person"),
        "customer": st.column_config.TextColumn("Customer"),
        "project_code": st.column_config.TextColumn("Project"),
        "hours": st.column_config.NumberColumn("Hours", format="%.2f"),
        "amount": st.column_config.NumberColumn(f"Value ({currency})", format=MONEY),
    }, "id", "time_entry")  # fmt: skip


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
