"""Kantata time entries, read straight from the world's columnar time (read-only here).

Time is many rows, so the list is filtered and sliced in polars and only the page asked for is
rendered. Entries on a project the world does not know (a planted fault) are left out: Kantata
cannot hold time outside a workspace. ``approved`` is the entry's approval state; no rate is
priced here (``rate_in_cents`` is null) because plan2cash prices from the rate card.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import polars as pl

from sandbox.vendors.kantata.projection import BASES, kantata_id, stamp
from sandbox.vendors.kantata.query import ListQuery, QueryError, Record, parse_moment, split
from sandbox.world.model import World

_USER = BASES["user"]
_WORKSPACE = BASES["workspace"]
_ENTRY = BASES["time_entry"]
_ID_FILTERS = (("workspace_id", "project_id", _WORKSPACE), ("user_id", "employee_id", _USER))


class TimeEntries:
    """The world's time entries as Kantata ``time_entries``."""

    def __init__(self, world: World) -> None:
        projects = pl.DataFrame(
            {
                "project_id": [p.id for p in world.projects],
                "currency": [p.currency for p in world.projects],
            },
            schema={"project_id": pl.Int64, "currency": pl.String},
        )
        self._frame = world.time_entries.join(projects, on="project_id", how="inner").sort("id")

    def page(self, params: Mapping[str, str], query: ListQuery) -> tuple[list[Record], int]:
        """The records of the requested page and how many match in all."""
        frame = self._frame.filter(_filters(params, query))
        if query.order is not None:
            field, descending = query.order
            column = {"updated_at": "updated_at", "created_at": "created_at", "id": "id"}
            if field not in column:
                raise QueryError(f"cannot order by {field}")
            frame = frame.sort([column[field], "id"], descending=descending)
        size = query.per_page
        chunk = frame.slice((query.page - 1) * size, size)
        return [_record(row) for row in chunk.iter_rows(named=True)], frame.height


def _filters(params: Mapping[str, str], query: ListQuery) -> pl.Expr:
    where = pl.lit(True)
    if query.only is not None:
        wanted = [int(i) - _ENTRY for i in query.only if i.isdigit()]
        where &= pl.col("id").is_in(wanted)
    if query.updated_after is not None:
        where &= pl.col("updated_at") > query.updated_after
    if query.created_after is not None:
        where &= pl.col("created_at") > query.created_after
    for name, column, base in _ID_FILTERS:
        ids = [int(i) - base for i in split(params.get(name)) if i.isdigit()]
        if params.get(name):
            where &= pl.col(column).is_in(ids)
    if params.get("approved"):
        flag = params["approved"].lower()
        if flag not in ("true", "false"):
            raise QueryError("approved must be true or false")
        approved = pl.col("status") == "approved"
        where &= approved if flag == "true" else ~approved
    if params.get("date_performed_between"):
        start, _, end = params["date_performed_between"].partition(":")
        where &= pl.col("spent_date").is_between(
            parse_moment(start, "date_performed_between").date(),
            parse_moment(end, "date_performed_between").date(),
        )
    return where


def _record(row: dict[str, Any]) -> Record:
    minutes = math.floor(row["hours"] * 60) if row["hours"] is not None else 0
    created: datetime = row["created_at"] or datetime.now(UTC)
    return {
        "id": kantata_id("time_entry", row["id"]),
        "workspace_id": kantata_id("workspace", row["project_id"]),
        "user_id": kantata_id("user", row["employee_id"]),
        "story_id": None,
        "date_performed": row["spent_date"].isoformat(),
        "time_in_minutes": int(minutes),
        "billable": bool(row["billable"]),
        "notes": row["notes"] or "",
        "rate_in_cents": None,
        "cost_rate_in_cents": None,
        "currency": row["currency"],
        "approved": row["status"] == "approved",
        "active_submission_id": None,
        "is_invoiced": row["invoice_id"] is not None,
        "taxable": False,
        "location": None,
        "created_at": stamp(created),
        "updated_at": stamp(row["updated_at"] or created),
    }
