"""The daily facts the KPIs read, as pure polars functions: source rows in, fact rows out.

A fact row sums the records of one cell. The cell of work (time, billing events, capacity) is a
(day, person) pair, so that one changed record refreshes one small cell and never a whole month;
receivables are refreshed per customer and billing cycle stages per invoice. Dimensions (region,
practice, legal entity, customer) are not copied into facts: the KPIs join them at read time, so
moving a project to another practice rewrites nothing.

The functions here are the single definition of each fact; the ``rollups`` flow applies them to
the cells that changed, and a full rebuild applies them to everything, with the same result.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl

UTC_TIME = pl.Datetime("us", "UTC")
MONEY = pl.Decimal(18, 4)
UNKNOWN = ""  # the key of a person or project the time system did not name
STAGES = ("approval_lag", "sync_lag", "invoicing_lag", "posting_lag", "cycle_time")

TIME_SOURCE: dict[str, Any] = {
    "id": pl.String,
    "resource_id": pl.String,
    "project_id": pl.String,
    "spent_date": pl.Date,
    "hours": MONEY,
    "billable": pl.Boolean,
    "status": pl.String,
    "submitted_at": UTC_TIME,
    "approved_at": UTC_TIME,
    "vendor_rate": MONEY,
}
EVENT_SOURCE: dict[str, Any] = {
    "resource_id": pl.String,
    "project_id": pl.String,
    "occurred_on": pl.Date,
    "currency": pl.String,
    "quantity": MONEY,
    "amount": MONEY,
    "approved_at": UTC_TIME,
    "created_at": UTC_TIME,
    "issue_date": pl.Date,
    "posted_at": UTC_TIME,
}
CYCLE_SOURCE: dict[str, Any] = {
    "invoice_id": pl.String,
    "project_id": pl.String,
    "occurred_on": pl.Date,
    "approved_at": UTC_TIME,
    "event_created_at": UTC_TIME,
    "invoice_created_at": UTC_TIME,
    "posted_at": UTC_TIME,
}
INVOICE_SOURCE: dict[str, Any] = {
    "customer_id": pl.String,
    "issue_date": pl.Date,
    "posted_at": UTC_TIME,
    "currency": pl.String,
    "total": MONEY,
}
PAYMENT_SOURCE: dict[str, Any] = {
    "customer_id": pl.String,
    "received_on": pl.Date,
    "issue_date": pl.Date,
    "posted_at": UTC_TIME,
    "currency": pl.String,
    "amount": MONEY,
}
PEOPLE_SOURCE: dict[str, Any] = {
    "resource_id": pl.String,
    "region": pl.String,
    "weekly_capacity_hours": MONEY,
    "hire_date": pl.Date,
    "termination_date": pl.Date,
}
HOLIDAY_SOURCE: dict[str, Any] = {"region": pl.String, "day": pl.Date}
TIME_OFF_SOURCE: dict[str, Any] = {"resource_id": pl.String, "day": pl.Date, "hours": MONEY}
CELL: dict[str, pl.DataType] = {"day": pl.Date(), "resource_id": pl.String()}


def _day(column: str) -> pl.Expr:
    return pl.col(column).dt.date()


def _key(column: str) -> pl.Expr:
    return pl.col(column).fill_null(UNKNOWN)


def time_facts(entries: pl.DataFrame) -> pl.DataFrame:
    """Hours and entries per day, person, project, billable, status and submission/approval day.
    ``entries``: ``TIME_SOURCE`` (deleted entries already left out). Standard value is billable
    hours × the time system's billable rate (0 where it has none)."""
    standard = pl.when(pl.col("billable")).then(
        pl.col("hours").cast(pl.Float64) * pl.col("vendor_rate").cast(pl.Float64).fill_null(0)
    )
    return (
        entries.filter(pl.col("spent_date").is_not_null() & pl.col("hours").is_not_null())
        .with_columns(
            pl.col("spent_date").alias("day"),
            _key("resource_id"),
            _key("project_id"),
            pl.col("billable").fill_null(False),
            _day("submitted_at").alias("submitted_on"),
            _day("approved_at").alias("approved_on"),
            standard.otherwise(0.0).alias("standard_value"),
        )
        .group_by(
            "day", "resource_id", "project_id", "billable", "status", "submitted_on", "approved_on"
        )
        .agg(
            pl.col("hours").cast(pl.Float64).sum(),
            pl.col("standard_value").sum(),
            pl.len().cast(pl.Int64).alias("entries"),
        )
    )


def billing_facts(events: pl.DataFrame) -> pl.DataFrame:
    """Hours, amount and count of billing events per day of work, person, project, currency and
    the days they were approved, created, invoiced (issue date) and posted. ``events``:
    ``EVENT_SOURCE`` with the invoice's issue date and posting time (null while not invoiced)."""
    return (
        events.with_columns(
            pl.col("occurred_on").alias("day"),
            _key("resource_id"),
            _key("project_id"),
            _day("approved_at").alias("approved_on"),
            _day("created_at").alias("created_on"),
            pl.col("issue_date").alias("invoiced_on"),
            _day("posted_at").alias("posted_on"),
        )
        .group_by(
            "day",
            "resource_id",
            "project_id",
            "currency",
            "approved_on",
            "created_on",
            "invoiced_on",
            "posted_on",
        )
        .agg(
            pl.col("quantity").cast(pl.Float64).sum().alias("hours"),
            pl.col("amount").cast(pl.Float64).sum().alias("amount"),
            pl.len().cast(pl.Int64).alias("events"),
        )
    )


def stage_hours(events: pl.DataFrame) -> pl.DataFrame:
    """Each billing cycle stage of each event in hours (the same stages as
    ``metrics.cycle.stage_durations``, which reports them in days)."""
    worked = pl.col("occurred_on").cast(UTC_TIME) + pl.duration(days=1)

    def hours(later: str, earlier: pl.Expr) -> pl.Expr:
        return (pl.col(later) - earlier).dt.total_seconds() / 3600

    return events.with_columns(
        hours("approved_at", worked).alias("approval_lag"),
        hours("event_created_at", pl.col("approved_at")).alias("sync_lag"),
        hours("invoice_created_at", pl.col("event_created_at")).alias("invoicing_lag"),
        hours("posted_at", pl.col("invoice_created_at")).alias("posting_lag"),
        hours("posted_at", pl.col("approved_at")).alias("cycle_time"),
    )


def cycle_facts(events: pl.DataFrame) -> pl.DataFrame:
    """Histogram of each stage, in whole hours, per posted invoice and project. ``events``:
    ``CYCLE_SOURCE`` for events on posted invoices."""
    staged = stage_hours(events.filter(pl.col("posted_at").is_not_null()))
    return (
        staged.unpivot(
            on=list(STAGES),
            index=["invoice_id", "posted_at", "project_id"],
            variable_name="stage",
            value_name="duration",
        )
        .filter(pl.col("duration").is_not_null())
        .with_columns(
            _day("posted_at").alias("posted_on"),
            pl.col("duration").round(0).cast(pl.Int64).alias("hours"),
        )
        .group_by("invoice_id", "posted_on", "project_id", "stage", "hours")
        .agg(pl.len().cast(pl.Int64).alias("events"))
    )


def receivable_facts(invoices: pl.DataFrame, payments: pl.DataFrame) -> pl.DataFrame:
    """Per customer and day: posted invoices by issue date (kind ``invoiced``, known on the day
    they were posted) and cash received on posted invoices by receipt date (kind ``paid``, known
    once received and its invoice issued and posted)."""
    invoiced = (
        invoices.filter(pl.col("posted_at").is_not_null())
        .with_columns(_day("posted_at").alias("known_on"))
        .group_by("customer_id", pl.col("issue_date").alias("day"), "known_on", "currency")
        .agg(pl.col("total").cast(pl.Float64).sum().alias("amount"), pl.len().alias("documents"))
        .with_columns(pl.lit("invoiced").alias("kind"))
    )
    paid = (
        payments.with_columns(
            pl.max_horizontal("received_on", "issue_date", _day("posted_at")).alias("known_on")
        )
        .group_by("customer_id", pl.col("received_on").alias("day"), "known_on", "currency")
        .agg(pl.col("amount").cast(pl.Float64).sum(), pl.len().alias("documents"))
        .with_columns(pl.lit("paid").alias("kind"))
    )
    columns = ["customer_id", "day", "kind", "known_on", "currency", "amount", "documents"]
    return pl.concat([invoiced.select(columns), paid.select(columns)]).with_columns(
        pl.col("documents").cast(pl.Int64)
    )


def capacity_facts(
    cells: pl.DataFrame, people: pl.DataFrame, holidays: pl.DataFrame, time_off: pl.DataFrame
) -> pl.DataFrame:
    """Capacity and available hours for the (day, person) ``cells`` on weekdays the person was
    employed: weekly capacity ÷ 5, nothing on a public holiday of their region (or of every
    region), less approved time off (never below zero)."""
    grid = (
        cells.filter(pl.col("day").dt.weekday() <= 5)
        .join(people, on="resource_id", how="inner")
        .filter(
            (pl.col("hire_date").is_null() | (pl.col("day") >= pl.col("hire_date")))
            & (pl.col("termination_date").is_null() | (pl.col("day") <= pl.col("termination_date")))
        )
    )
    everywhere = holidays.filter(pl.col("region").is_null()).select("day").unique()
    regional = holidays.filter(pl.col("region").is_not_null()).unique()
    off = time_off.group_by("resource_id", "day").agg(pl.col("hours").cast(pl.Float64).sum())
    return (
        grid.join(
            regional.with_columns(pl.lit(True).alias("regional")), on=["region", "day"], how="left"
        )
        .join(everywhere.with_columns(pl.lit(True).alias("general")), on="day", how="left")
        .join(off, on=["resource_id", "day"], how="left")
        .with_columns(
            (pl.col("weekly_capacity_hours").cast(pl.Float64) / 5).alias("capacity_hours"),
            pl.col("hours").fill_null(0.0).alias("time_off_hours"),
            (pl.col("regional").fill_null(False) | pl.col("general").fill_null(False)).alias(
                "holiday"
            ),
        )
        .with_columns(
            pl.when(pl.col("holiday"))
            .then(0.0)
            .otherwise((pl.col("capacity_hours") - pl.col("time_off_hours")).clip(lower_bound=0))
            .alias("available_hours")
        )
        .select(
            "day", "resource_id", "capacity_hours", "time_off_hours", "holiday", "available_hours"
        )
    )


def weekday_cells(resources: list[str], start: date, end: date) -> pl.DataFrame:
    """Every (weekday, person) cell from ``start`` to ``end``."""
    days = pl.date_range(start, end, "1d", eager=True)
    return (
        pl.DataFrame({"day": days})
        .filter(pl.col("day").dt.weekday() <= 5)
        .join(
            pl.DataFrame({"resource_id": resources}, schema={"resource_id": pl.String}), how="cross"
        )
    )
