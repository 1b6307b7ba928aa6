"""Dynamics 365 Finance (finance and operations apps) emulator: Entra ID tokens, the OData
service root ``/data`` and the service-protection limits.

Every OData call needs a live bearer token from ``/{tenant}/oauth2/v2.0/token`` (else 401). The
user-based service-protection limits hold per app registration: 6,000 requests in any 300 s
(the window × ``time_scale``) and 52 requests in flight; past either, 429 with ``Retry-After``
(seconds) and F&O's message (its spelling, "exeeded", kept). The 1,200 s execution-time budget is
not modelled: sandbox requests take no time to speak of. Companies are the world's legal entities
(``dynamics365_projection``); ``lose_next_response(n)`` applies the next n accepted writes and
loses their replies.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection
from datetime import date, datetime
from decimal import Decimal

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.clock import utc_now
from sandbox.vendors.dynamics365_books import Books, Record, money, remaining
from sandbox.vendors.dynamics365_identity import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_TENANT,
    EntraIdentity,
    unauthorized,
)
from sandbox.vendors.dynamics365_odata import ODataError, error_reply
from sandbox.vendors.dynamics365_projection import companies
from sandbox.vendors.dynamics365_service import Service
from sandbox.vendors.limits import SlidingWindow
from sandbox.vendors.receivables import OpenInvoice
from sandbox.vendors.wire import FastJSON, LostResponse
from sandbox.world.model import World

ROOT = "/data"
REQUEST_LIMIT = 6000
WINDOW_SECONDS = 300
CONCURRENCY_LIMIT = 52


class Dynamics365Emulator:
    """One Dynamics 365 Finance environment holding a company per chosen legal entity."""

    def __init__(
        self,
        world: World,
        *,
        entities: Collection[int] | None = None,
        time_scale: float = 1.0,
        now: Callable[[], datetime] = utc_now,
        tenant: str = DEFAULT_TENANT,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        request_limit: int = REQUEST_LIMIT,
        concurrency_limit: int = CONCURRENCY_LIMIT,
    ) -> None:
        self.tenant, self.client_id, self.client_secret = tenant, client_id, client_secret
        self.identity = EntraIdentity(tenant, client_id, client_secret, now=now)
        seeded = companies(world, entities, now)
        self._entities = {books.company: entity.id for entity, books in seeded}
        self._books: dict[str, Books] = {books.company: books for _, books in seeded}
        self.service = Service(self._books, ROOT)
        self._window = SlidingWindow(request_limit, WINDOW_SECONDS * time_scale)
        self._request_limit, self._concurrency_limit = request_limit, concurrency_limit
        self._in_flight = 0
        self._lose = 0
        self._lock = threading.Lock()
        self.app = Starlette(
            routes=[
                Route(
                    "/{tenant}/oauth2/v2.0/token", self.identity.token_endpoint, methods=["POST"]
                ),
                Route(ROOT + "/{path:path}", self._handle, methods=["GET", "POST"]),
            ]
        )

    # --- what the sandbox and tests read and do ------------------------------------------------

    def companies(self) -> list[tuple[str, int, str]]:
        """``(dataAreaId, legal entity id, name)`` of every company, the default first."""
        return [(c, self._entities[c], b.name) for c, b in self._books.items()]

    def invoices(self, company_id: str) -> list[Record]:
        """The company's free text invoice headers as stored (drafts and posted)."""
        with self._books[company_id].lock:
            return [dict(h) for h in self._books[company_id].headers.values()]

    def receivables(self) -> list[OpenInvoice]:
        """Every posted invoice (not credit notes) of every company, with what is due."""
        found: list[OpenInvoice] = []
        for company, books in self._books.items():
            with books.lock:
                numbers = {h["InvoiceId"]: h["ExternalInvoiceId"] for h in books.headers.values()}
                for t in books.transactions:
                    if t["TransType"] == "Cust" and money(t["AmountCur"]) > 0:
                        found.append(_receivable(books, company, t, numbers))
        return found

    def record_payment(self, company_id: str, invoice_id: str, amount: Decimal, on: date) -> Record:
        """The customer paid ``amount`` of the invoice ``invoice_id`` (its ``InvoiceId``): a
        posted payment journal and a ``Payment`` transaction settled against the invoice."""
        books = self._books[company_id]
        with books.lock:
            return books.pay(invoice_id, amount, on)

    def lose_next_response(self, n: int = 1) -> None:
        """The next ``n`` accepted writes (creates and actions) are applied, their replies lost."""
        with self._lock:
            self._lose += n

    def issue_token(self) -> str:
        return self.identity.issue_token()

    # --- the service ------------------------------------------------------------------------

    async def _handle(self, request: Request) -> Response:
        if not self.identity.authenticated(request):
            return unauthorized()
        refused = self._admit()
        if refused is not None:
            return refused
        try:
            raw = await request.body() if request.method == "POST" else b""
            if request.method == "GET":
                return FastJSON(self.service.read(request))
            created = self.service.create(request, raw)
            status = 200 if "/" in request.path_params["path"] else 201
            if self._take_loss():
                return LostResponse()
            return FastJSON(created, status_code=status)
        except ODataError as error:
            return error_reply(error)
        finally:
            with self._lock:
                self._in_flight -= 1

    def _admit(self) -> Response | None:
        with self._lock:
            if self._in_flight >= self._concurrency_limit:
                limit = self._concurrency_limit
                return _throttled(
                    f"Number of concurrent requests exceeded the limit of {limit}.", 1
                )
            verdict = self._window.hit(self.client_id)
            if not verdict.allowed:
                text = (
                    f"Number of requests exeeded the limit of {self._request_limit} over the "
                    f"time window of {WINDOW_SECONDS} seconds."
                )
                return _throttled(text, verdict.retry_after)
            self._in_flight += 1
        return None

    def _take_loss(self) -> bool:
        with self._lock:
            if self._lose <= 0:
                return False
            self._lose -= 1
            return True


def _throttled(text: str, retry_after: int) -> Response:
    return error_reply(ODataError(429, text), {"Retry-After": str(retry_after)})


def _receivable(
    books: Books, company: str, transaction: Record, numbers: dict[str, str]
) -> OpenInvoice:
    customer = books.customers.get(transaction["AccountNum"], {})
    due = remaining(transaction)
    return OpenInvoice(
        company_id=company,
        invoice_id=transaction["Invoice"],
        number=numbers.get(transaction["Invoice"]) or transaction["Invoice"],
        customer_name=str(customer.get("OrganizationName", "")),
        issued=date.fromisoformat(transaction["TransDate"][:10]),
        currency=transaction["CurrencyCode"],
        amount_due=due,
        total=money(transaction["AmountCur"]),
        status="Open" if due else "Closed",
        payable=0 < due == money(transaction["AmountCur"]),  # nothing settled against it yet
    )


__all__ = [
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "DEFAULT_TENANT",
    "ROOT",
    "Dynamics365Emulator",
    "OpenInvoice",
]
