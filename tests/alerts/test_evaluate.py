"""Each kind evaluated over literal frames: what fires, its labels, value, money, causes, link."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import polars as pl

import metrics
from alerts.evaluate import evaluate
from alerts.inputs import ClosePeriod, Inputs, kpi_query
from alerts.rules import load_rules
from metrics import load

NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)
URL = "http://dash.example"


def run(inputs: Inputs, **table: Any) -> Any:
    rules = load_rules([{"name": "r", **table}])
    (result,) = evaluate(rules, inputs, NOW, URL)
    assert result.error is None, result.error
    return result


def report(**frames: pl.DataFrame) -> metrics.KpiReport:
    empty = pl.DataFrame()
    names = ("utilization", "realization", "wip", "cycle_time", "dso", "approvals",
             "unapproved", "margin", "flows", "exceptions", "headline")  # fmt: skip
    return metrics.KpiReport(
        as_of=NOW.date(), grain="month", period=(date(2026, 3, 1), NOW.date()),
        previous_period=(date(2026, 2, 1), date(2026, 2, 28)), by="practice", where={},
        source="raw", **{n: frames.get(n, empty) for n in names},
    )  # fmt: skip


def test_kpi_utilization_below_65_percent_per_practice() -> None:
    headline = pl.DataFrame(
        {"kpi": ["utilization"] * 2, "unit": ["share"] * 2, "currency": [None, None],
         "practice": ["Data", "Cloud"], "value": [0.58, 0.71]},
        schema_overrides={"currency": pl.String},
    )  # fmt: skip
    table = {"kind": "kpi", "kpi": "utilization", "by": "practice", "below": 65,
             "summary": "{practice} at {value}{unit}"}  # fmt: skip
    rule = load_rules([{"name": "r", **table}]).rules[0]
    inputs = Inputs(now=NOW, kpis={kpi_query(rule): report(headline=headline)})  # type: ignore[arg-type]
    (alert,) = run(inputs, **table).alerts
    assert alert.labels == {
        "rule": "r",
        "severity": "ticket",
        "kpi": "utilization",
        "practice": "Data",
    }
    assert alert.value == 58.0 and alert.threshold == 65 and alert.summary == "Data at 58%"
    assert alert.link == f"{URL}/?grain=Month"


def test_kpi_wip_aged_61_90_above_an_amount_carries_the_money() -> None:
    wip = pl.DataFrame(
        {"currency": ["USD", "USD", "EUR"], "bucket": ["61–90", "0–30", "61–90"],
         "amount": [12500.0, 90000.0, 800.0], "hours": [50.0, 300.0, 4.0], "events": [5, 30, 1]},
    )  # fmt: skip
    table = {"kind": "kpi", "kpi": "wip", "bucket": "61–90", "above": 10000}
    rule = load_rules([{"name": "r", **table}]).rules[0]
    inputs = Inputs(now=NOW, kpis={kpi_query(rule): report(wip=wip)})  # type: ignore[arg-type]
    (alert,) = run(inputs, **table).alerts
    assert (alert.value_at_risk, alert.currency) == (Decimal("12500.0"), "USD")
    assert alert.labels["bucket"] == "61–90" and alert.link == f"{URL}/billing?grain=Month"


def exceptions(*rows: tuple[str, str, str, timedelta, float | None, str | None]) -> pl.DataFrame:
    return pl.DataFrame(
        [(f, c, s, NOW - ago, v, cur) for f, c, s, ago, v, cur in rows],
        schema=load.EXCEPTIONS, orient="row",
    )  # fmt: skip


DAY = timedelta(days=1)
EXCEPTIONS = exceptions(
    ("billable", "rate_card_missing", "open", 2 * DAY, 30000.0, "EUR"),
    ("billable", "rate_card_missing", "retrying", DAY, 12000.0, "EUR"),
    ("billable", "no_assignment", "open", DAY, 500.0, "EUR"),
    ("billable", "no_assignment", "resolved", DAY, 90000.0, "EUR"),
    ("outbox", "erp_rejected", "open", DAY, 2000.0, "USD"),
)


def test_exceptions_value_at_risk_per_category_and_currency() -> None:
    result = run(Inputs(now=NOW, exceptions=EXCEPTIONS), kind="exceptions", by=["category"],
                 value_at_risk_above=10000)  # fmt: skip
    (alert,) = result.alerts
    assert alert.labels["category"] == "rate_card_missing" and alert.currency == "EUR"
    assert alert.value == 42000 and alert.value_at_risk == Decimal("42000.0")
    assert alert.link == f"{URL}/exceptions?category=rate_card_missing&status=open"
    assert alert.causes[0].label == "rate_card_missing" and "2 open" in alert.causes[0].detail


def test_exceptions_count_of_a_flow_lists_top_causes() -> None:
    (alert,) = run(Inputs(now=NOW, exceptions=EXCEPTIONS), kind="exceptions", flow="billable",
                   count_above=2).alerts  # fmt: skip
    assert alert.value == 3 and alert.labels["flow"] == "billable"
    assert [c.label for c in alert.causes] == ["rate_card_missing", "no_assignment"]
    assert alert.link == f"{URL}/exceptions?flow=billable&status=open"


def test_exceptions_surge_against_the_baseline() -> None:
    old = [("billable", "over_24h", "resolved", DAY * (1 + i / 10), None, None) for i in range(14)]
    new = [
        ("billable", "over_24h", "open", timedelta(minutes=5 + i), None, None) for i in range(12)
    ]
    inputs = Inputs(now=NOW, exceptions=exceptions(*old, *new))
    (alert,) = run(
        inputs, kind="exceptions", surge=3, window="1h", baseline="7d", min_new=10
    ).alerts
    assert alert.value == 12 / (14 / (7 * 24)) and alert.unit == "×"
    quiet = run(inputs, kind="exceptions", surge=3, window="1h", baseline="7d", min_new=20)
    assert quiet.alerts == ()


def test_staleness_is_k_times_the_interval() -> None:
    runs = pl.DataFrame(
        [("billable", NOW - DAY, NOW, NOW - timedelta(minutes=4)),
         ("outbox", NOW - DAY, NOW, NOW - timedelta(minutes=1)),
         ("invoicing", NOW - timedelta(minutes=30), NOW, None)],
        schema=load.LAST_RUNS, orient="row",
    )  # fmt: skip
    inputs = Inputs(
        now=NOW, last_runs=runs, intervals={"billable": 60, "outbox": 30, "invoicing": 120}
    )
    alerts = run(inputs, kind="staleness", multiple=3).alerts
    assert {a.labels["flow"]: a.value for a in alerts} == {"billable": 4.0, "invoicing": 30.0}
    assert "never succeeded" in alerts[1].causes[0].detail and alerts[0].link == f"{URL}/health"


SPANS: dict[str, Any] = {
    "kind": pl.String, "name": pl.String, "duration_ms": pl.Float64, "status": pl.String,
    "attributes": pl.Struct(
        {"vendor": pl.String, "attempt": pl.Int64, "http.status_code": pl.Int64}
    ),
    "start_time": pl.Datetime("us", "UTC"),
}  # fmt: skip


def spans(
    vendor: str, count: int, errors: int, throttled: int, ms: float, ago: timedelta
) -> list[Any]:
    return [
        ("client", "GET", ms, "error" if i < errors else "ok",
         {"vendor": vendor, "attempt": 1, "http.status_code": 429 if i < throttled else 200},
         NOW - ago)
        for i in range(count)
    ]  # fmt: skip


def test_vendor_error_rate_over_its_window() -> None:
    frame = pl.DataFrame(
        spans("xero", 20, 10, 4, 100, timedelta(minutes=5))
        + spans("harvest", 20, 1, 0, 100, timedelta(minutes=5))
        + spans("harvest", 20, 20, 0, 100, timedelta(hours=2)),  # outside the window
        schema=SPANS, orient="row",
    )  # fmt: skip
    inputs = Inputs(now=NOW, spans=frame)
    (alert,) = run(inputs, kind="vendor", metric="error_rate", above=20, window="15m").alerts
    assert alert.labels["vendor"] == "xero" and alert.value == 50.0
    (throttled,) = run(inputs, kind="vendor", metric="throttled_share", above=10).alerts
    assert throttled.value == 20.0


def test_slo_pages_on_a_fast_burn_of_invoices_not_posted() -> None:
    created = [NOW - timedelta(hours=2) + i * timedelta(minutes=1) for i in range(60)]
    events = pl.DataFrame(
        {"start": created, "done": [c + timedelta(minutes=5) if i < 40 else None
                                    for i, c in enumerate(created)]},
        schema={"start": pl.Datetime("us", "UTC"), "done": pl.Datetime("us", "UTC")},
    )  # fmt: skip
    inputs = Inputs(now=NOW, sli_events={"posted_within_1h": events})
    (alert,) = run(inputs, kind="slo", sli="posted_within_1h", severity="page").alerts
    assert alert.labels["sli"] == "posted_within_1h" and alert.unit == "×"
    assert alert.value >= 14.4 and alert.link == f"{URL}/billing"
    assert any(c.label == "error budget" for c in alert.causes)


def test_close_risk_only_in_the_days_before_the_cutoff() -> None:
    time = pl.DataFrame(
        [("t1", "p1", date(2026, 2, 20), 120.0, True, "submitted", None, None, None, None),
         ("t2", "p2", date(2026, 2, 21), 30.0, True, "submitted", None, None, None, None)],
        schema=load.APPROVED_TIME, orient="row",
    )  # fmt: skip
    projects = pl.DataFrame({"project_id": ["p1", "p2"], "practice": ["Data", "Cloud"]})
    close = ClosePeriod(start=date(2026, 2, 1), end=date(2026, 2, 28), cutoff=date(2026, 3, 3),
                        time=time, invoices=pl.DataFrame(schema=load.INVOICE_DELIVERIES),
                        projects=projects)  # fmt: skip
    table = {
        "kind": "close_risk",
        "days_before": 3,
        "by": "practice",
        "unapproved_hours_above": 100,
    }
    assert run(Inputs(now=NOW, close=close), **table).alerts == ()  # cut-off passed
    early = datetime(2026, 3, 1, 9, tzinfo=UTC)
    rules = load_rules([{"name": "r", **table}])
    (result,) = evaluate(rules, Inputs(now=early, close=close), early, URL)
    (alert,) = result.alerts
    assert alert.labels["practice"] == "Data" and alert.value == 120.0
    assert alert.labels["period"] == "February 2026"


def test_a_rule_whose_data_is_missing_evaluates_to_an_error() -> None:
    rules = load_rules([{"name": "a", "kind": "staleness"}, {"name": "b", "kind": "exceptions",
                                                            "count_above": 0}])  # fmt: skip
    inputs = Inputs(now=NOW, exceptions=EXCEPTIONS, errors={"runs": "reading runs failed: boom"})
    stale, counted = evaluate(rules, inputs, NOW, URL)
    assert stale.alerts == () and "boom" in (stale.error or "")
    assert counted.error is None and counted.alerts
