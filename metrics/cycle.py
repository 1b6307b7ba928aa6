"""Billing cycle time: how long approved work takes to become a posted invoice, and where it waits.

For each billed time entry, the stages are:

- approval lag: approved_at − the end of the day the work was done (occurred_on);
- sync lag: the billing event's created_at − approved_at (when plan2cash saw the approval);
- invoicing lag: the invoice's created_at − the billing event's created_at (mostly waiting for
  the period to close);
- posting lag: the invoice's posted_at − its created_at (the outbox and the ERP).

Cycle time is posted_at − the billing trigger (the approval). Reported in days, median and p90,
over events whose invoice was posted in the period.
"""

from __future__ import annotations

from datetime import date

import polars as pl

STAGES = ("approval_lag", "sync_lag", "invoicing_lag", "posting_lag", "cycle_time")


def _days(later: str, earlier: str | pl.Expr) -> pl.Expr:
    start = pl.col(earlier) if isinstance(earlier, str) else earlier
    return (pl.col(later) - start).dt.total_seconds() / 86_400


def stage_durations(events: pl.DataFrame) -> pl.DataFrame:
    """Per billing event: each stage in days. ``events``: occurred_on, approved_at,
    event_created_at, invoice_created_at, posted_at (datetimes UTC), plus slicing columns."""
    worked = pl.col("occurred_on").cast(pl.Datetime("us", "UTC")) + pl.duration(days=1)
    return events.with_columns(
        _days("approved_at", worked).alias("approval_lag"),
        _days("event_created_at", "approved_at").alias("sync_lag"),
        _days("invoice_created_at", "event_created_at").alias("invoicing_lag"),
        _days("posted_at", "invoice_created_at").alias("posting_lag"),
        _days("posted_at", "approved_at").alias("cycle_time"),
    )


def cycle_time(
    events: pl.DataFrame, *, start: date, end: date, by: list[str] | None = None
) -> pl.DataFrame:
    """Median and p90 of every stage, for events posted within [start, end]."""
    posted = stage_durations(events).filter(pl.col("posted_at").dt.date().is_between(start, end))
    aggregations = [pl.len().alias("events")]
    for stage in STAGES:
        aggregations += [
            pl.col(stage).median().alias(f"{stage}_median"),
            pl.col(stage).quantile(0.9, interpolation="linear").alias(f"{stage}_p90"),
        ]
    if by:
        return posted.group_by(by, maintain_order=True).agg(aggregations).sort(by)
    return posted.select(aggregations)
