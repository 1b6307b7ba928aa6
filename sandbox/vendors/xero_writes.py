"""Xero's accounting writes: one path for contacts, invoices, credit notes, allocations and
payments.

A body is ``{"<Collection>": [...]}`` or one bare object. ``summarizeErrors`` defaults to true
(Xero's documented behaviour, although the spec's parameter declares ``default: false``): one
invalid element refuses the batch with 400 ``ValidationException``; with ``false``, the batch
answers 200 and each refused element carries its ``ValidationErrors``. ``Idempotency-Key`` (at
most 128 characters) replays the first reply to a key, per tenant, without applying the request
again. ``lose_next_response`` applies the next accepted writes (not contacts) and loses their
replies.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from sandbox.vendors.wire import LostResponse
from sandbox.vendors.xero_identity import problem
from sandbox.vendors.xero_ledger import Ledger, Outcome
from sandbox.vendors.xero_reads import Admit, not_found

MAX_IDEMPOTENCY_KEY = 128
Replay = tuple[int, bytes]
Envelope = Callable[..., dict[str, Any]]
# (ledger, request, elements, summarize) -> outcome
Apply = Callable[[Ledger, Request, list[Any], bool], Outcome]
UNREADABLE = {
    "ErrorNumber": 14,
    "Type": "PostDataInvalidException",
    "Message": "The request body could not be read",
}


def _invoices(ledger: Ledger, request: Request, elements: list[Any], summarize: bool) -> Outcome:
    return ledger.books.save_invoices(
        elements,
        create_only=request.method == "PUT",
        summarize=summarize,
        invoice_id=request.path_params.get("invoice_id"),
    )


def _contacts(ledger: Ledger, request: Request, elements: list[Any], summarize: bool) -> Outcome:
    return ledger.books.save_contacts(
        elements, create_only=request.method == "PUT", summarize=summarize
    )


def _credit_notes(
    ledger: Ledger, request: Request, elements: list[Any], summarize: bool
) -> Outcome:
    return ledger.save_credit_notes(
        elements,
        create_only=request.method == "PUT",
        summarize=summarize,
        path_id=request.path_params.get("credit_note_id"),
    )


def _allocations(ledger: Ledger, request: Request, elements: list[Any], summarize: bool) -> Outcome:
    return ledger.allocate(request.path_params["credit_note_id"], elements, summarize=summarize)


def _payments(ledger: Ledger, request: Request, elements: list[Any], summarize: bool) -> Outcome:
    return ledger.save_payments(elements, summarize=summarize)


APPLY: dict[str, Apply] = {
    "Invoices": _invoices,
    "Contacts": _contacts,
    "CreditNotes": _credit_notes,
    "Allocations": _allocations,
    "Payments": _payments,
}


class Writes:
    """The PUT/POST handlers; ``admit`` is the emulator's auth, tenancy and limit check."""

    def __init__(self, admit: Admit, envelope: Envelope) -> None:
        self._admit = admit
        self._envelope = envelope
        self._replays: dict[tuple[str, str], Replay] = {}
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

    def handler(self, collection: str) -> Callable[[Request], Any]:
        async def handle(request: Request) -> Response:
            return await self._write(request, collection)

        return handle

    async def _write(self, request: Request, collection: str) -> Response:
        admitted = self._admit(request)
        if isinstance(admitted, Response):
            return admitted
        ledger, limits = admitted
        key = request.headers.get("idempotency-key")
        if key is not None and len(key) > MAX_IDEMPOTENCY_KEY:
            return problem(
                400,
                "BadRequest",
                f"Idempotency-Key must be at most {MAX_IDEMPOTENCY_KEY} characters",
            )
        note = request.path_params.get("credit_note_id")
        if collection == "Allocations" and note not in ledger.credit_notes:
            return not_found()
        raw = await request.body()
        tenant = request.headers["xero-tenant-id"]
        with ledger.lock:
            replay = self._replays.get((tenant, key)) if key else None
            if replay is None:
                replay = self._apply(request, ledger, collection, raw)
                if key:
                    self._replays[(tenant, key)] = replay
        status, body = replay
        if collection != "Contacts" and status == 200 and self._take_loss():
            return LostResponse()
        return Response(body, status_code=status, media_type="application/json", headers=limits)

    def _apply(self, request: Request, ledger: Ledger, collection: str, raw: bytes) -> Replay:
        try:
            parsed = orjson.loads(raw or b"null")
        except orjson.JSONDecodeError:
            parsed = None
        elements = parsed.get(collection, [parsed]) if isinstance(parsed, dict) else None
        if not isinstance(elements, list):
            return 400, orjson.dumps(UNREADABLE)
        summarize = request.query_params.get("summarizeErrors", "true").lower() != "false"
        ok, results = APPLY[collection](ledger, request, elements, summarize)
        if not ok:
            return 400, orjson.dumps(
                {
                    "ErrorNumber": 10,
                    "Type": "ValidationException",
                    "Message": "A validation exception occurred",
                    "Elements": results,
                }
            )
        return 200, orjson.dumps(self._envelope(collection, results))
