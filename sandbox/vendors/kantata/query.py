"""Kantata OX list requests and normalised responses.

Every list answers ``{count, meta: {count, page_count, page_number, page_size}, results: [{key,
id}], <collection>: {"<id>": {...}}, <side-loaded>: {...}}``: objects are keyed by their string
id under a plural key and ``results`` gives order and membership. Common parameters: ``page``
(default 1), ``per_page`` (default 20, at most 200), ``only=1,2``, ``include=a,b``,
``order=field:asc|desc``, ``updated_after`` and ``created_after`` (ISO 8601).

``per_page`` above 200 is clamped to 200 (``meta.page_size`` says so) rather than refused: the
docs give the maximum but not what happens past it [unconfirmed]. ``updated_after`` and
``created_after`` are strict ("after") [unconfirmed]. An unknown ``include`` or ``order`` field
is a 400 [unconfirmed].
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

Record = dict[str, Any]
Table = dict[str, Record]
DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 200


class QueryError(ValueError):
    """A parameter Kantata would refuse; ``status`` is the reply's status code."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class ListQuery:
    """The common list parameters, parsed."""

    page: int
    per_page: int
    only: frozenset[str] | None
    include: tuple[str, ...]
    order: tuple[str, bool] | None  # (field, descending)
    updated_after: datetime | None
    created_after: datetime | None


def parse_moment(raw: str, name: str) -> datetime:
    """ISO 8601 as an aware UTC datetime; a date alone means its midnight UTC."""
    try:
        moment = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        raise QueryError(f"{name} must be an ISO 8601 date and time", 400) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _positive(raw: str, name: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise QueryError(f"{name} must be an integer", 400) from None
    if value < 1:
        raise QueryError(f"{name} must be greater than 0", 400)
    return value


def split(raw: str | None) -> list[str]:
    return [part.strip() for part in (raw or "").split(",") if part.strip()]


def parse_query(params: Mapping[str, str], includes: Iterable[str]) -> ListQuery:
    """The common parameters of ``params``; raise ``QueryError`` on a bad one."""
    known = set(includes)
    include = tuple(split(params.get("include")))
    unknown = [name for name in include if name not in known]
    if unknown:
        raise QueryError(f"unknown include: {', '.join(unknown)}")
    order = None
    if params.get("order"):
        field, _, direction = params["order"].partition(":")
        if direction not in ("", "asc", "desc"):
            raise QueryError("order direction must be asc or desc")
        order = (field.strip(), direction == "desc")
    only = split(params.get("only"))
    return ListQuery(
        page=_positive(params.get("page", "1"), "page"),
        per_page=min(
            _positive(params.get("per_page", str(DEFAULT_PER_PAGE)), "per_page"), MAX_PER_PAGE
        ),
        only=frozenset(only) if only else None,
        include=include,
        order=order,
        updated_after=_moment(params, "updated_after"),
        created_after=_moment(params, "created_after"),
    )


def _moment(params: Mapping[str, str], name: str) -> datetime | None:
    return parse_moment(params[name], name) if params.get(name) else None


def select(records: Iterable[Record], query: ListQuery) -> list[Record]:
    """The records passing ``only`` and the time filters, in the requested order."""
    chosen = [r for r in records if _passes(r, query)]
    if query.order is None:
        return sorted(chosen, key=lambda r: int(r["id"]))
    field, descending = query.order
    if field == "id":
        return sorted(chosen, key=lambda r: int(r["id"]), reverse=descending)
    if chosen and field not in chosen[0]:
        raise QueryError(f"cannot order by {field}")
    return sorted(chosen, key=lambda r: (r[field] or "", int(r["id"])), reverse=descending)


def _passes(record: Record, query: ListQuery) -> bool:
    if query.only is not None and record["id"] not in query.only:
        return False
    if query.updated_after and parse_moment(record["updated_at"], "") <= query.updated_after:
        return False
    return not (
        query.created_after and parse_moment(record["created_at"], "") <= query.created_after
    )


# An include: the collection it side-loads into, and the ids of a record it names.
Include = tuple[str, Callable[[Record], Sequence[Any]]]


def ref(field: str) -> Callable[[Record], Sequence[Any]]:
    """The ids a record names in ``field`` (a single id or a list of ids)."""

    def ids(record: Record) -> Sequence[Any]:
        value = record.get(field)
        if value is None:
            return ()
        return value if isinstance(value, list) else (value,)

    return ids


def page_of(chosen: Sequence[Record], query: ListQuery) -> list[Record]:
    """The slice of ``chosen`` that ``page`` and ``per_page`` ask for."""
    return list(chosen[(query.page - 1) * query.per_page : query.page * query.per_page])


def envelope(
    collection: str,
    page: Sequence[Record],
    total: int,
    query: ListQuery,
    includes: Mapping[str, Include],
    tables: Mapping[str, Table],
) -> dict[str, Any]:
    """One page in Kantata's normalised shape, with the side-loads asked for."""
    body: dict[str, Any] = {
        "count": total,
        "meta": {
            "count": total,
            "page_count": math.ceil(total / query.per_page),
            "page_number": query.page,
            "page_size": query.per_page,
        },
        "results": [{"key": collection, "id": r["id"]} for r in page],
        collection: {r["id"]: r for r in page},
    }
    for name in query.include:
        target, ids = includes[name]
        loaded = body.setdefault(target, {})
        table = tables[target]
        for record in page:
            for key in ids(record):
                if str(key) in table:
                    loaded[str(key)] = table[str(key)]
    return body
