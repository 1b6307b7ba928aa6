"""Revenue leakage read from the store: the approved billable time that leaks, in the shape
:mod:`metrics.leakage` values it (:func:`metrics.revenue_leakage` does both).

Leakage is a point figure, like WIP: what has leaked as known at the as-of date, over the work of
the ``LOOKBACK_DAYS`` before it (a year, and the close and grace period of the month before).
The rollups keep no link from a time entry to the billing event and invoice that billed it, and
a wrong rate shows only entry by entry, so leakage reads raw rows; but one query does the
filtering in the database — the window is an index range on ``spent_date``, each entry finds its
billing event through ``source_record_id`` and its invoice by key — and returns only the entries
that are not billed by the as-of date or were billed below their rate. Definitions:
``metrics.leakage`` and ``docs/kpis.md``.

The rate work should have been billed at is its standard rate (the time system's billable rate,
as in realization); where it has none, its billing event's rate (the rate card's) or, for time
held as an exception, the value the engine put at risk ÷ its hours.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

import polars as pl
from sqlalchemy import Connection, and_, case, or_, select
from sqlalchemy.orm import aliased

from metrics.facts import slicing
from metrics.load import MONEY, on_or_before
from metrics.slices import Dimension
from sync.store import (
    OPEN_STATUSES,
    BillingEventRow,
    ExceptionRow,
    InvoiceRow,
    ProjectRow,
    TimeEntryRow,
    likely,
    read_frame,
)

LOOKBACK_DAYS = 400
CHUNK = 500
CANDIDATES: dict[str, Any] = {
    "time_entry_id": pl.String,
    "resource_id": pl.String,
    "project_id": pl.String,
    "spent_date": pl.Date,
    "hours": MONEY,
    "vendor_rate": MONEY,
    "event_rate": MONEY,
    "billed_rate": MONEY,
    "event_currency": pl.String,
    "project_currency": pl.String,
    "project_status": pl.String,
    "project_end": pl.Date,
}
HELD: dict[str, Any] = {
    "time_entry_id": pl.String,
    "value_at_risk": MONEY,
    "exception_currency": pl.String,
}


def entries(
    connection: Connection,
    *,
    as_of: date,
    by: Dimension | None = None,
    where: Mapping[Dimension, str] | None = None,
    since: date | None = None,
) -> pl.DataFrame:
    """Approved billable time dated in [``since``, ``as_of``] that is on no invoice issued by
    ``as_of``, or was billed below its standard rate, in the shape ``metrics.leakage`` reads
    (plus ``time_entry_id``, ``resource_id``, ``project_id`` and the ``by`` column)."""
    entry, event, invoice = TimeEntryRow, BillingEventRow, InvoiceRow
    project = aliased(ProjectRow, name="entry_project")
    cut = slicing("project", entry.project_id, by, where, worker=entry.resource_id)
    billed = invoice.id.is_not(None)
    statement = (
        select(
            *([cut.column] if cut.column is not None else []),
            entry.id, entry.resource_id, entry.project_id, entry.spent_date, entry.hours,
            entry.vendor_rate, event.rate, case((billed, event.rate)), event.currency,
            project.currency, project.status, project.end,
        )
        .select_from(entry)
        .outerjoin(event, event.source_record_id == entry.id)
        .outerjoin(invoice, and_(invoice.id == event.invoice_id, invoice.issue_date <= as_of))
        .outerjoin(project, project.id == entry.project_id)
    )  # fmt: skip
    if cut.join is not None:
        statement = statement.outerjoin(*cut.join)
    statement = statement.where(
        entry.spent_date.between(since or as_of - timedelta(days=LOOKBACK_DAYS), as_of),
        likely(entry.deleted_at.is_(None)),
        entry.status == "approved",
        entry.billable.is_(True),
        or_(entry.approved_at.is_(None), on_or_before(entry.approved_at, as_of)),
        or_(entry.is_billed.is_(None), entry.is_billed.is_(False)),  # billed outside plan2cash
        or_(~billed, event.rate < entry.vendor_rate),
        *cut.filters,
    )
    schema = ({str(by): pl.String} if cut.column is not None else {}) | CANDIDATES
    candidates = read_frame(connection, statement, schema)
    if by and cut.column is None:
        candidates = candidates.with_columns(pl.lit(None, pl.String).alias(by))
    return shape(candidates, _held(connection, candidates))


def _held(connection: Connection, candidates: pl.DataFrame) -> pl.DataFrame:
    """Open exceptions on the candidates that have no rate of their own."""
    unpriced = candidates.filter(pl.col("vendor_rate").is_null() & pl.col("event_rate").is_null())[
        "time_entry_id"
    ].to_list()
    row = ExceptionRow
    parts = [pl.DataFrame(schema=HELD)]
    for first in range(0, len(unpriced), CHUNK):
        parts.append(
            read_frame(
                connection,
                select(row.entity_id, row.value_at_risk, row.currency).where(
                    row.status.in_(OPEN_STATUSES),
                    row.entity_type == "time_entry",
                    row.entity_id.in_(unpriced[first : first + CHUNK]),
                ),
                HELD,
            )
        )
    return pl.concat(parts).unique("time_entry_id", keep="first")


def shape(candidates: pl.DataFrame, held: pl.DataFrame) -> pl.DataFrame:
    """Candidates (``CANDIDATES``) and the open exceptions holding some of them (``HELD``) as
    ``metrics.leakage`` reads them. ``on_closed_project``: dated after the end of a project that
    is closed. Time with no currency anywhere cannot be valued and is left out."""
    held_rate = pl.col("value_at_risk").cast(pl.Float64) / pl.col("hours").cast(pl.Float64)
    closed = (pl.col("project_status") == "closed") & (pl.col("spent_date") > pl.col("project_end"))
    return (
        candidates.join(held, on="time_entry_id", how="left")
        .with_columns(
            pl.col("hours").cast(pl.Float64),
            currency=pl.coalesce("event_currency", "exception_currency", "project_currency"),
            approved=pl.lit(True),
            billable=pl.lit(True),
            expected_rate=pl.coalesce(
                pl.col("vendor_rate").cast(pl.Float64),
                pl.col("event_rate").cast(pl.Float64),
                held_rate,
            ),
            billed_rate=pl.col("billed_rate").cast(pl.Float64),
            on_closed_project=closed.fill_null(False),
        )
        .filter(pl.col("currency").is_not_null())
        .drop("vendor_rate", "event_rate", "event_currency", "project_currency",
              "project_status", "project_end", "value_at_risk", "exception_currency")
    )  # fmt: skip
