"""What Harvest clients send: list filters (parsed once into a hashable tuple, then matched
against records) and time-entry fields in JSON or form bodies.

Unknown parameters are ignored, as Harvest does; a malformed value raises ``ValueError``
(answered with 422).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import parse_qsl

import polars as pl
from starlette.requests import Request

from sandbox.vendors.harvest_records import HarvestRecords, Record, iso
from sandbox.vendors.wire import parse_json, sent_json

Filters = tuple[tuple[str, Any], ...]
EDITABLE = ("project_id", "task_id", "spent_date", "hours", "notes", "user_id", "billable")
_IDS = ("user_id", "client_id", "project_id", "task_id")
_FLAGS = ("is_billed", "is_running", "is_active")


def parse_datetime(raw: str) -> datetime:
    """ISO 8601 as an aware UTC datetime; a date alone means its midnight UTC."""
    try:
        moment = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"updated_since is not an ISO 8601 date and time: {raw!r}") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _flag(name: str, raw: str) -> bool:
    if raw.lower() not in ("true", "false"):
        raise ValueError(f"{name} must be true or false")
    return raw.lower() == "true"


def _number(name: str, raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{name} must be an integer") from None


def _day(name: str, raw: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"{name} must be a date (YYYY-MM-DD)") from None


def parse_filters(query: Mapping[str, str], *, entries: bool) -> Filters:
    """The filters in ``query`` this list understands, typed and sorted by name."""
    found: list[tuple[str, Any]] = []
    for name, raw in query.items():
        if name == "updated_since":
            found.append((name, parse_datetime(raw)))
        elif name in _IDS:
            found.append((name, _number(name, raw)))
        elif name in _FLAGS:
            found.append((name, _flag(name, raw)))
        elif entries and name in ("from", "to"):
            found.append((name, _day(name, raw)))
    return tuple(sorted(found, key=lambda pair: pair[0]))


def entry_matches(entry: dict[str, Any], filters: Filters) -> bool:
    """Whether a stored time entry passes every filter (``updated_since`` is inclusive)."""
    for name, wanted in filters:
        if name == "updated_since":
            if entry["updated_at"] < wanted:
                return False
        elif name == "from":
            if entry["spent_date"] < wanted:
                return False
        elif name == "to":
            if entry["spent_date"] > wanted:
                return False
        elif name == "is_running":
            if wanted:
                return False
        elif name != "is_active" and entry.get(name) != wanted:
            return False
    return True


def entry_expression(filters: Filters) -> pl.Expr:
    """The same filters as a polars predicate over the Harvest entry frame."""
    c = pl.col
    predicate = pl.lit(True)
    for name, wanted in filters:
        if name == "updated_since":
            predicate &= c("updated_at") >= wanted
        elif name == "from":
            predicate &= c("spent_date") >= wanted
        elif name == "to":
            predicate &= c("spent_date") <= wanted
        elif name == "is_running":
            predicate &= pl.lit(not wanted)
        elif name != "is_active":
            predicate &= c(name) == wanted
    return predicate


def record_matches(record: Record, filters: Filters) -> bool:
    """Whether a rendered record (reference lists, expenses) passes every filter."""
    for name, wanted in filters:
        if name == "updated_since":
            if record["updated_at"] < iso(wanted):
                return False
        elif name in ("from", "to"):
            day = record["spent_date"]
            if day < wanted.isoformat() if name == "from" else day > wanted.isoformat():
                return False
        elif name in ("client_id", "user_id", "project_id"):
            ref = record.get(name.removesuffix("_id"))
            if not isinstance(ref, dict) or ref.get("id") != wanted:
                return False
        elif record.get(name) != wanted:
            return False
    return True


async def read_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not sent_json(request):
        return dict(parse_qsl(raw.decode()))
    parsed = parse_json(raw)
    if not isinstance(parsed, dict):
        raise ValueError("request body must be an object")
    return parsed


def entry_changes(body: dict[str, Any], records: HarvestRecords) -> dict[str, Any]:
    """Typed, validated fields a client may set on a time entry."""
    out: dict[str, Any] = {}
    for name in EDITABLE:
        if name not in body:
            continue
        value = body[name]
        if name in ("project_id", "task_id", "user_id"):
            out[name] = int(value)
        elif name == "hours":
            out[name] = float(value)
        elif name == "spent_date":
            out[name] = date.fromisoformat(str(value))
        elif name == "billable":
            out[name] = value in (True, "true", "1")
        else:
            out[name] = str(value)
    if "project_id" in out and not records.has_project(out["project_id"]):
        raise ValueError("Project not found")
    if "task_id" in out and not records.has_task(out["task_id"]):
        raise ValueError("Task not found")
    if "user_id" in out and not records.has_user(out["user_id"]):
        raise ValueError("User not found")
    return out
