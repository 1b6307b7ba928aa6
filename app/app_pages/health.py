"""Integration health: is every flow running on time, how is each ERP and vendor answering, what
is stuck.

For integration engineers. Every figure is defined once in :mod:`metrics.health` and read
through :mod:`app.data`; units are in the labels (min, ms, %).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import polars as pl
import streamlit as st

from app import charts, data, labels
from app.views import columns, erp_sections, page

STATE_COLOURS = {
    "on time": "green",
    "stale": "red",
    "never succeeded": "red",
    "no schedule": "gray",
}
FLOWS = columns.table(
    "flow", "state", "runs", "failed_runs", "run_error_rate", "records", "exceptions",
    "record_error_rate", "records_per_minute", "last_ok", "sync_lag_minutes", "interval_minutes",
    flow=columns.text("Flow", width="small"),
    state=columns.text("State"),
    runs=columns.number("Runs", "%d", width="small"),
    failed_runs=columns.number("Failed runs", "%d", width="small"),
    run_error_rate=columns.number("Run error rate (%)", "percent", help="Failed runs ÷ runs."),
    records=columns.number("Records read", "%d"),
    exceptions=columns.number(
        "Exceptions", "%d", width="small", help="Exceptions raised by the flow's runs."
    ),
    record_error_rate=columns.number(
        "Record error rate (%)", "percent", help="Exceptions ÷ records read."
    ),
    records_per_minute=columns.number(
        "Throughput (records/min)", "%.1f", help="Records ÷ minutes of run time."
    ),
    last_ok=columns.when("Last success (UTC)"),
    sync_lag_minutes=columns.number("Sync lag (min)", "%.1f"),
    interval_minutes=columns.number("Interval (min)", "%.1f"),
)  # fmt: skip
VENDORS = columns.table(
    "vendor", "calls", "p50_ms", "p95_ms", "p99_ms", "retries", "throttled", "errors",
    vendor=columns.text("Vendor"),
    calls=columns.number("Calls", "%d"),
    p50_ms=columns.number("p50 (ms)", "%.0f"),
    p95_ms=columns.number("p95 (ms)", "%.0f"),
    p99_ms=columns.number("p99 (ms)", "%.0f"),
    retries=columns.number("Retries", "%d", help="Calls that were a second or later attempt."),
    throttled=columns.number("429s", "%d", help="Calls the vendor refused as too many requests."),
    errors=columns.number("Errors", "%d", help="Calls that failed (timeouts, 5xx, refused)."),
)  # fmt: skip
OPEN_EXCEPTIONS = columns.table(
    "flow", "category", "open", "oldest_days", "value_at_risk", "currency", "link",
    open=columns.number("Open", "%d"),
    oldest_days=columns.number("Oldest (days)", "%.1f"),
    link=st.column_config.LinkColumn("Triage", display_text="Open in Exceptions"),
)  # fmt: skip
FAILED_RUNS = columns.table(
    "flow", "started_at", "finished_at", "error", "trace_id",
    started_at=columns.when("Started (UTC)", columns.WHEN_EXACT),
    finished_at=columns.when("Finished (UTC)", columns.WHEN_EXACT),
    error=columns.text("Error", width="large"),
)  # fmt: skip


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
    columns.dataframe(report.flows, FLOWS, key="flows")


def _headed(title: str, frame: pl.DataFrame, say: Callable[[str], Any], empty: str) -> bool:
    """A section's heading; with no rows in ``frame``, ``empty`` said (``say``) and ``False``."""
    st.subheader(title)
    if frame.is_empty():
        say(empty)
        return False
    return True


def vendor_section(report: data.HealthReport) -> None:
    if not _headed("Vendor calls", report.vendors, st.caption, "No vendor calls recorded yet."):
        return
    st.dataframe(report.vendors, key="vendors", hide_index=True, column_config=VENDORS)
    per_vendor, over_time = st.columns(2, gap="large")
    per_vendor.plotly_chart(charts.vendor_latency(report.vendors), key="vendor_latency")
    over_time.plotly_chart(charts.latency_trend(report.latency), key="latency_trend")


def exceptions_section(report: data.HealthReport) -> None:
    if not _headed("Open exceptions", report.open_exceptions, st.success, "No open exceptions."):
        return
    st.caption("Per flow, category and currency. Open the Exceptions page to triage them.")
    columns.dataframe(report.open_exceptions, OPEN_EXCEPTIONS, key="open_exceptions")


def failed_runs_section(report: data.HealthReport) -> None:
    if not _headed("Recent failed runs", report.failed_runs, st.success, "No failed runs."):
        return
    st.dataframe(
        report.failed_runs,
        key="failed_runs",
        hide_index=True,
        placeholder="—",
        column_config=FAILED_RUNS,
    )


page.header("Integration health")
report = data.integration_health()
st.caption(
    f"Source: plan2cash store `{data.store_label()}` · as of "
    f"{report.fetched_at:%d %b %Y %H:%M} UTC · all runs and vendor calls in the store"
)
if report.empty:
    page.empty_store(
        "**No flow has run yet**, so there is no health to report.",
        "run every flow once",
    )
else:
    flow_tiles(report)
    flow_table(report)
    erp_sections.health_section(data.erp_report())
    vendor_section(report)
    exceptions_section(report)
    failed_runs_section(report)
