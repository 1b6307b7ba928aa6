"""Oracle NetSuite emulator: one OneWorld account, its REST record service and SuiteQL.

Its companies are subsidiaries, one per legal entity of the world (ids "1", "2", …, named as the
entity), seeded with the entity's customers and the history the firm issued before go-live
(``netsuite_projection``). Calls need a bearer token from the OAuth 2.0 client-credentials
grant with a signed JWT assertion (``netsuite_identity``; the integration's key pair and
certificate are made here, never stored), else 401 ``INVALID_LOGIN``. NetSuite throttles by
concurrency, not by rate (erps.md §3.6): the account admits ``concurrency_limit`` requests at a
time (5, a developer account's) and answers the one over it 429 ``CONCURRENCY_LIMIT_EXCEEDED``
with ``Retry-After`` of ``time_scale`` seconds, at least 1 (the code and the header on REST are
[unconfirmed]: NetSuite documents "Too Many Requests" only).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Collection
from datetime import UTC, date, datetime
from decimal import Decimal

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.clock import utc_now
from sandbox.vendors.netsuite_documents import Record
from sandbox.vendors.netsuite_identity import (
    DEFAULT_CLIENT_ID,
    INVALID_LOGIN,
    NetSuiteIdentity,
    ns_error,
)
from sandbox.vendors.netsuite_projection import project
from sandbox.vendors.netsuite_routes import RECORDS, SUITEQL, Handler, Routes, refusing
from sandbox.vendors.receivables import OpenInvoice
from sandbox.world.model import World

TOKEN_PATH = "/services/rest/auth/oauth2/v1/token"
DEFAULT_CONCURRENCY = 5


class ConcurrencyGate:
    """At most ``limit`` requests of the account in flight; the one over it is refused."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_flight = 0
        self._lock = threading.Lock()

    def enter(self) -> bool:
        with self._lock:
            if self.in_flight >= self.limit:
                return False
            self.in_flight += 1
            return True

    def leave(self) -> None:
        with self._lock:
            self.in_flight -= 1


class NetSuiteEmulator:
    """One NetSuite account, served by ``.app``; the connector's settings come from
    ``client_id``, ``certificate_id`` and ``private_key_pem``."""

    def __init__(
        self,
        world: World,
        *,
        entities: Collection[int] | None = None,
        time_scale: float = 1.0,
        now: Callable[[], datetime] = utc_now,
        client_id: str = DEFAULT_CLIENT_ID,
        concurrency_limit: int = DEFAULT_CONCURRENCY,
    ) -> None:
        self._now = now
        self.identity = NetSuiteIdentity(client_id, now=now)
        self.client_id = client_id
        self.certificate_id = self.identity.certificate_id
        self.private_key_pem = self.identity.private_key_pem
        self.books, self.subsidiary_of = project(world, entities, now)
        self.gate = ConcurrencyGate(concurrency_limit)
        self.retry_after = str(max(1, math.ceil(time_scale)))
        self._routes = routes = Routes(self.books)
        record = f"{RECORDS}/{{record_type}}"
        item = f"{record}/{{record_id}}"
        self.app = Starlette(
            routes=[
                Route(TOKEN_PATH, self.identity.token_endpoint, methods=["POST"]),
                Route(record, self._admitted(routes.collection), methods=["GET"]),
                Route(record, self._admitted(routes.create), methods=["POST"]),
                Route(item, self._admitted(routes.record), methods=["GET"]),
                Route(item, self._admitted(routes.upsert), methods=["PUT"]),
                Route(item, self._admitted(routes.update), methods=["PATCH"]),
                Route(SUITEQL, self._admitted(routes.query), methods=["POST"]),
            ]
        )

    def _admitted(self, handler: Handler) -> Handler:
        """``handler`` behind the bearer token check and the account's concurrency gate."""
        inner = refusing(handler)

        async def handle(request: Request) -> Response:
            if not self.identity.authenticated(request):
                return ns_error(401, "INVALID_LOGIN", INVALID_LOGIN)
            if not self.gate.enter():
                return ns_error(
                    429,
                    "CONCURRENCY_LIMIT_EXCEEDED",
                    "Concurrent request limit exceeded. Request blocked.",
                    headers={"Retry-After": self.retry_after},
                )
            try:
                return await inner(request)
            finally:
                self.gate.leave()

        return handle

    # --- for the sandbox and tests ----------------------------------------------------------

    def companies(self) -> list[tuple[str, int, str]]:
        """``(subsidiary id, legal entity id, name)`` per company, in id order."""
        return [
            (sid, entity, self.books.subsidiaries[sid][0])
            for entity, sid in self.subsidiary_of.items()
        ]

    def invoices(self, company_id: str) -> list[Record]:
        """The company's invoices as stored (amounts as ``Decimal``)."""
        return [r for r in self.books.all("invoice") if r["subsidiary"]["id"] == company_id]

    def receivables(self) -> list[OpenInvoice]:
        """Every invoice of every company, with what is still due on it."""
        return [
            OpenInvoice(
                company_id=r["subsidiary"]["id"],
                invoice_id=r["id"],
                number=r["tranId"],
                customer_name=r["entity"]["refName"],
                issued=date.fromisoformat(r["tranDate"]),
                currency=r["currency"]["refName"],
                amount_due=r["amountRemaining"],
                total=r["total"],
                status=r["status"]["refName"],
                payable=0 < r["amountRemaining"] == r["total"],  # nothing applied to it yet
            )
            for r in self.books.all("invoice")
        ]

    def record_payment(self, company_id: str, invoice_id: str, amount: Decimal, on: date) -> str:
        """The customer paid: a customer payment applied to the invoice (its id); the invoice's
        ``amountRemaining`` drops, and it is Paid In Full once nothing remains."""
        invoice = self.books.get("invoice", invoice_id)
        if invoice is None or invoice["subsidiary"]["id"] != company_id:
            raise KeyError(f"no invoice {invoice_id} in subsidiary {company_id}")
        return self.books.pay(invoice_id, amount, on, self._now().astimezone(UTC))

    def lose_next_response(self, n: int = 1) -> None:
        """The next ``n`` accepted record writes are applied, then their replies are lost."""
        self._routes.lose_next_response(n)

    def issue_token(self) -> str:
        """A live access token, as if the token endpoint had granted one."""
        return self.identity.issue_token()


__all__ = ["DEFAULT_CONCURRENCY", "TOKEN_PATH", "NetSuiteEmulator", "OpenInvoice"]
