"""Harvest v2 list envelopes: page-number paging and cursor paging, with absolute links.

Every list answers ``{<collection>: [...], per_page, total_pages, total_entries, next_page,
previous_page, page, links: {first, next, previous, last}}``. ``/time_entries`` pages by number.
Endpoints that accept ``cursor`` (projects, users, clients, user_assignments) point
``links.next`` at ``?cursor=<base64>&per_page=N&ref=next_cursor``; a page reached by cursor has
``next_page`` and ``previous_page`` null. Harvest's docs also null ``page`` there, but the spec
declares ``page`` a non-nullable integer, so the emulator keeps the page number (spec wins).
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlencode

import orjson

MAX_PER_PAGE = 2000
PAGING_PARAMS = frozenset({"page", "per_page", "cursor", "ref"})
T = TypeVar("T")


class PagingError(ValueError):
    """A paging parameter Harvest would refuse with 422."""


@dataclass(frozen=True)
class PageRequest:
    """Where the client is in a list, and the filters its links must carry on."""

    base_url: str
    filters: dict[str, str]
    per_page: int
    page: int
    cursor: str | None

    def link(self, **paging: Any) -> str:
        return f"{self.base_url}?{urlencode({**self.filters, **paging})}"


def parse_paging(base_url: str, query: Mapping[str, str]) -> PageRequest:
    """Read ``page``, ``per_page`` and ``cursor``; raise ``PagingError`` on bad values."""
    per_page = _positive(query.get("per_page", str(MAX_PER_PAGE)), "per_page")
    if per_page > MAX_PER_PAGE:
        raise PagingError(f"per_page must be between 1 and {MAX_PER_PAGE}")
    page = _positive(query.get("page", "1"), "page")
    filters = {k: v for k, v in query.items() if k not in PAGING_PARAMS}
    return PageRequest(base_url, filters, per_page, page, query.get("cursor") or None)


def _positive(raw: str, name: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise PagingError(f"{name} must be an integer") from None
    if value < 1:
        raise PagingError(f"{name} must be greater than or equal to 1")
    return value


def _encode_cursor(offset: int, after_id: int) -> str:
    raw = orjson.dumps({"offset": offset, "after": after_id})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[int, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = orjson.loads(raw)
        return int(data["offset"]), int(data["after"])
    except (binascii.Error, orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        raise PagingError("cursor is invalid") from None


def numbered_page(
    collection: str, items: Sequence[T], request: PageRequest, render: Callable[[T], dict[str, Any]]
) -> dict[str, Any]:
    """A page by number; ``links.next`` asks for ``page + 1``."""
    size, page = request.per_page, request.page
    chunk = items[(page - 1) * size : page * size]
    following, before = _neighbours(page, len(items), size)
    next_link = request.link(page=following, per_page=size) if following else None
    records = [render(i) for i in chunk]
    return _envelope(collection, records, request, len(items), page, following, before, next_link)


def cursor_page(
    collection: str,
    items: Sequence[T],
    request: PageRequest,
    render: Callable[[T], dict[str, Any]],
    ident: Callable[[T], int],
) -> dict[str, Any]:
    """A page of a cursor-capable list; its ``links.next`` is a cursor link."""
    size = request.per_page
    if request.cursor is None:
        start = (request.page - 1) * size
    else:
        offset, after = _decode_cursor(request.cursor)
        ids = [ident(i) for i in items]
        start = ids.index(after) + 1 if after in ids else offset
    chunk = items[start : start + size]
    end = start + len(chunk)
    next_link = None
    if chunk and end < len(items):
        cursor = _encode_cursor(end, ident(chunk[-1]))
        next_link = request.link(cursor=cursor, per_page=size, ref="next_cursor")
    page = start // size + 1
    # a cursor page has no page numbers to go to
    neighbours = (None, None) if request.cursor is not None else _neighbours(page, len(items), size)
    records = [render(i) for i in chunk]
    return _envelope(collection, records, request, len(items), page, *neighbours, next_link)


def _neighbours(page: int, total: int, size: int) -> tuple[int | None, int | None]:
    """The numbers of the pages after and before ``page`` (``None`` where there is none)."""
    pages = math.ceil(total / size)
    return (page + 1 if page < pages else None), (page - 1 if page > 1 else None)


def _envelope(
    collection: str,
    records: list[dict[str, Any]],
    request: PageRequest,
    total: int,
    page: int,
    following: int | None,
    before: int | None,
    next_link: str | None,
) -> dict[str, Any]:
    size = request.per_page
    pages = math.ceil(total / size)
    return {
        collection: records,
        "per_page": size,
        "total_pages": pages,
        "total_entries": total,
        "next_page": following,
        "previous_page": before,
        "page": page,
        "links": {
            "first": request.link(page=1, per_page=size),
            "next": next_link,
            "previous": request.link(page=before, per_page=size) if before else None,
            "last": request.link(page=max(pages, 1), per_page=size),
        },
    }
