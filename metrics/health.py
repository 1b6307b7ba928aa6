"""Integration health per connector and flow, from the engine's own records.

- throughput: records processed per minute of flow run time;
- error rate: failed runs ÷ runs, and exceptions raised ÷ records read;
- latency p50/p95/p99 of vendor calls (client spans), retries (attempt > 1) and 429s;
- sync lag: minutes since the flow last finished successfully;
- open exceptions by category, with count, oldest age and value at risk per currency.
"""

from __future__ import annotations

from datetime import datetime

import polars as pl

from sync.store import OPEN_STATUSES, RunStatus


def flow_health(runs: pl.DataFrame, *, now: datetime) -> pl.DataFrame:
    """``runs``: flow, started_at, finished_at, status, records_in, exceptions."""
    minutes = (pl.col("finished_at") - pl.col("started_at")).dt.total_milliseconds() / 60_000
    return (
        runs.filter(pl.col("finished_at").is_not_null())
        .group_by("flow")
        .agg(
            pl.len().alias("runs"),
            (pl.col("status") == RunStatus.FAILED).sum().alias("failed_runs"),
            pl.col("records_in").sum().alias("records"),
            pl.col("exceptions").sum().alias("exceptions"),
            minutes.sum().alias("run_minutes"),
            pl.col("finished_at")
            .filter(pl.col("status") == RunStatus.SUCCEEDED)
            .max()
            .alias("last_ok"),
        )
        .with_columns(
            (pl.col("failed_runs") / pl.col("runs")).alias("run_error_rate"),
            pl.when(pl.col("records") > 0)
            .then(pl.col("exceptions") / pl.col("records"))
            .alias("record_error_rate"),
            pl.when(pl.col("run_minutes") > 0)
            .then(pl.col("records") / pl.col("run_minutes"))
            .alias("records_per_minute"),
            ((pl.lit(now) - pl.col("last_ok")).dt.total_seconds() / 60).alias("sync_lag_minutes"),
        )
        .sort("flow")
    )


def vendor_calls(spans: pl.DataFrame) -> pl.DataFrame:
    """``spans``: kind, name, duration_ms, status, attributes (dict with vendor, attempt,
    http.status_code). Latency percentiles, retries and 429s per vendor."""
    calls = spans.filter(pl.col("kind") == "client").with_columns(
        pl.col("attributes").struct.field("vendor").alias("vendor"),
        pl.col("attributes").struct.field("attempt").alias("attempt"),
        pl.col("attributes").struct.field("http.status_code").alias("status_code"),
    )
    return (
        calls.group_by("vendor")
        .agg(
            pl.len().alias("calls"),
            pl.col("duration_ms").quantile(0.50).alias("p50_ms"),
            pl.col("duration_ms").quantile(0.95).alias("p95_ms"),
            pl.col("duration_ms").quantile(0.99).alias("p99_ms"),
            (pl.col("attempt").fill_null(1) > 1).sum().alias("retries"),
            (pl.col("status_code") == 429).sum().alias("throttled"),
            (pl.col("status") == "error").sum().alias("errors"),
        )
        .sort("vendor")
    )


def open_exceptions(exceptions: pl.DataFrame, *, now: datetime) -> pl.DataFrame:
    """``exceptions``: flow, category, status, first_seen, value_at_risk, currency."""
    return (
        exceptions.filter(pl.col("status").is_in(OPEN_STATUSES))
        .with_columns(((pl.lit(now) - pl.col("first_seen")).dt.total_hours() / 24).alias("age"))
        .group_by("flow", "category", "currency")
        .agg(
            pl.len().alias("open"),
            pl.col("age").max().alias("oldest_days"),
            # unknown stays unknown: a sum over no known values is null, not 0
            pl.when(pl.col("value_at_risk").count() > 0)
            .then(pl.col("value_at_risk").sum())
            .alias("value_at_risk"),
        )
        .sort("flow", "category", "currency", nulls_last=True)
    )
