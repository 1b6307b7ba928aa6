"""Drilldown: the records behind one KPI cell, and each record's journey.

A cell is a KPI, an as-of date and period grain (as in ``metrics.report.executive_kpis``), the
slice values it is limited to (``where``: {"region": "Europe", "customer": "cus_…"}) and, for
aged figures, a bucket ("0–30" …; for leakage, its kind) and a currency. ``records`` returns one
row per record with ``entity_type`` and ``entity_id`` — the keys of its business events — so the
dashboard can show, for any row, ``journey``: the milestones from approval to cash and how long
each step waited.

Records are read from the raw tables with the whole cell in the SQL — its period, bucket, slice
(the one dimension table it needs, joined as ``metrics.facts`` joins it) and currency — on
indexed columns (``spent_date``, ``occurred_on``, ``invoice_id``, ``source_record_id``), so a
drilldown costs what its cell holds, not the firm's history. The same as-of rules as the figures
apply, so the rows of a cell add up to the cell.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal, get_args

import polars as pl
from sqlalchemy import Connection, and_, or_, select

from metrics import leakage_report, load
from metrics.cycle import stage_durations
from metrics.facts import slicing
from metrics.leakage import KINDS, leaks
from metrics.load import UTC_TIME, Rows, midnight, on_or_before
from metrics.periods import Grain, bounds
from metrics.report import cutoff
from metrics.slices import Dimension, Owner
from metrics.wip import BUCKETS, age_bucket, unbilled
from sync.store import (
    BillingEventRow,
    BusinessEventRow,
    InvoiceRow,
    PaymentRow,
    ProjectRow,
    TimeEntryRow,
    read_frame,
)

Kpi = Literal[
    "utilization", "realization", "wip", "cycle_time", "dso", "approvals", "unapproved", "leakage"
]
KPIS: tuple[Kpi, ...] = get_args(Kpi)
Where = Mapping[Dimension, str]
CHUNK = 500  # ids per IN list


def records(
    connection: Connection,
    kpi: Kpi,
    *,
    as_of: date,
    grain: Grain = "month",
    where: Where | None = None,
    bucket: str | None = None,
    currency: str | None = None,
) -> pl.DataFrame:
    """The records that make up one KPI cell: ``entity_type``, ``entity_id`` first, then the
    record's own columns and what it contributes (hours, amount, stage days …), in key order.
    ``bucket``: an age bucket for WIP and unapproved time, a kind for leakage."""
    if kpi not in KPIS:
        raise ValueError(f"unknown KPI {kpi!r}; choose one of {', '.join(KPIS)}")
    start, end = bounds(as_of, grain)
    end = min(end, as_of)
    cell = where or {}
    if kpi == "dso":
        return _finish(_receivables(connection, as_of, cell, currency), "invoice", "invoice_id")
    if kpi == "wip":
        return _finish(_wip(connection, as_of, cell, bucket, currency), "billing_event", "event_id")
    if kpi == "cycle_time":
        rows = _cycle(connection, start, end, as_of, cell, currency)
        return _finish(rows, "billing_event", "event_id")
    if kpi == "leakage":
        rows = leaks(leakage_report.entries(connection, as_of=as_of, where=cell), as_of=as_of)
        rows = rows.filter(pl.col("kind") == bucket) if bucket in KINDS else rows
        rows = rows.filter(pl.col("currency") == currency) if currency else rows
        return _finish(rows, "time_entry", "time_entry_id")
    rows = _entries(connection, kpi, start, end, as_of, cell, bucket, currency)
    return _finish(rows, "time_entry", "time_entry_id")


def _finish(rows: pl.DataFrame, entity_type: str, key: str) -> pl.DataFrame:
    return rows.sort(key).select(
        pl.lit(entity_type).alias("entity_type"), pl.col(key).alias("entity_id"), pl.all()
    )


def _sliced(statement: Rows, owner: Owner, key: Any, where: Where, *, worker: Any = None) -> Rows:
    """``statement`` limited to the slice values ``where`` (dimensions its owner lacks are
    ignored, as ``metrics.slices.attach`` ignores them)."""
    cut = slicing(owner, key, None, where, worker=worker)
    if cut.join is not None:
        statement = statement.outerjoin(*cut.join)
    return statement.where(*cut.filters)


def _age(day: Any, as_of: date, bucket: str | None, *, stamp: bool = False) -> list[Any]:
    """SQL bounds on ``day`` for an age bucket (days since ``day`` at ``as_of``: 0–30 is
    ``day ≥ as_of − 30``, 31–60 is ``as_of − 60 ≤ day < as_of − 30`` …). ``stamp``: ``day`` is
    a UTC datetime, aged by its date."""
    if bucket not in BUCKETS:
        return []
    oldest, youngest = AGES[bucket]

    def at(days: int) -> Any:
        moment = as_of - timedelta(days=days)
        return midnight(moment) if stamp else moment

    return [
        *([day >= at(oldest)] if oldest is not None else []),
        *([day < at(youngest)] if youngest is not None else []),
    ]


# bucket -> (oldest, youngest): its days are on or after as_of − oldest, before as_of − youngest
AGES: dict[str, tuple[int | None, int | None]] = dict(
    zip(BUCKETS, [(30, None), (60, 30), (90, 60), (None, 90)], strict=True)
)


# --- billing events: WIP and cycle time -----------------------------------------------------


def _events(connection: Connection, statement: Rows, where: Where) -> pl.DataFrame:
    event = BillingEventRow
    sliced = _sliced(statement, "project", event.project_id, where, worker=event.resource_id)
    return read_frame(connection, sliced, load.BILLING_EVENTS)


def _wip(
    connection: Connection, as_of: date, where: Where, bucket: str | None, currency: str | None
) -> pl.DataFrame:
    """Events created by ``as_of`` for work done by then and not on an invoice issued by then:
    those never invoiced, and those on the invoices issued later (found by invoice)."""
    event = BillingEventRow
    cell = [
        event.occurred_on <= as_of,
        on_or_before(event.created_at, as_of),
        *_age(event.occurred_on, as_of, bucket),
        *([event.currency == currency] if currency else []),
    ]
    parts = [
        _events(connection, load.billing_events_query().where(*cell, open_), where)
        for open_ in (
            event.invoice_id.is_(None),
            event.invoice_id.in_(_invoices(InvoiceRow.issue_date > as_of)),
        )
    ]
    rows = unbilled(pl.concat(parts), as_of=as_of)
    return rows.filter(pl.col("bucket") == bucket) if bucket else rows


def _invoices(*conditions: Any) -> Any:
    """The ids of the invoices that meet ``conditions``, for ``invoice_id IN (…)``: invoices
    are few beside their events, so the events are then found by their invoice_id index."""
    return select(InvoiceRow.id).where(*conditions).scalar_subquery()


def _cycle(
    connection: Connection,
    start: date,
    end: date,
    as_of: date,
    where: Where,
    currency: str | None,
) -> pl.DataFrame:
    """Events on invoices posted in [start, end], with their stage durations."""
    event, invoice = BillingEventRow, InvoiceRow
    statement = load.billing_events_query().where(
        event.invoice_id.in_(
            _invoices(invoice.posted_at >= midnight(start), on_or_before(invoice.posted_at, end))
        ),
        event.occurred_on <= as_of,
        *([event.currency == currency] if currency else []),
    )
    return stage_durations(_events(connection, statement, where))


# --- time entries: utilization, approvals, realization, unapproved time -----------------------


def _entries(
    connection: Connection,
    kpi: Kpi,
    start: date,
    end: date,
    as_of: date,
    where: Where,
    bucket: str | None,
    currency: str | None,
) -> pl.DataFrame:
    entry = TimeEntryRow
    kept = entry.status != "rejected"
    in_period = entry.spent_date.between(start, end)
    owner: Owner = "person" if kpi == "utilization" else "project"
    worker = None if owner == "person" else entry.resource_id
    key = entry.resource_id if owner == "person" else entry.project_id

    def read(*conditions: Any) -> pl.DataFrame:
        statement = load.time_entries_query().where(kept, *conditions)
        return read_frame(
            connection, _sliced(statement, owner, key, where, worker=worker), load.TIME_ENTRIES
        )

    if kpi == "utilization":
        return read(in_period, entry.billable.is_(True), entry.resource_id.is_not(None))
    if kpi == "approvals":
        close = datetime.combine(cutoff(end, as_of), time.max, tzinfo=UTC)
        on_time = pl.col("approved_at").is_not_null() & (pl.col("approved_at") <= close)
        return read(in_period).with_columns(on_time.alias("approved_by_cutoff"))
    if kpi == "realization":
        worked = read(in_period, entry.status == "approved", entry.billable.is_(True))
        return _realization(connection, worked, as_of, currency)
    waiting = read(
        entry.status.in_(["submitted", "approved"]),
        on_or_before(entry.submitted_at, as_of),
        or_(entry.approved_at.is_(None), ~on_or_before(entry.approved_at, as_of)),
        *_age(entry.submitted_at, as_of, bucket, stamp=True),
    ).with_columns(
        age_bucket((pl.lit(as_of) - pl.col("submitted_at").dt.date()).dt.total_days()).alias(
            "bucket"
        )
    )
    return waiting.filter(pl.col("bucket") == bucket) if bucket else waiting


def _realization(
    connection: Connection, worked: pl.DataFrame, as_of: date, currency: str | None
) -> pl.DataFrame:
    """Approved billable entries with their standard value, what was billed for them (their
    billing event on an invoice posted by ``as_of``) and their project's currency."""
    event, invoice = BillingEventRow, InvoiceRow
    billed = pl.DataFrame(schema={"time_entry_id": pl.String, "billed_value": load.MONEY})
    ids = worked["time_entry_id"].to_list()
    for first in range(0, len(ids), CHUNK):
        found = read_frame(
            connection,
            select(event.source_record_id, event.amount)
            .join(invoice, invoice.id == event.invoice_id)
            .where(
                event.source_record_id.in_(ids[first : first + CHUNK]),
                on_or_before(invoice.posted_at, as_of),
            ),
            {"time_entry_id": pl.String, "billed_value": load.MONEY},
        )
        billed = pl.concat([billed, found])
    projects = read_frame(
        connection,
        select(ProjectRow.id, ProjectRow.currency),
        {"project_id": pl.String, "currency": pl.String},
    )
    rows = (
        worked.join(billed.with_columns(pl.col("billed_value").cast(pl.Float64)),
                    on="time_entry_id", how="left")
        .with_columns(
            (
                pl.col("hours").cast(pl.Float64)
                * pl.col("vendor_rate").cast(pl.Float64).fill_null(0)
            ).alias("standard_value"),
            pl.col("billed_value").fill_null(0.0),
        )
        .join(projects, on="project_id")
    )  # fmt: skip
    return rows.filter(pl.col("currency") == currency) if currency else rows


# --- invoices: DSO --------------------------------------------------------------------------


def _receivables(
    connection: Connection, as_of: date, where: Where, currency: str | None
) -> pl.DataFrame:
    """Invoices issued and posted by ``as_of`` with their number, what was paid on them by
    then and what was due."""
    invoice = InvoiceRow
    issued = [
        invoice.posted_at.is_not(None),
        on_or_before(invoice.posted_at, as_of),
        invoice.issue_date <= as_of,
        *([invoice.currency == currency] if currency else []),
    ]
    invoices = read_frame(
        connection,
        _sliced(load.invoices_query().where(*issued), "customer", invoice.customer_id, where),
        load.INVOICES,
    )
    payments = read_frame(
        connection,
        _sliced(
            select(PaymentRow.invoice_id, PaymentRow.amount)
            .join(invoice, invoice.id == PaymentRow.invoice_id)
            .where(*issued, PaymentRow.received_on <= as_of),
            "customer",
            invoice.customer_id,
            where,
        ),
        {"invoice_id": pl.String, "amount": load.MONEY},
    )
    paid = payments.group_by("invoice_id").agg(pl.col("amount").sum().alias("paid"))
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
    matches = [and_(event.entity_type == kind, event.entity_id == key) for kind, key in chain]
    events = read_frame(
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
