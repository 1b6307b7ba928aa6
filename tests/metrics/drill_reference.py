"""The drilldown as it was first written — every row of each table loaded, then filtered in
polars — kept as the reference that ``metrics.drill.records`` (filters in the SQL) must match."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time

import polars as pl
from sqlalchemy import Connection, select

from metrics import load
from metrics.cycle import stage_durations
from metrics.periods import Grain, bounds
from metrics.report import cutoff
from metrics.slices import Dimension, Owner, attach, dimensions
from metrics.wip import age_bucket, unbilled
from sync.store import read_frame
from sync.store.tables import BillingEventRow


def records(
    connection: Connection,
    kpi: str,
    *,
    as_of: date,
    grain: Grain = "month",
    where: Mapping[Dimension, str] | None = None,
    bucket: str | None = None,
    currency: str | None = None,
) -> pl.DataFrame:
    start, end = bounds(as_of, grain)
    end = min(end, as_of)
    dims = dimensions(connection)
    if kpi == "dso":
        rows = attach(_receivables(connection, as_of), dims, "customer", None, where)
        return _finish(rows, "invoice", "invoice_id", currency)
    if kpi in ("wip", "cycle_time"):
        events = load.billing_events(connection, until=as_of)
        if kpi == "wip":
            known = events.filter(pl.col("event_created_at").dt.date() <= as_of)
            rows = unbilled(known, as_of=as_of)
            rows = rows.filter(pl.col("bucket") == bucket) if bucket else rows
        else:
            posted = events.filter(pl.col("posted_at").dt.date().is_between(start, end))
            rows = stage_durations(posted)
        rows = attach(rows, dims, "project", None, where)
        return _finish(rows, "billing_event", "event_id", currency)
    entries = _entries(connection, kpi, start, end, as_of, bucket)
    owner: Owner = "person" if kpi == "utilization" else "project"
    rows = attach(entries, dims, owner, None, where)
    if kpi == "realization":
        rows = rows.join(dims.projects.select("project_id", "currency"), on="project_id")
    return _finish(rows, "time_entry", "time_entry_id", currency)


def _finish(rows: pl.DataFrame, entity_type: str, key: str, currency: str | None) -> pl.DataFrame:
    if currency is not None and "currency" in rows.columns:
        rows = rows.filter(pl.col("currency") == currency)
    return rows.select(
        pl.lit(entity_type).alias("entity_type"), pl.col(key).alias("entity_id"), pl.all()
    )


def _entries(
    connection: Connection, kpi: str, start: date, end: date, as_of: date, bucket: str | None
) -> pl.DataFrame:
    entries = load.time_entries(connection).filter(pl.col("status") != "rejected")
    in_period = pl.col("spent_date").is_between(start, end)
    if kpi == "utilization":
        return entries.filter(in_period & pl.col("billable") & pl.col("resource_id").is_not_null())
    if kpi == "approvals":
        close = datetime.combine(cutoff(end, as_of), time.max, tzinfo=UTC)
        on_time = pl.col("approved_at").is_not_null() & (pl.col("approved_at") <= close)
        return entries.filter(in_period).with_columns(on_time.alias("approved_by_cutoff"))
    if kpi == "realization":
        return _realization(connection, entries.filter(in_period), as_of)
    waiting = entries.filter(
        pl.col("status").is_in(["submitted", "approved"])
        & (pl.col("submitted_at").dt.date() <= as_of)
        & (pl.col("approved_at").is_null() | (pl.col("approved_at").dt.date() > as_of))
    ).with_columns(
        age_bucket((pl.lit(as_of) - pl.col("submitted_at").dt.date()).dt.total_days()).alias(
            "bucket"
        )
    )
    return waiting.filter(pl.col("bucket") == bucket) if bucket else waiting


def _realization(connection: Connection, entries: pl.DataFrame, as_of: date) -> pl.DataFrame:
    worked = entries.filter((pl.col("status") == "approved") & pl.col("billable"))
    events = load.billing_events(connection).filter(pl.col("posted_at").dt.date() <= as_of)
    links = read_frame(
        connection,
        select(BillingEventRow.id, BillingEventRow.source_record_id),
        {"event_id": pl.String, "time_entry_id": pl.String},
    )
    billed = events.join(links, on="event_id").select(
        "time_entry_id", pl.col("amount").cast(pl.Float64).alias("billed_value")
    )
    return worked.join(billed, on="time_entry_id", how="left").with_columns(
        (
            pl.col("hours").cast(pl.Float64) * pl.col("vendor_rate").cast(pl.Float64).fill_null(0)
        ).alias("standard_value"),
        pl.col("billed_value").fill_null(0.0),
    )


def _receivables(connection: Connection, as_of: date) -> pl.DataFrame:
    invoices = load.invoices(connection).filter(
        pl.col("posted_at").is_not_null()
        & (pl.col("posted_at").dt.date() <= as_of)
        & (pl.col("issue_date") <= as_of)
    )
    paid = (
        load.payments(connection)
        .filter(pl.col("paid_on") <= as_of)
        .group_by("invoice_id")
        .agg(pl.col("amount").sum().alias("paid"))
    )
    return invoices.join(paid, on="invoice_id", how="left").with_columns(
        pl.col("paid").fill_null(0), (pl.col("total") - pl.col("paid").fill_null(0)).alias("due")
    )
