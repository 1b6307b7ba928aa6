from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import polars as pl
import pytest

from metrics.health import flow_health, open_exceptions, vendor_calls
from metrics.leakage import revenue_leakage
from metrics.load import EXCEPTIONS, RUNS
from tests.metrics.frames import Columns, frame

ENTRY: Columns = {"spent_date": pl.Date, "hours": pl.Float64, "currency": pl.String}
FLAGS: Columns = {"approved": pl.Boolean, "billable": pl.Boolean}
RATES: Columns = {
    "expected_rate": pl.Float64,
    "billed_rate": pl.Float64,
    "on_closed_project": pl.Boolean,
}


def entries(*rows: tuple[date, float, bool, float, float | None, bool]) -> pl.DataFrame:
    """Billable USD entries: (day, hours, approved, expected rate, billed rate, closed project)."""
    return frame(
        ENTRY | FLAGS | RATES, [(d, h, "USD", a, True, r, b, c) for d, h, a, r, b, c in rows]
    )


def test_each_kind_of_leakage_valued_in_money() -> None:
    frame = entries(
        (date(2026, 5, 10), 8, True, 200, None, False),  # May closed + 15 days < 20 Jun: leak
        (date(2026, 6, 3), 8, True, 200, None, False),  # June not closed: not yet leakage
        (date(2026, 5, 11), 5, True, 200, 180, False),  # under-billed by 20 × 5
        (date(2026, 5, 12), 5, True, 200, 220, False),  # over-billed: not leakage
        (date(2026, 5, 13), 3, True, 150, None, True),  # on a closed project
        (date(2026, 5, 14), 9, False, 150, None, False),  # not approved
    )
    out = revenue_leakage(frame, as_of=date(2026, 6, 20), grace_days=15)
    got = {r["kind"]: r["amount"] for r in out.iter_rows(named=True)}
    assert got == {"approved_not_billed": 1600.0, "wrong_rate": 100.0, "closed_project": 450.0}


def test_leakage_waits_for_the_grace_period() -> None:
    frame = entries((date(2026, 5, 10), 8, True, 200, None, False))
    assert revenue_leakage(frame, as_of=date(2026, 6, 10), grace_days=15).height == 0


NOW = datetime(2026, 6, 30, 12, tzinfo=UTC)


def test_flow_health_counts_runs_errors_throughput_and_lag() -> None:
    runs = frame(
        RUNS,
        [
            (
                "billable",
                NOW - timedelta(minutes=30),
                NOW - timedelta(minutes=29),
                "succeeded",
                600,
                6,
            ),
            ("billable", NOW - timedelta(minutes=10), NOW - timedelta(minutes=9), "failed", 0, 0),
            ("billable", NOW - timedelta(minutes=5), None, "running", 0, 0),
        ],
    )
    row = flow_health(runs, now=NOW).row(0, named=True)
    assert (row["runs"], row["failed_runs"], row["run_error_rate"]) == (2, 1, 0.5)
    assert row["record_error_rate"] == 0.01 and row["records_per_minute"] == 300.0
    assert row["sync_lag_minutes"] == 29.0


def test_vendor_call_latency_retries_and_throttling() -> None:
    spans = pl.DataFrame(
        {
            "kind": ["client"] * 4 + ["internal"],
            "name": ["x"] * 5,
            "duration_ms": [10.0, 20.0, 30.0, 400.0, 9999.0],
            "status": ["unset", "unset", "error", "unset", "unset"],
            "attributes": [
                {"vendor": "xero", "attempt": 1, "http.status_code": 200},
                {"vendor": "xero", "attempt": 2, "http.status_code": 200},
                {"vendor": "xero", "attempt": 1, "http.status_code": 429},
                {"vendor": "xero", "attempt": 1, "http.status_code": 200},
                {"vendor": None, "attempt": None, "http.status_code": None},
            ],
        }
    )
    row = vendor_calls(spans).row(0, named=True)
    assert (row["vendor"], row["calls"], row["retries"], row["throttled"], row["errors"]) == (
        "xero",
        4,
        1,
        1,
        1,
    )
    assert row["p50_ms"] == pytest.approx(30.0) and row["p99_ms"] == pytest.approx(400.0)


def exceptions(*rows: tuple[str, datetime, Decimal | None, str | None]) -> pl.DataFrame:
    """Billable ``negative_hours`` exceptions: (status, first seen, value at risk, currency)."""
    return frame(EXCEPTIONS, [("billable", "negative_hours", *row) for row in rows])


def test_open_exceptions_by_category_with_age_and_value() -> None:
    rows = exceptions(
        ("open", NOW - timedelta(days=3), Decimal(100), "USD"),
        ("open", NOW - timedelta(days=1), Decimal(50), "USD"),
        ("resolved", NOW - timedelta(days=9), Decimal(7), "USD"),
    )
    row = open_exceptions(rows, now=NOW).row(0, named=True)
    assert (row["open"], row["oldest_days"], row["value_at_risk"]) == (2, 3.0, Decimal(150))


def test_an_unknown_value_at_risk_is_not_reported_as_zero() -> None:
    rows = exceptions(("open", NOW, None, None))
    assert open_exceptions(rows, now=NOW)["value_at_risk"].to_list() == [None]
