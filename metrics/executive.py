"""The executive KPIs from rollup aggregates (``metrics.facts``): pure functions, frames in and out.

Each function takes the aggregate frame(s), the dimensions, a slice (``by``) and filters
(``where``), and returns the same columns as its counterpart over raw records (``metrics.wip``,
``metrics.cycle`` …), so the dashboard and the CLI need not know where a figure came from.
Definitions are in ``docs/kpis.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

import polars as pl

from metrics.cycle import STAGES
from metrics.dso import countback_dso, month_window, standard_dso
from metrics.periods import days_in
from metrics.slices import Dimension, Dimensions, attach
from metrics.wip import BUCKETS

Where = Mapping[Dimension, str] | None


def _keys(by: Dimension | None, *first: str) -> list[str]:
    return [*first, *([by] if by else [])]


def _share(numerator: str, denominator: str) -> pl.Expr:
    return pl.when(pl.col(denominator) > 0).then(pl.col(numerator) / pl.col(denominator))


def _group(frame: pl.DataFrame, keys: list[str], aggs: list[pl.Expr]) -> pl.DataFrame:
    return frame.group_by(keys).agg(aggs).sort(keys) if keys else frame.select(aggs)


def utilization(
    hours: pl.DataFrame,
    capacity: pl.DataFrame,
    dims: Dimensions,
    by: Dimension | None = None,
    where: Where = None,
) -> pl.DataFrame:
    """Billable hours ÷ available hours of the firm's people. ``hours`` and ``capacity`` come
    sliced from ``metrics.facts``; every slice value that has people is listed."""
    keys = _keys(by)
    values = attach(dims.people, dims, "person", by, where).select(keys).unique() if keys else None
    if values is None:
        merged = pl.DataFrame(
            {
                "billable_hours": [float(hours["billable_hours"].sum())],
                "available_hours": [float(capacity["available_hours"].sum())],
            }
        )
    else:
        merged = (
            values.join(hours, on=keys, how="left", nulls_equal=True)
            .join(capacity, on=keys, how="left", nulls_equal=True)
            .with_columns(pl.col("billable_hours", "available_hours").fill_null(0.0))
            .sort(keys)
        )
    return merged.with_columns(_share("billable_hours", "available_hours").alias("utilization"))


def realization(
    work: pl.DataFrame, billed: pl.DataFrame, by: Dimension | None = None
) -> pl.DataFrame:
    """Billed value of the period's work ÷ its value at standard rates, per currency."""
    keys = _keys(by, "currency")
    standard = work.filter(pl.col("currency").is_not_null()).select(
        *keys, "standard_value", billed_value=pl.lit(0.0)
    )
    invoiced = billed.select(*keys, pl.lit(0.0).alias("standard_value"), "billed_value")
    both = pl.concat([standard, invoiced])
    grouped = _group(both, keys, [pl.col("standard_value").sum(), pl.col("billed_value").sum()])
    return grouped.filter(
        (pl.col("standard_value") != 0) | (pl.col("billed_value") != 0)
    ).with_columns(_share("billed_value", "standard_value").alias("realization"))


def wip(unbilled: pl.DataFrame, by: Dimension | None = None) -> pl.DataFrame:
    """WIP per currency and age bucket, every bucket present (as ``metrics.wip.wip_aging``)."""
    keys = _keys(by, "currency")
    sums = unbilled.group_by([*keys, "bucket"]).agg(
        pl.col("amount").sum(), pl.col("hours").sum(), pl.col("events").sum()
    )
    grid = unbilled.select(keys).unique().join(pl.DataFrame({"bucket": list(BUCKETS)}), how="cross")
    return (
        grid.join(sums, on=[*keys, "bucket"], how="left", nulls_equal=True)
        .with_columns(pl.col("amount", "hours").fill_null(0.0), pl.col("events").fill_null(0))
        .with_columns(pl.col("bucket").cast(pl.Enum(BUCKETS)))
        .sort([*keys, "bucket"])
    )


def weighted_quantile(values: pl.Series, weights: pl.Series, q: float) -> float | None:
    """The ``q`` quantile (linear interpolation, as polars' ``quantile(q, "linear")``) of a
    multiset given as distinct ``values`` with counts ``weights``."""
    order = values.arg_sort()
    vals, counts = values.gather(order).to_list(), weights.gather(order).to_list()
    total = sum(counts)
    if total == 0:
        return None
    position = q * (total - 1)
    low, fraction = int(position), position - int(position)

    def at(index: int) -> float:
        seen = 0
        for value, count in zip(vals, counts, strict=True):
            seen += count
            if index < seen:
                return float(value)
        return float(vals[-1])

    first = at(low)
    return first if fraction == 0 else first + (at(low + 1) - first) * fraction


def cycle_time(histogram: pl.DataFrame, by: Dimension | None = None) -> pl.DataFrame:
    """Median and p90 of each stage in days (from whole hours), as ``metrics.cycle.cycle_time``.
    Per person is not kept in the histogram: ``by="person"`` gives the firm-wide figure."""
    sliced = histogram
    keys = _keys(by)
    rows: list[dict[str, Any]] = []
    groups = sliced.group_by(keys, maintain_order=True) if keys else [((), sliced)]
    for group, part in groups:
        row: dict[str, Any] = dict(zip(keys, group, strict=True))
        row["events"] = int(part.filter(pl.col("stage") == "cycle_time")["events"].sum())
        for stage in STAGES:
            at = part.filter(pl.col("stage") == stage)
            days = at["hours"].cast(pl.Float64) / 24
            row[f"{stage}_median"] = weighted_quantile(days, at["events"], 0.5)
            row[f"{stage}_p90"] = weighted_quantile(days, at["events"], 0.9)
        rows.append(row)
    schema: dict[str, Any] = {k: pl.String for k in keys} | {"events": pl.Int64}
    schema |= {f"{s}_{m}": pl.Float64 for s in STAGES for m in ("median", "p90")}
    out = pl.DataFrame(rows, schema=schema)
    if not keys and out.height == 0:
        out = pl.DataFrame([{"events": 0}], schema=schema)
    return out.sort(keys) if keys else out


def dso(
    receivables: pl.DataFrame, *, as_of: date, months: int = 3, by: Dimension | None = None
) -> pl.DataFrame:
    """Standard and countback DSO per currency (as ``metrics.dso.dso_by``). ``receivables``:
    invoiced and paid per month (``metrics.facts.receivables``)."""
    window = pl.select(pl.lit(as_of.replace(day=1)).dt.offset_by(f"-{months - 1}mo")).item()
    keys = _keys(by, "currency")
    rows = []
    for group, part in receivables.group_by(keys, maintain_order=True):
        invoiced = part.filter(pl.col("kind") == "invoiced")
        paid = part.filter(pl.col("kind") == "paid")
        ar = Decimal(f"{float(invoiced['amount'].sum()) - float(paid['amount'].sum()):.2f}")
        monthly = month_window(
            invoiced.filter(pl.col("month") >= window)
            .group_by(pl.col("month").alias("month_start"))
            .agg(pl.col("amount").sum().round(2).cast(pl.Decimal(18, 2)).alias("sales")),
            window,
            as_of,
        )
        sales = Decimal(monthly["sales"].sum()) if monthly.height else Decimal(0)
        standard = standard_dso(ar, sales, days_in(window, as_of))
        rows.append((*group, ar, sales, _float(standard), _float(countback_dso(ar, monthly))))
    schema: dict[str, Any] = {k: pl.String for k in keys} | {
        "ending_ar": pl.Decimal(18, 2),
        "sales": pl.Decimal(18, 2),
        "standard_days": pl.Float64,
        "countback_days": pl.Float64,
    }
    return pl.DataFrame(rows, schema=schema, orient="row").sort(keys, nulls_last=True)


def _float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def approvals(work: pl.DataFrame, by: Dimension | None = None) -> pl.DataFrame:
    """Hours approved by the close cut-off ÷ hours logged for the period."""
    keys = _keys(by)
    grouped = _group(work, keys, [pl.col("logged_hours").sum(), pl.col("approved_hours").sum()])
    return grouped.select(
        *keys, "approved_hours", pl.col("logged_hours").alias("expected_hours")
    ).with_columns(_share("approved_hours", "expected_hours").alias("approved_share"))


def unapproved(waiting: pl.DataFrame, by: Dimension | None = None) -> pl.DataFrame:
    """Submitted-not-approved hours and entries by age bucket."""
    keys = [*_keys(by), "bucket"]
    return (
        waiting.group_by(keys)
        .agg(pl.col("hours").sum(), pl.col("entries").sum())
        .with_columns(pl.col("bucket").cast(pl.Enum(BUCKETS)))
        .sort(keys)
    )


def margin(
    revenue: pl.DataFrame, labour: pl.DataFrame, by: Dimension | None = None
) -> pl.DataFrame:
    """Margin of the period's work per currency: revenue − labour cost − expenses, and its share
    of revenue (no value without revenue). Expenses are not yet kept in the store: 0. A slice
    with cost and no revenue is listed (its cost is the margin's loss)."""
    keys = _keys(by, "currency")
    earned = revenue.select(*keys, "revenue", labour_cost=pl.lit(0.0))
    spent = labour.select(*keys, pl.lit(0.0).alias("revenue"), "labour_cost")
    both = pl.concat([earned, spent]).filter(pl.col("currency").is_not_null())
    grouped = _group(both, keys, [pl.col("revenue").sum(), pl.col("labour_cost").sum()])
    return (
        grouped.filter((pl.col("revenue") != 0) | (pl.col("labour_cost") != 0))
        .with_columns(pl.lit(0.0).alias("expenses"))
        .with_columns(
            (pl.col("revenue") - pl.col("labour_cost") - pl.col("expenses")).alias("margin")
        )
        .with_columns(
            pl.when(pl.col("revenue") != 0)
            .then(pl.col("margin") / pl.col("revenue"))
            .alias("margin_share")
        )
    )
