"""Pages of Harvest time entries as polars frames: the hot path (DESIGN §10)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

import polars as pl

from collectors.entities import (
    TimeEntry,
    canonical_id,
)
from collectors.harvest.mapping import VENDOR, _id, _ref, parse_datetime

TIME_SCHEMA: dict[str, Any] = {
    "id": pl.String,
    "source_id": pl.String,
    "resource_id": pl.String,
    "project_id": pl.String,
    "project_source_id": pl.String,
    "customer_source_id": pl.String,
    "task": pl.String,
    "spent_date": pl.Date,
    "hours": pl.String,
    "billable": pl.Boolean,
    "status": pl.String,
    "notes": pl.String,
    "vendor_rate": pl.String,
    "submitted_at": pl.Datetime("us", "UTC"),
    "approved_at": pl.Datetime("us", "UTC"),
    "updated_at": pl.Datetime("us", "UTC"),
    "is_billed": pl.Boolean,
    "row": pl.Int64,
}


# What a time entry page is read as: every field we use, as the type we want or as text where
# the value needs parsing. A value of the wrong type becomes null (strict=False), which the rules
# then report as a malformed record, with the raw payload, instead of failing the page.
RAW_TIME_SCHEMA: dict[str, Any] = {
    "id": pl.Int64,
    "spent_date": pl.String,
    "hours": pl.String,
    "billable": pl.Boolean,
    "is_closed": pl.Boolean,
    "is_billed": pl.Boolean,
    "user": pl.Struct({"id": pl.Int64}),
    "project": pl.Struct({"id": pl.Int64}),
    "client": pl.Struct({"id": pl.Int64}),
    "task": pl.Struct({"name": pl.String}),
    "billable_rate": pl.String,
    "notes": pl.String,
    "created_at": pl.String,
    "updated_at": pl.String,
    "invoice": pl.Struct({"id": pl.Int64}),
}
UTC_TIME = pl.Datetime("us", "UTC")


@runtime_checkable
class Framed(Protocol):
    """A page that was mapped as it was read (``collectors.harvest.pages.TimeEntryPage``)."""

    frame: pl.DataFrame


def time_entries_frame(page: Sequence[Any]) -> pl.DataFrame:
    """One page of Harvest time entries as a frame. Unparseable fields become nulls, which the
    engine's rules report as malformed records (with the raw payload) instead of crashing.

    Built column-wise by polars (the hot path, DESIGN §10); a page polars cannot take in one go
    (a value of a type no column can hold) is built record by record instead. A page read
    straight from the response body already carries its frame."""
    if isinstance(page, Framed):
        return page.frame
    records = [raw if isinstance(raw, dict) else {} for raw in page]
    try:
        raw = pl.DataFrame(records, schema=RAW_TIME_SCHEMA, strict=False)
    except (pl.exceptions.ComputeError, TypeError, ValueError, OverflowError):
        return _time_entries_by_record(page)
    return _from_columns(raw)


def _from_columns(raw: pl.DataFrame) -> pl.DataFrame:
    ids = raw["id"].cast(pl.String)
    known = pl.col("source_id").is_not_null()
    closed = pl.col("is_closed").fill_null(False)
    frame = raw.with_columns(
        source_id=ids,
        row=pl.int_range(pl.len(), dtype=pl.Int64),
        project_source_id=pl.col("project").struct.field("id").cast(pl.String),
        user_source_id=pl.col("user").struct.field("id").cast(pl.String),
        customer_source_id=pl.col("client").struct.field("id").cast(pl.String),
        updated=_instant("updated_at"),
    )
    frame = frame.select(
        pl.Series("id", _canonical("time_entry", ids), dtype=pl.String),
        "source_id",
        pl.col("user_source_id")
        .replace_strict(
            _id_map("resource", frame["user_source_id"]), default=None, return_dtype=pl.String
        )
        .alias("resource_id"),
        pl.col("project_source_id")
        .replace_strict(
            _id_map("project", frame["project_source_id"]), default=None, return_dtype=pl.String
        )
        .alias("project_id"),
        "project_source_id",
        "customer_source_id",
        pl.col("task").struct.field("name").alias("task"),
        pl.col("spent_date").str.to_date("%Y-%m-%d", strict=False),
        pl.col("hours").cast(DECIMAL, strict=False),
        "billable",
        pl.when(closed).then(pl.lit("approved")).otherwise(pl.lit("submitted")).alias("status"),
        "notes",
        pl.col("billable_rate").cast(DECIMAL, strict=False).alias("vendor_rate"),
        _instant("created_at").alias("submitted_at"),
        pl.when(closed).then(pl.col("updated")).alias("approved_at"),
        pl.col("updated").alias("updated_at"),
        # invoiced in Harvest (outside plan2cash): an invoice reference or the flag
        pl.when(pl.col("invoice").struct.field("id").is_not_null())
        .then(pl.lit(True))
        .otherwise(pl.col("is_billed"))
        .alias("is_billed"),
        "row",
    )
    # a record without an id is unreadable as a whole: nothing of it is trusted
    return frame.with_columns(
        [pl.when(known).then(pl.col(c)).alias(c) for c in frame.columns if c != "row"]
    )


def _time_entries_by_record(page: Sequence[Any]) -> pl.DataFrame:
    """The same frame, one record at a time: slower, but takes any value of any type."""
    rows = [_time_row(i, raw) for i, raw in enumerate(page)]
    frame = pl.DataFrame(rows, schema=TIME_SCHEMA, orient="row", strict=False)
    return frame.with_columns(  # exact decimals: money must total to the cent
        pl.col("hours", "vendor_rate").cast(DECIMAL, strict=False)
    )


DECIMAL = pl.Decimal(18, 4)


def _instant(column: str) -> pl.Expr:
    """ISO 8601 with an offset (``Z``, ``+02:00``) or without one (taken as UTC)."""
    text = pl.col(column)
    zoned = text.str.to_datetime(
        "%Y-%m-%dT%H:%M:%S%.f%#z", time_zone="UTC", time_unit="us", strict=False
    )
    naive = text.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f", time_unit="us", strict=False)
    return pl.coalesce(zoned, naive.dt.replace_time_zone("UTC"))


def _canonical(entity_type: str, ids: pl.Series) -> list[str | None]:
    return [None if i is None else canonical_id(VENDOR, entity_type, i) for i in ids]


def _id_map(entity_type: str, ids: pl.Series) -> dict[str, str]:
    """Canonical ids of the distinct values only (a page names few people and projects)."""
    return {i: canonical_id(VENDOR, entity_type, i) for i in ids.drop_nulls().unique()}


def _time_row(i: int, raw: Any) -> tuple[Any, ...]:
    if not isinstance(raw, dict) or raw.get("id") is None:
        return (None,) * (len(TIME_SCHEMA) - 1) + (i,)
    closed = raw.get("is_closed") is True
    updated = parse_datetime(raw.get("updated_at"))
    task = raw.get("task")
    return (
        canonical_id(VENDOR, "time_entry", raw["id"]),
        str(raw["id"]),
        _id("resource", _ref(raw, "user")),
        _id("project", _ref(raw, "project")),
        _str(_ref(raw, "project")),
        _str(_ref(raw, "client")),
        task.get("name") if isinstance(task, dict) else None,
        _date(raw.get("spent_date")),
        _number(raw.get("hours")),
        _bool(raw.get("billable")),
        "approved" if closed else "submitted",
        raw.get("notes"),
        _number(raw.get("billable_rate")),
        parse_datetime(raw.get("created_at")),
        updated if closed else None,
        updated,
        True if raw.get("invoice") else _bool(raw.get("is_billed")),  # invoiced outside us
        i,
    )


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def _bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _number(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    return str(value)


def _date(value: Any) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def to_time_entry(raw: dict[str, Any]) -> TimeEntry:
    """One entry as a canonical entity (for the edges: replay, single-record checks); the hot
    path maps whole pages with ``time_entries_frame`` instead. Raises on a malformed record."""
    row = dict(zip(TIME_SCHEMA, _time_row(0, raw), strict=True))
    return TimeEntry(
        id=row["id"],
        source=VENDOR,
        source_id=row["source_id"],
        updated_at=row["updated_at"],
        resource_id=row["resource_id"],
        project_id=row["project_id"],
        task=row["task"],
        spent_date=row["spent_date"],
        hours=raw["hours"] if row["hours"] is None else Decimal(row["hours"]),
        billable=row["billable"],
        status=row["status"],
        notes=row["notes"],
        vendor_rate=None if row["vendor_rate"] is None else Decimal(row["vendor_rate"]),
        submitted_at=row["submitted_at"],
        approved_at=row["approved_at"],
    )


# --- time entries: a page at a time -----------------------------------------------------------
