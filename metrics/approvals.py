"""Timesheet discipline: hours approved before the period close, and unapproved time by age.

Approved before close = hours of the period's billable and non-billable entries approved by the
close cut-off ÷ the hours expected for the period. "Expected" is what the caller passes: the
hours people logged for the period (including those approved late or still waiting), or, where
available, their available hours; the function does not guess.
"""

from __future__ import annotations

from datetime import date, datetime

import polars as pl

from metrics.wip import age_bucket


def approved_before_close(
    entries: pl.DataFrame,
    *,
    start: date,
    end: date,
    cutoff: datetime,
    expected: pl.DataFrame | None = None,
    by: list[str] | None = None,
) -> pl.DataFrame:
    """``entries``: spent_date, hours, approved_at (null if not approved) + slicing columns.
    ``expected`` (optional): the ``by`` columns and ``expected_hours``; default = hours logged."""
    keys = by or []
    period = entries.filter(pl.col("spent_date").is_between(start, end))
    on_time = pl.col("approved_at").is_not_null() & (pl.col("approved_at") <= cutoff)
    agg = [
        pl.col("hours").cast(pl.Float64).sum().alias("logged_hours"),
        pl.col("hours").cast(pl.Float64).filter(on_time).sum().alias("approved_hours"),
    ]
    sums = period.group_by(keys, maintain_order=True).agg(agg) if keys else period.select(agg)
    if expected is not None:
        sums = (
            sums.join(expected, on=keys, how="left")
            if keys
            else sums.with_columns(expected_hours=pl.lit(expected["expected_hours"].sum()))
        )
    else:
        sums = sums.with_columns(pl.col("logged_hours").alias("expected_hours"))
    return sums.with_columns(
        pl.when(pl.col("expected_hours") > 0)
        .then(pl.col("approved_hours") / pl.col("expected_hours"))
        .alias("approved_share")
    )


def unapproved_aging(
    entries: pl.DataFrame, *, as_of: date, by: list[str] | None = None
) -> pl.DataFrame:
    """Submitted-not-approved hours by age since submission (0–30 … 90+ days) and ``by``.
    ``entries``: status, submitted_at, hours + slicing columns (manager, practice …)."""
    waiting = entries.filter(
        (pl.col("status") == "submitted") & (pl.col("submitted_at").dt.date() <= as_of)
    ).with_columns(
        age_bucket((pl.lit(as_of) - pl.col("submitted_at").dt.date()).dt.total_days()).alias(
            "bucket"
        )
    )
    keys = [*(by or []), "bucket"]
    return (
        waiting.group_by(keys)
        .agg(pl.col("hours").cast(pl.Float64).sum().alias("hours"), pl.len().alias("entries"))
        .sort(keys)
    )
