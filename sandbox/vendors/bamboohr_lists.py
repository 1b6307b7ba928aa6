"""``GET /api/v1/employees``: its query (deepObject ``filter[...]`` and ``page[...]``, ``sort``,
``fields``) and its cursor-paged envelope.

Cursors are opaque base64 JSON naming the boundary employee and the direction, in the form of the
spec's example (``{"cursor": "after-124"}``). ``page[after]`` takes a ``nextCursor`` and
``page[before]`` a ``prevCursor``; a malformed cursor, the wrong direction, or a boundary employee
that no longer matches (deleted, filtered out) is ``400 BadPage``, as the spec describes. Other
bad input is ``400 BadRequest``. ``limit`` defaults to 250 and may be at most 2500.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar
from urllib.parse import urlencode

import orjson
from starlette.datastructures import QueryParams

DEFAULT_LIMIT = 250
MAX_LIMIT = 2500
SORTABLE = frozenset(
    {"employeeId", "firstName", "lastName", "preferredName", "jobTitleName", "status"}
)
TEXT_FILTERS = ("firstName", "lastName", "jobTitleName")
T = TypeVar("T")


class ListError(ValueError):
    """A request BambooHR refuses with 400 and ``{"error": {"code", "message"}}``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class ListQuery:
    """What the caller asked of the employee list."""

    status: str | None
    ids: frozenset[int] | None
    text: tuple[tuple[str, str], ...]
    sort: tuple[tuple[str, bool], ...]  # (field, descending)
    fields: list[str]
    limit: int
    after: str | None
    before: str | None

    def matches(self, record: dict[str, Any]) -> bool:
        if self.status is not None and str(record["status"]).lower() != self.status:
            return False
        if self.ids is not None and int(record["employeeId"]) not in self.ids:
            return False
        return all(needle in str(record.get(key) or "").lower() for key, needle in self.text)


def parse_list_query(query: QueryParams) -> ListQuery:
    known = {f"filter[{k}]" for k in (*TEXT_FILTERS, "status", "ids")} | {"filter[ids][]"}
    unknown = [k for k in query if k.startswith("filter[") and k not in known]
    if unknown:
        raise ListError("BadRequest", f"Unknown filter {unknown[0]}")
    status = query.get("filter[status]")
    if status is not None and status not in ("active", "inactive"):
        raise ListError("BadRequest", "filter[status] must be active or inactive")
    if query.get("page[after]") and query.get("page[before]"):
        raise ListError("BadPage", "Use page[after] or page[before], not both")
    return ListQuery(
        status=status,
        ids=_ids(query),
        text=tuple(
            (k, query[f"filter[{k}]"].lower()) for k in TEXT_FILTERS if f"filter[{k}]" in query
        ),
        sort=_sort(query.get("sort", "")),
        fields=[f.strip() for f in query.get("fields", "").split(",") if f.strip()],
        limit=_limit(query.get("page[limit]")),
        after=query.get("page[after]") or None,
        before=query.get("page[before]") or None,
    )


def _ids(query: QueryParams) -> frozenset[int] | None:
    raw = query.getlist("filter[ids][]") + query.getlist("filter[ids]")
    if not raw:
        return None
    try:
        return frozenset(int(p) for item in raw for p in item.split(",") if p.strip())
    except ValueError:
        raise ListError("BadRequest", "filter[ids] must be employee ids") from None


def _sort(raw: str) -> tuple[tuple[str, bool], ...]:
    keys = [part.strip() for part in raw.split(",") if part.strip()]
    for key in keys:
        if key.lstrip("-") not in SORTABLE:
            raise ListError("BadRequest", f"Cannot sort by {key.lstrip('-')}")
    return tuple((key.lstrip("-"), key.startswith("-")) for key in keys) or (("employeeId", False),)


def _limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    try:
        limit = int(raw)
    except ValueError:
        raise ListError("BadRequest", "page[limit] must be an integer") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise ListError("BadRequest", f"page[limit] must be between 1 and {MAX_LIMIT}")
    return limit


def sort_records(records: list[dict[str, Any]], keys: Sequence[tuple[str, bool]]) -> None:
    """Sort in place; nulls first ascending and last descending, ties by employee id."""
    records.sort(key=lambda r: int(r["employeeId"]))
    for key, descending in reversed(keys):
        records.sort(key=partial(_sort_key, key), reverse=descending)


def _sort_key(key: str, record: dict[str, Any]) -> tuple[int, Any]:
    value = record.get(key)
    if value is None:
        return (0, 0)
    return (1, int(value) if key == "employeeId" else str(value).lower())


def encode_cursor(direction: str, employee_id: int) -> str:
    return base64.b64encode(orjson.dumps({"cursor": f"{direction}-{employee_id}"})).decode()


def decode_cursor(cursor: str, direction: str) -> int:
    try:
        raw = orjson.loads(base64.b64decode(cursor + "=" * (-len(cursor) % 4), validate=True))
        kind, _, ident = str(raw["cursor"]).partition("-")
        if kind != direction:
            raise ListError("BadPage", f"page[{direction}] was given a cursor for {kind}")
        return int(ident)
    except (binascii.Error, orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        raise ListError("BadPage", "The page cursor is malformed") from None


def cursor_page(
    items: list[T], ident: Callable[[T], int], query: ListQuery, url: str, params: QueryParams
) -> tuple[list[T], dict[str, Any], dict[str, Any]]:
    """The page of ``items`` the cursor points at, with its ``meta`` and ``_links``."""
    ids = [ident(i) for i in items]
    start, stop = 0, query.limit
    if query.after is not None or query.before is not None:
        direction = "after" if query.after is not None else "before"
        boundary = decode_cursor(query.after or query.before or "", direction)
        if boundary not in ids:
            raise ListError("BadPage", "The page boundary employee no longer matches the request")
        at = ids.index(boundary)
        start, stop = (
            (at + 1, at + 1 + query.limit)
            if direction == "after"
            else (
                max(0, at - query.limit),
                at,
            )
        )
    chunk = items[start:stop]
    end = start + len(chunk)
    following = encode_cursor("after", ids[end - 1]) if chunk and end < len(items) else None
    previous = encode_cursor("before", ids[start]) if chunk and start > 0 else None
    meta = {
        "total": len(items),
        "page": {"limit": query.limit, "nextCursor": following, "prevCursor": previous},
    }
    kept = [(k, v) for k, v in params.multi_items() if not k.startswith("page[")]
    links: dict[str, Any] = {"self": {"href": f"{url}?{urlencode(params.multi_items())}"}}
    limit = ("page[limit]", str(query.limit))
    if following:
        links["next"] = {"href": f"{url}?{urlencode([*kept, limit, ('page[after]', following)])}"}
    if previous:
        links["prev"] = {"href": f"{url}?{urlencode([*kept, limit, ('page[before]', previous)])}"}
    return chunk, meta, links
