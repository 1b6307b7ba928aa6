"""Billable utilization: billable hours ÷ available hours, per person and rolled up.

Available hours = weekly capacity spread over the five weekdays, on the days the person was
employed in the period, less public holidays of their region or of every region (a holiday with
no region; a whole day) and approved time off (its hours). Billable hours are hours of billable
time entries (approved or not: utilization measures work done, not billing; callers leave out
rejected time). A person or group with no available hours has no utilization
(null), not zero.
"""

from __future__ import annotations

from datetime import date

import polars as pl


def available_hours(
    people: pl.DataFrame,
    holidays: pl.DataFrame,
    time_off: pl.DataFrame,
    *,
    start: date,
    end: date,
) -> pl.DataFrame:
    """Available hours per person over [start, end].

    ``people``: resource_id, region, weekly_capacity_hours, hire_date, termination_date (nullable).
    ``holidays``: region, day. ``time_off``: resource_id, day, hours (approved only).
    """
    days = pl.DataFrame({"day": pl.date_range(start, end, "1d", eager=True)}).filter(
        pl.col("day").dt.weekday() <= 5
    )
    grid = people.join(days, how="cross").filter(
        (pl.col("hire_date").is_null() | (pl.col("day") >= pl.col("hire_date")))
        & (pl.col("termination_date").is_null() | (pl.col("day") <= pl.col("termination_date")))
    )
    daily = (pl.col("weekly_capacity_hours").cast(pl.Float64) / 5).alias("capacity")
    regional = holidays.filter(pl.col("region").is_not_null()).select("region", "day").unique()
    everywhere = holidays.filter(pl.col("region").is_null()).select("day").unique()
    grid = (
        grid.with_columns(daily)
        .join(regional.with_columns(holiday=pl.lit(True)), on=["region", "day"], how="left")
        .join(everywhere.with_columns(general=pl.lit(True)), on="day", how="left")
    )
    off = time_off.group_by("resource_id", "day").agg(pl.col("hours").cast(pl.Float64).sum())
    grid = grid.join(off, on=["resource_id", "day"], how="left").with_columns(
        pl.when(pl.col("holiday").fill_null(False) | pl.col("general").fill_null(False)).then(0.0)
        .otherwise((pl.col("capacity") - pl.col("hours").fill_null(0)).clip(lower_bound=0))
        .alias("available")
    )  # fmt: skip
    return grid.group_by("resource_id").agg(pl.col("available").sum().alias("available_hours"))


def utilization(
    people: pl.DataFrame,
    time: pl.DataFrame,
    holidays: pl.DataFrame,
    time_off: pl.DataFrame,
    *,
    start: date,
    end: date,
    by: list[str] | None = None,
) -> pl.DataFrame:
    """Billable, available hours and utilization per ``by`` group (or per person when ``by`` is
    None). ``time``: resource_id, spent_date, hours, billable."""
    available = available_hours(people, holidays, time_off, start=start, end=end)
    billable = (
        time.filter(pl.col("billable") & pl.col("spent_date").is_between(start, end))
        .group_by("resource_id")
        .agg(pl.col("hours").cast(pl.Float64).sum().alias("billable_hours"))
    )
    per_person = (
        people.join(available, on="resource_id", how="left")
        .join(billable, on="resource_id", how="left")
        .with_columns(pl.col("available_hours", "billable_hours").fill_null(0.0))
    )
    keys = by or ["resource_id"]
    grouped = per_person.group_by(keys, maintain_order=True).agg(
        pl.col("billable_hours").sum(), pl.col("available_hours").sum()
    )
    return grouped.with_columns(
        pl.when(pl.col("available_hours") > 0)
        .then(pl.col("billable_hours") / pl.col("available_hours"))
        .otherwise(None)
        .alias("utilization")
    ).sort(keys)
