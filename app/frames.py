"""Pure frame transformations behind the dashboard: frames in, frames out, no I/O, no streamlit.

Every money column here is in one currency per row: aggregations always group by ``currency``
so that amounts in different currencies are never added together.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime

import polars as pl

AGE_BUCKETS: tuple[str, ...] = ("0–30 days", "31–60 days", "61–90 days", "90+ days")
"""WIP age buckets (DESIGN §7), youngest first; age = as_of − occurred_on in days."""

NOT_INVOICED = "not invoiced"


def age_bucket(age_days: pl.Expr) -> pl.Expr:
    """The bucket label for an age in days; future-dated work (negative age) counts as 0–30."""
    return (
        pl.when(age_days <= 30)
        .then(pl.lit(AGE_BUCKETS[0]))
        .when(age_days <= 60)
        .then(pl.lit(AGE_BUCKETS[1]))
        .when(age_days <= 90)
        .then(pl.lit(AGE_BUCKETS[2]))
        .otherwise(pl.lit(AGE_BUCKETS[3]))
        .cast(pl.Enum(AGE_BUCKETS))
    )


def wip_by_age(wip: pl.DataFrame, *, as_of: date) -> pl.DataFrame:
    """Un-invoiced work per age bucket and currency.

    ``wip`` has ``occurred_on`` (date), ``currency``, ``amount``, ``hours`` and ``events``
    (a count), at any grain (one row per event, or pre-aggregated per day). Returns ``bucket``
    (ordered enum), ``currency``, ``amount``, ``hours``, ``events``: every bucket for every
    currency present, zero where empty, sorted by currency then bucket.
    """
    age = (pl.lit(as_of) - pl.col("occurred_on")).dt.total_days()
    sums = (
        wip.with_columns(bucket=age_bucket(age))
        .group_by("currency", "bucket")
        .agg(pl.col("amount").sum(), pl.col("hours").sum(), pl.col("events").sum())
    )
    # every bucket for every currency, so that an empty bucket reads as zero, not as missing
    grid = wip.select(pl.col("currency").unique()).join(
        pl.DataFrame({"bucket": AGE_BUCKETS}, schema={"bucket": pl.Enum(AGE_BUCKETS)}), how="cross"
    )
    return (
        grid.join(sums, on=["currency", "bucket"], how="left")
        .with_columns(pl.col("amount", "hours").fill_null(0.0), pl.col("events").fill_null(0))
        .sort("currency", "bucket")
        .select("bucket", "currency", "amount", "hours", "events")
    )


def weekly_billable(daily: pl.DataFrame) -> pl.DataFrame:
    """Billable value per ISO week (Monday start) and currency, from ``occurred_on``, ``amount``."""
    return (
        daily.with_columns(week=pl.col("occurred_on").dt.truncate("1w"))
        .group_by("currency", "week")
        .agg(pl.col("amount").sum())
        .sort("currency", "week")
        .select("week", "currency", "amount")
    )


def monthly_invoiced(invoices: pl.DataFrame) -> pl.DataFrame:
    """Invoiced value per service month (``period_start``), currency and status."""
    return (
        invoices.with_columns(month=pl.col("period_start").dt.truncate("1mo"))
        .group_by("currency", "month", "status")
        .agg(pl.col("total").sum().alias("amount"), pl.len().alias("invoices"))
        .sort("currency", "month", "status")
        .select("month", "currency", "status", "amount", "invoices")
    )


def with_invoice_label(events: pl.DataFrame) -> pl.DataFrame:
    """Replace a null ``invoice_number`` by the words "not invoiced" for display."""
    return events.with_columns(pl.col("invoice_number").fill_null(NOT_INVOICED))


def invoice_lines(lines: list[dict[str, object]] | None) -> pl.DataFrame:
    """An invoice's stored ``lines`` JSON as a frame: description, quantity, unit amount, amount."""
    schema = {
        "description": pl.String,
        "quantity": pl.Float64,
        "unit_amount": pl.Float64,
        "amount": pl.Float64,
    }
    rows = [
        {
            "description": str(line.get("description", "")),
            "quantity": _number(line.get("quantity")),
            "unit_amount": _number(line.get("unit_amount")),
            "amount": _number(line.get("amount")),
        }
        for line in lines or []
    ]
    return pl.DataFrame(rows, schema=schema)


def _number(value: object) -> float | None:
    """JSON keeps money as strings ("150.00") or numbers; both become floats for display."""
    if value is None or value == "":
        return None
    return float(str(value))


def kpi_table(
    *,
    wip: pl.DataFrame,
    posted_this_month: pl.DataFrame,
    posted_to_date: pl.DataFrame,
    pending_delivery: pl.DataFrame,
    value_at_risk: pl.DataFrame,
) -> pl.DataFrame:
    """One row per currency with every money KPI side by side; a missing KPI is zero.

    Inputs are ``currency``/``amount``/``count`` frames (``wip`` also has ``hours``). Output
    columns: ``currency``, ``wip``, ``wip_hours``, ``wip_events``, ``posted_month``,
    ``posted_month_invoices``, ``posted``, ``posted_invoices``, ``pending``, ``pending_invoices``,
    ``at_risk``, ``at_risk_exceptions``.
    """
    parts = {
        "wip": wip.rename({"hours": "wip_hours"}),
        "posted_month": posted_this_month,
        "posted": posted_to_date,
        "pending": pending_delivery,
        "at_risk": value_at_risk,
    }
    counts = {
        "wip": "wip_events",
        "posted_month": "posted_month_invoices",
        "posted": "posted_invoices",
        "pending": "pending_invoices",
        "at_risk": "at_risk_exceptions",
    }
    currencies = pl.concat([p.select(pl.col("currency").cast(pl.String)) for p in parts.values()])
    table = currencies.unique().drop_nulls().sort("currency")
    for name, part in parts.items():
        renamed = part.rename({"amount": name, "count": counts[name]})
        table = table.join(renamed, on="currency", how="left")
    return table.with_columns(pl.exclude("currency").fill_null(0))


# --- operations: exceptions and integration health ----------------------------------------------

STALE_AFTER_INTERVALS = 3
"""A flow is stale when its last success is older than this many of its scheduled intervals."""


def with_age(exceptions: pl.DataFrame, *, now: datetime) -> pl.DataFrame:
    """Add ``age_days``: days (fractional) since the exception was first seen."""
    age = (pl.lit(now) - pl.col("first_seen")).dt.total_seconds() / 86_400
    return exceptions.with_columns(age_days=age)


def open_by_category(open_exceptions: pl.DataFrame) -> pl.DataFrame:
    """Open exceptions per category, most first: ``category``, ``open``, ``oldest_days``.

    ``open_exceptions`` is :func:`metrics.health.open_exceptions` output (one row per flow,
    category and currency).
    """
    return (
        open_exceptions.group_by("category")
        .agg(pl.col("open").sum(), pl.col("oldest_days").max())
        .sort(["open", "category"], descending=[True, False])
    )


def at_risk_by_category(open_exceptions: pl.DataFrame) -> pl.DataFrame:
    """Value at risk of open exceptions per category and currency (amounts never cross
    currencies): ``category``, ``currency``, ``amount`` (float), ``count``."""
    return (
        open_exceptions.filter(pl.col("currency").is_not_null())
        .group_by("category", "currency")
        .agg(
            pl.col("value_at_risk").cast(pl.Float64).sum().alias("amount"),
            pl.col("open").sum().alias("count"),
        )
        .sort("currency", "amount", descending=[False, True])
    )


def open_exception_table(open_exceptions: pl.DataFrame, *, triage_url: str) -> pl.DataFrame:
    """:func:`metrics.health.open_exceptions` output with money as floats, for display, and a
    ``link`` to the triage page filtered to the row's category (``<triage_url>?category=…``)."""
    money = pl.col("value_at_risk").cast(pl.Float64)
    return open_exceptions.with_columns(
        # a sum over exceptions without a currency is no amount at all, not zero
        value_at_risk=pl.when(pl.col("currency").is_not_null()).then(money),
        link=pl.lit(f"{triage_url}?category=") + pl.col("category"),
    )


def flow_status(flows: pl.DataFrame, intervals: dict[str, int]) -> pl.DataFrame:
    """Add the flow's schedule and whether it is on time to :func:`metrics.health.flow_health`.

    New columns: ``interval_minutes`` (from the schedule, null for an unscheduled flow),
    ``stale_after_minutes`` (:data:`STALE_AFTER_INTERVALS` intervals) and ``state``: "never
    succeeded", "stale", "on time" or "no schedule".
    """
    schedule = pl.DataFrame(
        {"flow": list(intervals), "interval_minutes": [s / 60 for s in intervals.values()]},
        schema={"flow": pl.String, "interval_minutes": pl.Float64},
    )
    stale_after = pl.col("interval_minutes") * STALE_AFTER_INTERVALS
    return (
        flows.join(schedule, on="flow", how="left")
        .with_columns(stale_after_minutes=stale_after)
        .with_columns(
            state=pl.when(pl.col("last_ok").is_null())
            .then(pl.lit("never succeeded"))
            .when(pl.col("interval_minutes").is_null())
            .then(pl.lit("no schedule"))
            .when(pl.col("sync_lag_minutes") > pl.col("stale_after_minutes"))
            .then(pl.lit("stale"))
            .otherwise(pl.lit("on time"))
        )
    )


def latency_over_time(calls: pl.DataFrame) -> pl.DataFrame:
    """p95 latency per vendor per time bucket from ``start_time``, ``vendor``, ``duration_ms``.

    The bucket grows with the span of time covered (5 minutes within two hours, an hour within
    two days, else a day) so that the line has a readable number of points. Returns ``bucket``
    (start), ``vendor``, ``p95_ms``, ``calls``.
    """
    if calls.is_empty():
        return pl.DataFrame(
            schema={
                "bucket": calls.schema["start_time"],
                "vendor": pl.String,
                "p95_ms": pl.Float64,
                "calls": pl.UInt32,
            }
        )
    spread = calls.select(pl.col("start_time").max() - pl.col("start_time").min())
    hours = float(spread.select(pl.first().dt.total_seconds()).item()) / 3600
    every = "5m" if hours <= 2 else "1h" if hours <= 48 else "1d"
    return (
        calls.with_columns(
            bucket=pl.col("start_time").dt.truncate(every),
            vendor=pl.col("vendor").fill_null("unknown"),
        )
        .group_by("vendor", "bucket")
        .agg(pl.col("duration_ms").quantile(0.95).alias("p95_ms"), pl.len().alias("calls"))
        .sort("vendor", "bucket")
        .select("bucket", "vendor", "p95_ms", "calls")
    )


NOT_ROUTED = "not routed yet"


def with_erp_name(frame: pl.DataFrame, names: Mapping[str, str]) -> pl.DataFrame:
    """``frame`` with ``erp_name``: how people call its ``erp`` (``names``; an ERP not named
    there by its system name), and :data:`NOT_ROUTED` where the ERP is not known yet."""
    return frame.with_columns(
        erp_name=pl.col("erp")
        .replace_strict(dict(names), default=pl.col("erp"), return_dtype=pl.String)
        .fill_null(NOT_ROUTED)
    )
