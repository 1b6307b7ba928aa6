"""Paginators, named by mechanism (``NextUrl``, ``PageNumber``, ``Offset``, ``Cursor``). Each
answers one question: what is the next request, if any?

A paginator gets the request just sent and the decoded body that came back, and returns the URL
and params of the next request, or ``None`` when the collection is exhausted. The page loop
(``collectors.streams.pages``) keeps a ``PageTrail`` per read, which ends a read that would not
end on its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from collectors.errors import PagingError
from collectors.redaction import redact_url

NextRequest = tuple[str, dict[str, str]]
MAX_PAGES = 100_000
Fingerprint = tuple[int, str, str]


def dig(body: Any, path: str) -> Any:
    """``body["a"]["b"]`` for ``path="a.b"``; ``None`` where a step is missing. A key that holds
    dots itself (OData's ``@odata.nextLink``) is read whole."""
    if isinstance(body, dict) and path in body:
        return body[path]
    for part in path.split("."):
        if not isinstance(body, dict):
            return None
        body = body.get(part)
    return body


class Paginator(Protocol):
    def next_request(self, request: httpx.Request, body: Any) -> NextRequest | None: ...


@dataclass(frozen=True)
class NextUrl:
    """Follow a link the vendor puts in the body (Harvest ``links.next``, Salesforce
    ``nextRecordsUrl``). The link carries every parameter, so none are re-sent."""

    path: str = "links.next"

    def next_request(self, request: httpx.Request, body: Any) -> NextRequest | None:
        link = dig(body, self.path)
        if not link:
            return None
        return str(request.url.join(str(link))), {}


@dataclass(frozen=True)
class PageNumber:
    """``page=N`` until the page count is reached or a page comes back short (Xero, Kantata)."""

    records: str
    page_param: str = "page"
    page_count: str | None = "pagination.pageCount"
    page_size: int = 100
    first_page: int = 1

    def next_request(self, request: httpx.Request, body: Any) -> NextRequest | None:
        params = dict(request.url.params)
        page = int(params.get(self.page_param, self.first_page))
        count = dig(body, self.page_count) if self.page_count else None
        records = dig(body, self.records) or []
        if count is not None and page >= int(count):
            return None
        if count is None and len(records) < self.page_size:
            return None
        if not records:
            return None
        params[self.page_param] = str(page + 1)
        return str(request.url.copy_with(params=None)), params


@dataclass(frozen=True)
class Offset:
    """``offset=N&limit=M``, advancing by the records received, until a short page, the total
    the vendor reports, or its "no more" flag (Oracle's ``hasMore: false``) — so a last page
    that happens to be full costs no extra empty page when the vendor says so (QuickBooks
    ``startPosition``/``maxResults`` work the same way)."""

    records: str
    limit: int = 100
    offset_param: str = "offset"
    limit_param: str = "limit"
    total: str | None = None
    first: int = 0
    more: str | None = None

    def next_request(self, request: httpx.Request, body: Any) -> NextRequest | None:
        params = dict(request.url.params)
        offset = int(params.get(self.offset_param, self.first))
        received = len(dig(body, self.records) or [])
        following = offset + received
        total = dig(body, self.total) if self.total else None
        if received == 0 or received < self.limit:
            return None
        if total is not None and following - self.first >= int(total):
            return None
        if self.more is not None and dig(body, self.more) is False:
            return None
        params[self.offset_param] = str(following)
        params.setdefault(self.limit_param, str(self.limit))
        return str(request.url.copy_with(params=None)), params


@dataclass(frozen=True)
class Cursor:
    """An opaque token in the body (BambooHR ``nextCursor``), sent back as a parameter; the other
    parameters of the first request are kept. No token, or the same token twice, ends the list."""

    token: str
    param: str = "cursor"

    def next_request(self, request: httpx.Request, body: Any) -> NextRequest | None:
        value = dig(body, self.token)
        params = dict(request.url.params)
        if not value or params.get(self.param) == str(value):
            return None
        params[self.param] = str(value)
        return str(request.url.copy_with(params=None)), params


@dataclass
class PageTrail:
    """What one read has fetched, to stop a read that would never end with ``PagingError``:
    a next request equal to one already made (the same URL and parameters, in any order), a page
    with the same records as the page before (its size and first and last keys), or a page past
    ``max_pages``. The loop reports each page (``arrived``) before handing it on, and asks
    ``follow`` before sending the next request."""

    vendor: str
    what: str
    max_pages: int = MAX_PAGES
    pages: int = 0
    _made: set[tuple[Any, ...]] = field(default_factory=set)
    _last: Fingerprint | None = None

    @staticmethod
    def fingerprint(records: Sequence[Any], key: str) -> Fingerprint | None:
        """A page's size with its first and last records' keys (``None`` for an empty page)."""
        if not records:
            return None
        return len(records), _key(records[0], key), _key(records[-1], key)

    def arrived(self, request: httpx.Request, fingerprint: Fingerprint | None) -> None:
        """Count the page ``request`` fetched; a page equal to the one before is refused."""
        self.pages += 1
        self._made.add(_identity(request.url))
        if fingerprint is not None and fingerprint == self._last:
            raise self._error(f"page {self.pages} repeats page {self.pages - 1}", request.url)
        self._last = fingerprint

    def follow(self, request: httpx.Request, following: NextRequest) -> NextRequest:
        """``following`` (the paginator's answer to ``request``), unless it repeats a request
        already made or would pass the bound of pages."""
        url, params = following
        target = request.url.join(url).copy_merge_params(params)
        if _identity(target) in self._made:
            raise self._error("the next request repeats one already made", target)
        if self.pages >= self.max_pages:
            raise self._error(f"more than {self.max_pages:,} pages", target)
        return following

    def _error(self, what: str, url: httpx.URL) -> PagingError:
        return PagingError(
            f"{self.vendor} {self.what}: paging stopped, {what} ({redact_url(url)}); the vendor's "
            "paging does not end",
            vendor=self.vendor,
        )


def _identity(url: httpx.URL) -> tuple[Any, ...]:
    return url.scheme, url.host, url.port, url.path, tuple(sorted(url.params.multi_items()))


def _key(record: Any, key: str) -> str:
    return str(record.get(key)) if isinstance(record, dict) else repr(record)[:200]
