"""The REST record service and SuiteQL of the NetSuite emulator, over one account's ``Books``.

Records (``/services/rest/record/v1``; record types are case-insensitive): a collection ``GET``
pages ``limit`` (default and most 1000) from ``offset`` and lists only each record's ``id`` and
``links``, in the envelope ``links``/``count``/``hasMore``/``items``/``offset``/``totalResults``;
``q`` filters it (``netsuite_query``). ``GET …/{id}`` (or ``eid:<external id>``) returns one
record, its sublists as links unless ``expandSubResources=true``. ``POST`` creates, ``PUT
…/eid:<external id>`` upserts and ``PATCH …/{id}`` updates (a credit memo's or payment's
``apply`` lines set what it settles): each answers 204 with no body and the record's URL in
``Location`` (erps.md §3.3). SuiteQL (``POST /services/rest/query/v1/suiteql``) needs ``Prefer:
transient`` and pages the same way, rows in ``items``. Errors are NetSuite's ``o:errorDetails``
bodies (``netsuite_identity.ns_error``).
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from sandbox.vendors.netsuite_books import TYPES, Books
from sandbox.vendors.netsuite_documents import Refused
from sandbox.vendors.netsuite_identity import ns_error
from sandbox.vendors.netsuite_query import InvalidQuery, record_filter, suiteql
from sandbox.vendors.wire import FastJSON, LostResponse

RECORDS = "/services/rest/record/v1"
SUITEQL = "/services/rest/query/v1/suiteql"
MAX_LIMIT = 1000
SUBLISTS = ("item", "apply")
_TYPES = {t.lower(): t for t in TYPES}
Handler = Callable[[Request], Awaitable[Response]]


def plain(value: Any) -> Any:
    """A record as JSON holds it: amounts as numbers."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def _page(request: Request) -> tuple[int, int]:
    try:
        limit = int(request.query_params.get("limit", MAX_LIMIT))
        offset = int(request.query_params.get("offset", 0))
    except ValueError:
        raise Refused("INVALID_PARAMETER", "Invalid value for parameter limit or offset.") from None
    if not 1 <= limit <= MAX_LIMIT or offset < 0:
        raise Refused(
            "INVALID_PARAMETER",
            f"The value of the limit parameter must be between 1 and {MAX_LIMIT}.",
            path="limit",
        )
    return limit, offset


def envelope(request: Request, items: list[Any], limit: int, offset: int) -> dict[str, Any]:
    """A page of ``items`` in NetSuite's collection envelope, with its links."""
    page = items[offset : offset + limit]
    more = offset + limit < len(items)

    def link(rel: str, at: int) -> dict[str, str]:
        return {"rel": rel, "href": str(request.url.include_query_params(limit=limit, offset=at))}

    last = max(0, (len(items) - 1) // limit * limit)
    links = [link("self", offset), link("first", 0), link("last", last)]
    if more:
        links.insert(1, link("next", offset + limit))
    if offset > 0:
        links.insert(1, link("previous", max(0, offset - limit)))
    return {
        "links": links,
        "count": len(page),
        "hasMore": more,
        "items": page,
        "offset": offset,
        "totalResults": len(items),
    }


class Routes:
    """The record and SuiteQL handlers; writes accepted while ``lose_next_response`` is armed
    are applied and their replies lost."""

    def __init__(self, books: Books) -> None:
        self.books = books
        self._lose = 0
        self._lock = threading.Lock()

    def lose_next_response(self, n: int = 1) -> None:
        with self._lock:
            self._lose += n

    def _take_loss(self) -> bool:
        with self._lock:
            if self._lose <= 0:
                return False
            self._lose -= 1
            return True

    def _href(self, request: Request, record_type: str, record_id: str) -> str:
        return f"{str(request.base_url).rstrip('/')}{RECORDS}/{record_type}/{record_id}"

    @staticmethod
    def _type(request: Request) -> str:
        name = str(request.path_params["record_type"]).lower()
        if name not in _TYPES:
            raise Refused("INVALID_RCRD_TYPE", f"The record type [{name}] is invalid.", status=404)
        return _TYPES[name]

    def _id(self, record_type: str, raw: str) -> str:
        if raw.startswith("eid:"):
            found = self.books.by_external(record_type, raw[4:])
            if found is None:
                raise Refused("NONEXISTENT_ID", "Record does not exist.", status=404)
            return found
        if self.books.get(record_type, raw) is None:
            raise Refused("NONEXISTENT_ID", "Record does not exist.", status=404)
        return raw

    async def collection(self, request: Request) -> Response:
        record_type = self._type(request)
        limit, offset = _page(request)
        try:
            keep = record_filter(request.query_params.get("q"))
            ids = [r["id"] for r in self.books.all(record_type) if keep(r)]
        except InvalidQuery as bad:
            raise Refused("INVALID_PARAMETER", str(bad), path="q") from None
        items = [
            {"links": [{"rel": "self", "href": self._href(request, record_type, i)}], "id": i}
            for i in sorted(ids, key=int)
        ]
        return FastJSON(envelope(request, items, limit, offset))

    async def record(self, request: Request) -> Response:
        record_type = self._type(request)
        record_id = self._id(record_type, str(request.path_params["record_id"]))
        record = self.books.get(record_type, record_id) or {}
        href = self._href(request, record_type, record_id)
        expand = request.query_params.get("expandSubResources", "").lower() == "true"
        for sublist in SUBLISTS:
            if sublist in record and not expand:
                record[sublist] = {"links": [{"rel": "self", "href": f"{href}/{sublist}"}]}
        return FastJSON({"links": [{"rel": "self", "href": href}], **plain(record)})

    async def create(self, request: Request) -> Response:
        record_type = self._type(request)
        record_id, _ = self.books.save(record_type, await _body(request))
        return self._written(request, record_type, record_id)

    async def upsert(self, request: Request) -> Response:
        record_type = self._type(request)
        raw = str(request.path_params["record_id"])
        if not raw.startswith("eid:") or len(raw) == 4:
            raise Refused("INVALID_REQUEST", "Upsert needs an external id: PUT …/eid:<id>.")
        record_id, _ = self.books.save(record_type, await _body(request), external_id=raw[4:])
        return self._written(request, record_type, record_id)

    async def update(self, request: Request) -> Response:
        record_type = self._type(request)
        record_id = self._id(record_type, str(request.path_params["record_id"]))
        body = await _body(request)
        lines = body.pop("apply", None)
        if lines is not None:
            items = lines.get("items") if isinstance(lines, dict) else None
            if not isinstance(items, list):
                raise Refused("INVALID_FLD_VALUE", "apply must hold items.", path="apply")
            self.books.apply(record_type, record_id, items)
        if body:
            self.books.save(record_type, body, record_id=record_id)
        return self._written(request, record_type, record_id)

    def _written(self, request: Request, record_type: str, record_id: str) -> Response:
        if self._take_loss():
            return LostResponse()
        location = self._href(request, record_type, record_id)
        return Response(status_code=204, headers={"Location": location})

    async def query(self, request: Request) -> Response:
        if "transient" not in request.headers.get("prefer", "").lower():
            raise Refused(
                "INVALID_PARAMETER", "SuiteQL requests need the header Prefer: transient."
            )
        limit, offset = _page(request)
        body = await _body(request)
        try:
            rows = suiteql(str(body.get("q") or ""), self.books.tables())
        except InvalidQuery as bad:
            raise Refused("INVALID_PARAMETER", str(bad), path="q") from None
        items = [{"links": [], **plain(row)} for row in rows]
        return FastJSON(envelope(request, items, limit, offset))


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = orjson.loads(await request.body() or b"{}")
    except orjson.JSONDecodeError:
        raise Refused("INVALID_CONTENT", "The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise Refused("INVALID_CONTENT", "The request body must be a JSON object.")
    return body


def refusing(handler: Handler) -> Handler:
    """``handler`` with a ``Refused`` answered as NetSuite's error body."""

    async def handle(request: Request) -> Response:
        try:
            return await handler(request)
        except Refused as refused:
            if refused.path:
                return ns_error(
                    refused.status, refused.code, refused.detail, errorPath=refused.path
                )
            return ns_error(refused.status, refused.code, refused.detail)

    return handle


__all__ = ["RECORDS", "SUITEQL", "Routes", "envelope", "plain", "refusing"]
