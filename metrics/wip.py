"""Work in progress: approved billable value not yet invoiced, aged.

WIP = Σ (approved, billable, not yet invoiced) billing events' amounts, per currency. Age is
counted from the day the work was done (``occurred_on``) to the as-of date, in the buckets
0–30, 31–60, 61–90 and 90+ days. Work dated after the as-of date is not WIP yet.
"""

from __future__ import annotations

from datetime import date

import polars as pl

BUCKETS = ("0–30", "31–60", "61–90", "90+")


def age_bucket(age_days: pl.Expr) -> pl.Expr:
    return (
        pl.when(age_days <= 30).then(pl.lit(BUCKETS[0]))
        .when(age_days <= 60).then(pl.lit(BUCKETS[1]))
        .when(age_days <= 90).then(pl.lit(BUCKETS[2]))
        .otherwise(pl.lit(BUCKETS[3]))
    )  # fmt: skip


def unbilled(events: pl.DataFrame, *, as_of: date) -> pl.DataFrame:
    """The billing events that are WIP on ``as_of``: done by then, not invoiced by then.

    ``events``: occurred_on, amount, quantity, currency, invoiced_on (null while not invoiced),
    plus any slicing columns (customer_id, project_id, resource_id, practice, region …).
    """
    return (
        events.filter(
            (pl.col("occurred_on") <= as_of)
            & (pl.col("invoiced_on").is_null() | (pl.col("invoiced_on") > as_of))
        )
        .with_columns((pl.lit(as_of) - pl.col("occurred_on")).dt.total_days().alias("age_days"))
        .with_columns(age_bucket(pl.col("age_days")).alias("bucket"))
    )


def wip_aging(events: pl.DataFrame, *, as_of: date, by: list[str] | None = None) -> pl.DataFrame:
    """WIP amount and hours per currency, age bucket (and ``by``), every bucket present."""
    keys = ["currency", *(by or [])]
    wip = unbilled(events, as_of=as_of)
    sums = wip.group_by([*keys, "bucket"]).agg(
        pl.col("amount").sum().alias("amount"),
        pl.col("quantity").sum().alias("hours"),
        pl.len().alias("events"),
    )
    grid = wip.select(keys).unique().join(pl.DataFrame({"bucket": list(BUCKETS)}), how="cross")
    return (
        grid.join(sums, on=[*keys, "bucket"], how="left")
        .with_columns(pl.col("amount", "hours").fill_null(0), pl.col("events").fill_null(0))
        .with_columns(pl.col("bucket").cast(pl.Enum(BUCKETS)))
        .sort([*keys, "bucket"])
    )
