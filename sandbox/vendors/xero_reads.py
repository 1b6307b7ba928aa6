"""Xero's accounting reads: invoices, contacts, credit notes and payments in the standard
envelope, paged on request (``page``, ``pageSize``), incremental with ``If-Modified-Since``.

Without ``page`` a list answers every record; with it, at most ``pageSize`` (default 100,
capped at 1,000) and a ``pagination`` block. Bad parameters answer 400, an unknown id 404.
Credit notes filter on ``where=CreditNoteNumber=="…"`` (how a client finds the one it sent).
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from sandbox.vendors.wire import FastJSON
from sandbox.vendors.xero_dates import ms_envelope, parse_since
from sandbox.vendors.xero_identity import problem
from sandbox.vendors.xero_ledger import Ledger

PROVIDER_NAME = "plan2cash sandbox"
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
Record = dict[str, Any]
Admit = Callable[[Request], tuple[Ledger, dict[str, str]] | Response]
Finder = Callable[[Ledger, Request, str | None], list[Record]]
_NUMBER_EQUALS = re.compile(r'\s*CreditNoteNumber\s*==\s*"((?:[^"\\]|\\.)*)"\s*')


def listed(request: Request, name: str) -> list[str]:
    """A comma-separated query parameter (``IDs``, ``Statuses``…) as a list."""
    return [part.strip() for part in request.query_params.get(name, "").split(",") if part.strip()]


def since(request: Request) -> datetime | None:
    header = request.headers.get("if-modified-since")
    return parse_since(header) if header else None


def not_found() -> Response:
    return problem(404, "NotFound", "The resource you're looking for cannot be found")


class Reads:
    """The GET handlers; ``admit`` is the emulator's auth, tenancy and limit check."""

    def __init__(self, admit: Admit, now: Callable[[], datetime]) -> None:
        self._admit = admit
        self._now = now

    def envelope(self, collection: str, records: list[Record], **extra: Any) -> dict[str, Any]:
        return {
            "Id": str(uuid.uuid4()),
            "Status": "OK",
            "ProviderName": PROVIDER_NAME,
            "DateTimeUTC": ms_envelope(self._now()),
            **extra,
            collection: records,
        }

    def paged(self, collection: str, records: list[Record], request: Request) -> dict[str, Any]:
        """All records, or one page with ``pagination`` when the client asks for a page."""
        if "page" not in request.query_params:
            return self.envelope(collection, records)
        try:
            page = int(request.query_params["page"])
            size = int(request.query_params.get("pageSize", DEFAULT_PAGE_SIZE))
        except ValueError:
            raise ValueError("page and pageSize must be integers") from None
        if page < 1 or size < 1:
            raise ValueError("page and pageSize must be positive")
        size = min(size, MAX_PAGE_SIZE)
        pagination = {
            "page": page,
            "pageSize": size,
            "pageCount": math.ceil(len(records) / size),
            "itemCount": len(records),
        }
        chunk = records[(page - 1) * size : page * size]
        return self.envelope(collection, chunk, pagination=pagination)

    def handler(self, collection: str, find: Finder, path_key: str | None = None) -> Any:
        """A GET handler for ``collection`` (one record when the route names ``path_key``)."""

        async def handle(request: Request) -> Response:
            admitted = self._admit(request)
            if isinstance(admitted, Response):
                return admitted
            ledger, limits = admitted
            one = request.path_params.get(path_key) if path_key else None
            try:
                found = find(ledger, request, one)
                if one and not found:
                    return not_found()
                body = (
                    self.envelope(collection, found)
                    if one
                    else self.paged(collection, found, request)
                )
            except ValueError as bad:
                return problem(400, "BadRequest", str(bad))
            return FastJSON(body, headers=limits)

        return handle


def find_invoices(ledger: Ledger, request: Request, one: str | None) -> list[Record]:
    return ledger.books.find_invoices(
        ids=[one] if one else listed(request, "IDs"),
        numbers=listed(request, "InvoiceNumbers"),
        statuses=listed(request, "Statuses"),
        contact_ids=listed(request, "ContactIDs"),
        since=None if one else since(request),
    )


def find_contacts(ledger: Ledger, request: Request, one: str | None) -> list[Record]:
    return ledger.books.find_contacts(
        ids=[one] if one else listed(request, "IDs"),
        where=request.query_params.get("where"),
        since=None if one else since(request),
        include_archived=request.query_params.get("includeArchived") == "true",
    )


def find_credit_notes(ledger: Ledger, request: Request, one: str | None) -> list[Record]:
    found = ledger.find_credit_notes(
        ids=[one] if one else (), since=None if one else since(request)
    )
    match = _NUMBER_EQUALS.fullmatch(request.query_params.get("where") or "")
    if match is None:
        return found
    number = re.sub(r"\\(.)", r"\1", match.group(1))
    return [n for n in found if n.get("CreditNoteNumber") == number]


def find_payments(ledger: Ledger, request: Request, one: str | None) -> list[Record]:
    return ledger.find_payments(ids=[one] if one else (), since=None if one else since(request))
