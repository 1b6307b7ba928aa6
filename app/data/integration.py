"""Integration health: runs, failures and open exceptions per flow, cached for
``TTL_SECONDS``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import polars as pl
import streamlit as st

from app import frames
from app.data.store import (
    EXCEPTIONS_URL,
    TTL_SECONDS,
    engine,
    settings,
)
from metrics import health, load
from sync.scheduler import intervals
from sync.store import dashboard


@dataclass(frozen=True)
class HealthReport:
    """Integration health from the engine's own records (runs, vendor call spans, exceptions)."""

    fetched_at: datetime
    flows: pl.DataFrame  # metrics.health.flow_health + interval_minutes, stale_after, state
    vendors: pl.DataFrame  # vendor, calls, p50_ms, p95_ms, p99_ms, retries, throttled, errors
    latency: pl.DataFrame  # bucket, vendor, p95_ms, calls
    open_exceptions: (
        pl.DataFrame
    )  # flow, category, currency, open, oldest_days, value_at_risk, link
    failed_runs: pl.DataFrame  # flow, started_at, finished_at, error, trace_id

    @property
    def empty(self) -> bool:
        """No flow has run and no vendor has been called yet."""
        return self.flows.is_empty() and self.vendors.is_empty()


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def integration_health(failed_limit: int = 20) -> HealthReport:
    """Per flow, per vendor and per exception category, as :mod:`metrics.health` defines them."""
    now = datetime.now(UTC)
    with engine().connect() as connection:
        runs = load.runs(connection)
        spans = load.client_spans(connection)
        exceptions = load.exceptions(connection)
        calls = dashboard.client_call_times(connection)
        failed = dashboard.failed_runs(connection, failed_limit)
    schedule = intervals(settings().schedule)
    return HealthReport(
        fetched_at=now,
        flows=frames.flow_status(health.flow_health(runs, now=now), schedule),
        vendors=health.vendor_calls(spans),
        latency=frames.latency_over_time(calls),
        open_exceptions=frames.open_exception_table(
            health.open_exceptions(exceptions, now=now), triage_url=EXCEPTIONS_URL
        ),
        failed_runs=failed,
    )
