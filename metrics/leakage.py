"""Revenue leakage, in money: value earned that was not (or not fully) billed.

Three kinds, each valued at the rate the work should have been billed at:

- ``approved_not_billed``: approved billable time older than the grace period (its month closed
  and ``grace_days`` passed) that is on no invoice;
- ``wrong_rate``: billed time priced below the rate it should have had (hours × the shortfall);
  billing above the rate is not leakage and is not counted here;
- ``closed_project``: approved billable time booked to a project after it closed (it cannot be
  billed as it stands).
"""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

KINDS = ("approved_not_billed", "wrong_rate", "closed_project")
GRACE_DAYS = 15  # after its month closes, approved time has this long to reach an invoice


def leaks(entries: pl.DataFrame, *, as_of: date, grace_days: int = GRACE_DAYS) -> pl.DataFrame:
    """The entries that leak, each with its ``kind`` and ``amount`` (the kinds are disjoint: an
    entry leaks once at most). ``entries``: spent_date, hours, currency, approved, billable,
    expected_rate, billed_rate (null if on no invoice), on_closed_project (bool) and any other
    columns, which are kept."""
    due = pl.col("spent_date").dt.month_end() + timedelta(days=grace_days) < pl.lit(as_of)
    billable = entries.filter(pl.col("approved") & pl.col("billable"))
    value = pl.col("hours").cast(pl.Float64) * pl.col("expected_rate").cast(pl.Float64)
    shortfall = (pl.col("expected_rate") - pl.col("billed_rate")).cast(pl.Float64)
    return pl.concat(
        [
            billable.filter(
                pl.col("billed_rate").is_null() & ~pl.col("on_closed_project") & due
            ).with_columns(pl.lit("approved_not_billed").alias("kind"), value.alias("amount")),
            billable.filter(pl.col("billed_rate").is_not_null() & (shortfall > 0)).with_columns(
                pl.lit("wrong_rate").alias("kind"),
                (pl.col("hours").cast(pl.Float64) * shortfall).alias("amount"),
            ),
            billable.filter(
                pl.col("on_closed_project") & pl.col("billed_rate").is_null()
            ).with_columns(pl.lit("closed_project").alias("kind"), value.alias("amount")),
        ]
    )


def revenue_leakage(
    entries: pl.DataFrame,
    *,
    as_of: date,
    grace_days: int = GRACE_DAYS,
    by: list[str] | None = None,
) -> pl.DataFrame:
    """``entries`` as for ``leaks``, plus slicing columns. Returns amount, hours and entries
    per currency, kind (and ``by``)."""
    keys = ["currency", "kind", *(by or [])]
    return (
        leaks(entries, as_of=as_of, grace_days=grace_days)
        .group_by(keys)
        .agg(
            pl.col("amount").sum(),
            pl.col("hours").cast(pl.Float64).sum(),
            pl.len().alias("entries"),
        )
        .sort(keys, nulls_last=True)
    )
