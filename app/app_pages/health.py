"""Integration health: is every flow running on time, how are the vendors answering, what is stuck.

For integration engineers. Every figure is defined once in :mod:`metrics.health` and read
through :mod:`app.data`; units are in the labels (min, ms, %).
"""

from __future__ import annotations

import streamlit as st

from app import charts, data, labels

EMPTY_STORE = (
    "**No flow has run yet**, so there is no health to report.\n\n"
    "Run `plan2cash sync --once` to run every flow once, or `make demo` to start the sandbox "
    "firm, the sync engine and this dashboard together. Then press **Refresh**."
)
STATE_COLOURS = {
    "on time": "green",
    "stale": "red",
    "never succeeded": "red",
    "no schedule": "gray",
}


def header() -> None:
    left, right = st.columns([6, 1], vertical_alignment="bottom")
    left.title("Integration health")
    if right.button("Refresh", icon=":material/refresh:", width="stretch"):
        data.refresh()


def flow_tiles(report: data.HealthReport) -> None:
    st.subheader("Flows")
    st.caption(
        "Sync lag is the time since a flow last finished successfully; a flow is **stale** when "
        "that is more than 3 × its scheduled interval."
    )
    columns = st.columns(max(4, report.flows.height))
    for column, flow in zip(columns, report.flows.iter_rows(named=True), strict=False):
        with column.container(border=True):
            state = flow["state"]
            limit = flow["stale_after_minutes"]
            st.metric(
                f"{flow['flow']} · sync lag",
                labels.minutes(flow["sync_lag_minutes"]),
                delta=state.capitalize()
                + (f" · limit {labels.minutes(limit)}" if limit is not None else ""),
                delta_color=STATE_COLOURS.get(state, "gray"),  # type: ignore[arg-type]
                delta_arrow="off",
                help="Time since the flow last finished successfully. The limit is 3 × the "
                "flow's scheduled interval.",
            )
            st.caption(
                f"{labels.count(flow['runs'], 'run')}, {flow['failed_runs']:,} failed · "
                f"error rate {labels.percent(flow['run_error_rate'])}"
            )


def flow_table(report: data.HealthReport) -> None:
    st.dataframe(
        report.flows,
        key="flows",
        hide_index=True,
        placeholder="—",
        column_order=[
            "flow",
            "state",
            "runs",
            "failed_runs",
            "run_error_rate",
            "records",
            "exceptions",
            "record_error_rate",
            "records_per_minute",
            "last_ok",
            "sync_lag_minutes",
            "interval_minutes",
        ],
        column_config={
            "flow": st.column_config.TextColumn("Flow", width="small"),
            "state": st.column_config.TextColumn("State"),
            "runs": st.column_config.NumberColumn("Runs", format="%d", width="small"),
            "failed_runs": st.column_config.NumberColumn("Failed runs", format="%d", width="small"),
            "run_error_rate": st.column_config.NumberColumn(
                "Run error rate (%)", format="percent", help="Failed runs ÷ runs."
            ),
            "records": st.column_config.NumberColumn("Records read", format="%d"),
            "exceptions": st.column_config.NumberColumn(
                "Exceptions",
                format="%d",
                width="small",
                help="Exceptions raised by the flow's runs.",
            ),
            "record_error_rate": st.column_config.NumberColumn(
                "Record error rate (%)", format="percent", help="Exceptions ÷ records read."
            ),
            "records_per_minute": st.column_config.NumberColumn(
                "Throughput (records/min)", format="%.1f", help="Records ÷ minutes of run time."
            ),
            "last_ok": st.column_config.DatetimeColumn(
                "Last success (UTC)", format="D MMM YYYY, HH:mm"
            ),
            "sync_lag_minutes": st.column_config.NumberColumn("Sync lag (min)", format="%.1f"),
            "interval_minutes": st.column_config.NumberColumn("Interval (min)", format="%.1f"),
        },
    )


def vendor_section(report: data.HealthReport) -> None:
    st.subheader("Vendor calls")
    if report.vendors.is_empty():
        st.caption("No vendor calls recorded yet.")
        return
    st.dataframe(
        report.vendors,
        key="vendors",
        hide_index=True,
        column_config={
            "vendor": st.column_config.TextColumn("Vendor"),
            "calls": st.column_config.NumberColumn("Calls", format="%d"),
            "p50_ms": st.column_config.NumberColumn("p50 (ms)", format="%.0f"),
            "p95_ms": st.column_config.NumberColumn("p95 (ms)", format="%.0f"),
            "p99_ms": st.column_config.NumberColumn("p99 (ms)", format="%.0f"),
            "retries": st.column_config.NumberColumn(
                "Retries", format="%d", help="Calls that were a second or later attempt."
            ),
            "throttled": st.column_config.NumberColumn(
                "429s", format="%d", help="Calls the vendor refused as too many requests."
            ),
            "errors": st.column_config.NumberColumn(
                "Errors", format="%d", help="Calls that failed (timeouts, 5xx, refused)."
            ),
        },
    )
    per_vendor, over_time = st.columns(2, gap="large")
    per_vendor.plotly_chart(charts.vendor_latency(report.vendors), key="vendor_latency")
    over_time.plotly_chart(charts.latency_trend(report.latency), key="latency_trend")


def exceptions_section(report: data.HealthReport) -> None:
    st.subheader("Open exceptions")
    if report.open_exceptions.is_empty():
        st.success("No open exceptions.")
        return
    st.caption("Per flow, category and currency. Open the Exceptions page to triage them.")
    st.dataframe(
        report.open_exceptions,
        key="open_exceptions",
        hide_index=True,
        placeholder="—",
        column_order=[
            "flow",
            "category",
            "open",
            "oldest_days",
            "value_at_risk",
            "currency",
            "link",
        ],
        column_config={
            "flow": st.column_config.TextColumn("Flow"),
            "category": st.column_config.TextColumn("Category"),
            "open": st.column_config.NumberColumn("Open", format="%d"),
            "oldest_days": st.column_config.NumberColumn("Oldest (days)", format="%.1f"),
            "value_at_risk": st.column_config.NumberColumn("Value at risk", format="accounting"),
            "currency": st.column_config.TextColumn("Currency", width="small"),
            "link": st.column_config.LinkColumn("Triage", display_text="Open in Exceptions"),
        },
    )


def failed_runs_section(report: data.HealthReport) -> None:
    st.subheader("Recent failed runs")
    if report.failed_runs.is_empty():
        st.success("No failed runs.")
        return
    st.dataframe(
        report.failed_runs,
        key="failed_runs",
        hide_index=True,
        placeholder="—",
        column_config={
            "flow": st.column_config.TextColumn("Flow"),
            "started_at": st.column_config.DatetimeColumn(
                "Started (UTC)", format="D MMM YYYY, HH:mm:ss"
            ),
            "finished_at": st.column_config.DatetimeColumn(
                "Finished (UTC)", format="D MMM YYYY, HH:mm:ss"
            ),
            "error": st.column_config.TextColumn("Error", width="large"),
            "trace_id": st.column_config.TextColumn("Trace id"),
        },
    )


header()
report = data.integration_health()
st.caption(
    f"Source: plan2cash store `{data.store_label()}` · as of "
    f"{report.fetched_at:%d %b %Y %H:%M} UTC · all runs and vendor calls in the store"
)
if report.empty:
    st.info(EMPTY_STORE, icon=":material/hourglass_empty:")
else:
    flow_tiles(report)
    flow_table(report)
    vendor_section(report)
    exceptions_section(report)
    failed_runs_section(report)
