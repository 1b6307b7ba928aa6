"""Streams and the one page loop every vendor reads through.

A ``Stream`` says where a collection lives, how it pages (a paginator, ``collectors.paging``) and
where its records are. ``pages`` fetches page after page through ``collectors.http.call_parsed``
(retries, pacing, a span per call) and hands each response to a parse hook, which makes of it a
``Page``: what the loop yields, the body the paginator reads, and the fingerprint ``PageTrail``
checks. The default hook reads a JSON list of records; a vendor with another page shape brings
its own (Harvest reads time entries straight into a frame, Kantata's pages are ID-keyed).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, overload

import httpx

from collectors.errors import SchemaDriftError
from collectors.http import bound, call_parsed, decode
from collectors.paging import MAX_PAGES, Fingerprint, PageTrail, Paginator

T = TypeVar("T")
Record = dict[str, Any]


@dataclass(frozen=True)
class Stream:
    """A collection a connector reads: where it lives, how it pages, where its records are."""

    name: str
    path: str
    records: str
    paginator: Paginator
    key: str = "id"
    cursor: str | None = "updated_at"
    headers: Mapping[str, str] = field(default_factory=dict)
    method: str = "GET"  # a query sent as a body (NetSuite SuiteQL) is a POST


@dataclass(frozen=True)
class Page(Generic[T]):
    """What a parse hook makes of one response: what the page loop hands on (``records``), what
    the paginator reads (``body``) and the page's ``fingerprint`` (``PageTrail``)."""

    records: T
    body: Any
    fingerprint: Fingerprint | None


def json_records(stream: Stream, vendor: str) -> Callable[[httpx.Response], Page[list[Record]]]:
    """The parse hook for a JSON body with the stream's records as a list at ``stream.records``
    (the page loop's default)."""

    def parse(response: httpx.Response) -> Page[list[Record]]:
        body = decode(response, vendor=vendor)
        records = body.get(stream.records) if isinstance(body, dict) else None
        if not isinstance(records, list):
            raise SchemaDriftError(
                f"{vendor} {stream.name}: response has no list at {stream.records!r}",
                vendor=vendor,
                details=sorted(body) if isinstance(body, dict) else type(body).__name__,
            )
        return Page(records, body, PageTrail.fingerprint(records, stream.key))

    return parse


@overload
def pages(
    client: httpx.Client,
    stream: Stream,
    params: Mapping[str, str],
    *,
    headers: Mapping[str, str] | None = None,
    json: Any = None,
    max_pages: int = MAX_PAGES,
) -> Iterator[list[Record]]: ...


@overload
def pages(
    client: httpx.Client,
    stream: Stream,
    params: Mapping[str, str],
    *,
    parse: Callable[[httpx.Response], Page[T]],
    headers: Mapping[str, str] | None = None,
    json: Any = None,
    max_pages: int = MAX_PAGES,
) -> Iterator[T]: ...


def pages(
    client: httpx.Client,
    stream: Stream,
    params: Mapping[str, str],
    *,
    parse: Callable[[httpx.Response], Page[Any]] | None = None,
    headers: Mapping[str, str] | None = None,
    json: Any = None,
    max_pages: int = MAX_PAGES,
) -> Iterator[Any]:
    """Every page of ``stream``, one vendor call each, as ``parse`` reads it (by default the list
    of raw records at ``stream.records``); the paginator reads the page's body to ask for the next.
    ``json`` is a body every page's request carries (a query the stream's ``method`` posts).
    A read that repeats itself or passes ``max_pages`` stops with ``PagingError`` (``PageTrail``).
    """
    vendor = bound(client).vendor
    read = parse or json_records(stream, vendor)

    def parsed(response: httpx.Response) -> tuple[httpx.Request, Page[Any]]:
        return response.request, read(response)

    url: str = stream.path.lstrip("/")
    query: dict[str, str] = dict(params)
    trail = PageTrail(vendor, stream.name, max_pages)
    while True:
        request, page = call_parsed(
            client,
            stream.method,
            url,
            parse=parsed,
            route=stream.path,
            params=query or None,
            headers={**stream.headers, **(headers or {})},
            **({} if json is None else {"json": json}),
        )
        trail.arrived(request, page.fingerprint)
        yield page.records
        following = stream.paginator.next_request(request, page.body)
        if following is None:
            return
        url, query = trail.follow(request, following)
