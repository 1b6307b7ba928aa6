"""Drilldown: the records behind one KPI cell, and each record's journey.

A cell is a KPI, an as-of date and period grain (as in ``metrics.report.executive_kpis``), the
slice values it is limited to (``where``: {"region": "Europe", "customer": "cus_…"}) and, for
aged figures, a bucket ("0–30" …) and a currency. ``records`` returns one row per record with
``entity_type`` and ``entity_id`` — the keys of its business events — so the dashboard can show,
for any row, ``journey``: the milestones from approval to cash and how long each step waited.

Records are read from the raw tables, limited to the cell's period in SQL; the same as-of rules
as the figures apply, so the rows of a cell add up to the cell.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from typing import Literal, get_args

import polars as pl
from sqlalchemy import Connection, or_, select

from metrics import load
from metrics.cycle import stage_durations
from metrics.load import UTC_TIME, frame
from metrics.periods import Grain, bounds
from metrics.report import cutoff
from metrics.slices import Dimension, Owner, attach, dimensions
from metrics.wip import age_bucket, unbilled
from sync.store.tables import BillingEventRow, BusinessEventRow

Kpi = Literal["utilization", "realization", "wip", "cycle_time", "dso", "approvals", "unapproved"]
KPIS: tuple[Kpi, ...] = get_args(Kpi)


def records(
    connection: Connection,
    kpi: Kpi,
    *,
    as_of: date,
    grain: Grain = "month",
    where: Mapping[Dimension, str] | None = None,
    bucket: str | None = None,
    currency: str | None = None,
) -> pl.DataFrame:
    """The records that make up one KPI cell: ``entity_type``, ``entity_id`` first, then the
    record's own columns and what it contributes (hours, amount, stage days …)."""
    if kpi not in KPIS:
        raise ValueError(f"unknown KPI {kpi!r}; choose one of {', '.join(KPIS)}")
    start, end = bounds(as_of, grain)
    end = min(end, as_of)
    dims = dimensions(connection)
    if kpi == "dso":
        rows = _receivables(connection, as_of)
        rows = attach(rows, dims, "customer", None, where)
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
    connection: Connection, kpi: Kpi, start: date, end: date, as_of: date, bucket: str | None
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
    """Approved billable entries with their standard value and what was billed for them."""
    worked = entries.filter((pl.col("status") == "approved") & pl.col("billable"))
    events = load.billing_events(connection).filter(pl.col("posted_at").dt.date() <= as_of)
    links = frame(
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
    """Invoices issued and posted by ``as_of`` with what was paid by then and what was due."""
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


# --- journeys -------------------------------------------------------------------------------

JOURNEY = {
    "name": pl.String,
    "entity_type": pl.String,
    "entity_id": pl.String,
    "occurred_at": UTC_TIME,
    "recorded_at": UTC_TIME,
    "trace_id": pl.String,
}


def journey(connection: Connection, entity_type: str, entity_id: str) -> pl.DataFrame:
    """The business events of a record and of the records it became (a time entry → its
    billing event → its invoice → payments), oldest first, with ``waited`` (hours since the
    previous milestone)."""
    chain = _chain(connection, entity_type, entity_id)
    event = BusinessEventRow
    matches = [(event.entity_type == kind) & (event.entity_id == key) for kind, key in chain]
    events = frame(
        connection,
        select(
            event.name,
            event.entity_type,
            event.entity_id,
            event.occurred_at,
            event.recorded_at,
            event.trace_id,
        ).where(or_(*matches)),
        JOURNEY,
    )
    return events.sort("occurred_at", "recorded_at").with_columns(
        ((pl.col("occurred_at") - pl.col("occurred_at").shift(1)).dt.total_seconds() / 3600).alias(
            "waited"
        )
    )


def _chain(connection: Connection, entity_type: str, entity_id: str) -> list[tuple[str, str]]:
    """(entity type, id) of the record and those linked to it through its billing event."""
    event = BillingEventRow
    found = None
    if entity_type == "time_entry":
        found = connection.execute(
            select(event.id, event.source_record_id, event.invoice_id).where(
                event.source_record_id == entity_id
            )
        ).first()
    elif entity_type == "billing_event":
        found = connection.execute(
            select(event.id, event.source_record_id, event.invoice_id).where(event.id == entity_id)
        ).first()
    chain = [(entity_type, entity_id)]
    if found is not None:
        event_id, entry_id, invoice_id = found
        chain += [("billing_event", event_id), ("time_entry", entry_id)]
        if invoice_id:
            chain.append(("invoice", invoice_id))
    return list(dict.fromkeys(chain))
