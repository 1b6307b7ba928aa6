"""Xero Accounting API emulator: client-credentials tokens, connections, invoices, contacts,
credit notes (and their allocations) and payments.

Every accounting call needs a live bearer token (else 401 with Xero's problem body) and a
``xero-tenant-id`` this connection may reach: missing or unknown gives 403
``AuthenticationUnsuccessful``, which is what Xero answers (NangoHQ/nango#203,
XeroAPI/xero-node#432). Limits: per tenant 60 calls a minute and 5,000 a day, per app 10,000 a
minute (windows × ``time_scale``), then 429 with ``Retry-After`` and ``X-Rate-Limit-Problem``;
every admitted accounting reply carries the ``X-*Limit-Remaining`` headers. Reads live in
``xero_reads``; writes (``summarizeErrors``, ``Idempotency-Key`` replay) in ``xero_writes``.
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
from sandbox.vendors.limits import SlidingWindow
from sandbox.vendors.receivables import OpenInvoice
from sandbox.vendors.xero_books import Books, Record
from sandbox.vendors.xero_identity import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    XeroIdentity,
    problem,
)
from sandbox.vendors.xero_ledger import Ledger
from sandbox.vendors.xero_payments import open_invoice
from sandbox.vendors.xero_projection import tenants
from sandbox.vendors.xero_reads import (
    Finder,
    Reads,
    find_contacts,
    find_credit_notes,
    find_invoices,
    find_payments,
)
from sandbox.vendors.xero_webhooks import DEFAULT_WEBHOOK_KEY, delivery
from sandbox.vendors.xero_writes import Writes
from sandbox.world.model import World

API = "/api.xro/2.0"


class XeroEmulator:
    """One Xero custom connection to the organisations of the legal entities ``entities`` (all
    when ``None``; one organisation each), served by ``.app``; ``tenant_id`` is the first."""

    def __init__(
        self,
        world: World,
        *,
        entities: Collection[int] | None = None,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        webhook_key: str = DEFAULT_WEBHOOK_KEY,
        time_scale: float = 1.0,
        now: Callable[[], datetime] = utc_now,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.webhook_key = webhook_key
        self._now = now
        self.identity = XeroIdentity(client_id, client_secret, now=now)
        self._books: dict[str, Books] = {}
        self._ledgers: dict[str, Ledger] = {}
        for tenant in tenants(world, entities):
            self.identity.connect(tenant.tenant_id, tenant.name)
            books = Books(
                tenant.contacts, now=now, created=tenant.opened, base_currency=tenant.currency
            )
            books.load_invoices(tenant.invoices)
            ledger = Ledger(books, tenant.tenant_id, now=now)
            ledger.load(tenant.credit_notes, tenant.payments)
            self._books[tenant.tenant_id] = books
            self._ledgers[tenant.tenant_id] = ledger
        self.tenant_ids = list(self._books)
        self._entity_of = {e.xero_tenant_id: e.id for e in world.legal_entities}
        self._names = {
            e.xero_tenant_id: e.name
            for e in world.legal_entities
            if e.xero_tenant_id in self._books
        }
        self.tenant_id = self.tenant_ids[0] if self.tenant_ids else ""
        self.tenant_name = next(
            (e.name for e in world.legal_entities if e.xero_tenant_id == self.tenant_id), ""
        )
        self._lock = threading.Lock()
        self._minute = SlidingWindow(60, 60 * time_scale)
        self._day = SlidingWindow(5000, 86400 * time_scale)
        self._app_minute = SlidingWindow(10_000, 60 * time_scale)
        self.app = Starlette(
            routes=[
                Route("/connect/token", self.identity.token_endpoint, methods=["POST"]),
                Route("/connections", self.identity.connections, methods=["GET"]),
                *self._accounting_routes(),
            ]
        )

    def _accounting_routes(self) -> list[Route]:
        reads = Reads(self._admit, self._now)
        self._writes = writes = Writes(self._admit, reads.envelope)

        def collection(name: str, find: Finder, key: str, *, item_writes: bool) -> list[Route]:
            """A collection's routes: list and find, create or update, one record by ``key``
            and (``item_writes``) update at the record's own URL."""
            item = f"{API}/{name}/{{{key}}}"
            return [
                Route(f"{API}/{name}", reads.handler(name, find), methods=["GET"]),
                Route(f"{API}/{name}", writes.handler(name), methods=["PUT", "POST"]),
                Route(item, reads.handler(name, find, key), methods=["GET"]),
                *([Route(item, writes.handler(name), methods=["POST"])] if item_writes else []),
            ]

        return [
            *collection("Invoices", find_invoices, "invoice_id", item_writes=True),
            *collection("Contacts", find_contacts, "contact_id", item_writes=False),
            *collection("CreditNotes", find_credit_notes, "credit_note_id", item_writes=True),
            Route(
                f"{API}/CreditNotes/{{credit_note_id}}/Allocations",
                writes.handler("Allocations"),
                methods=["PUT"],
            ),
            *collection("Payments", find_payments, "payment_id", item_writes=False),
        ]

    # --- accessors and fault switches for tests ---------------------------------------------

    def invoices(self, tenant_id: str | None = None) -> list[Record]:
        """The invoices of one tenant, or of every tenant (in tenant order) when ``None``."""
        chosen = [tenant_id] if tenant_id else self.tenant_ids
        return [i for t in chosen for i in self._books[t].find_invoices()]

    def contacts(self, tenant_id: str | None = None) -> list[Record]:
        chosen = [tenant_id] if tenant_id else self.tenant_ids
        return [c for t in chosen for c in self._books[t].find_contacts(include_archived=True)]

    def credit_notes(self, tenant_id: str | None = None) -> list[Record]:
        chosen = [tenant_id] if tenant_id else self.tenant_ids
        return [n for t in chosen for n in self._ledgers[t].find_credit_notes()]

    def payments(self, tenant_id: str | None = None) -> list[Record]:
        chosen = [tenant_id] if tenant_id else self.tenant_ids
        return [p for t in chosen for p in self._ledgers[t].find_payments()]

    def companies(self) -> list[tuple[str, int, str]]:
        """Each organisation as (tenant id, legal entity id, name)."""
        return [(t, self._entity_of[t], name) for t, name in self._names.items()]

    def receivables(self) -> list[OpenInvoice]:
        """Every sales invoice of every organisation, with what is still due on it."""
        return [
            open_invoice(t, i)
            for t in self.tenant_ids
            for i in self._books[t].find_invoices()
            if i["Type"] == "ACCREC"
        ]

    def webhook_delivery(self, events: list[dict[str, str]]) -> tuple[dict[str, str], bytes]:
        """A signed delivery of ``events`` (see ``xero_webhooks.event``), as Xero posts it."""
        return delivery(events, self.webhook_key)

    def record_payment(self, tenant_id: str, invoice_id: str, amount: Decimal, on: date) -> Record:
        """The customer paid: a payment is booked (``GET /Payments`` lists it) and the
        invoice's ``AmountDue`` drops (PAID once nothing is due)."""
        return self._ledgers[tenant_id].record_payment(invoice_id, amount, on)

    def lose_next_response(self, n: int = 1) -> None:
        """The next ``n`` accepted writes other than contacts (invoices, credit notes,
        allocations, payments) are applied, then their replies are lost."""
        self._writes.lose_next_response(n)

    def issue_token(self) -> str:
        """A live access token, as if the token endpoint had granted one."""
        return self.identity.issue_token()

    # --- accounting -------------------------------------------------------------------------

    def _admit(self, request: Request) -> tuple[Ledger, dict[str, str]] | Response:
        """The tenant's books and limit headers, or the refusal to send instead."""
        if not self.identity.authenticated(request):
            return problem(401, "Unauthorized", "AuthenticationUnsuccessful")
        tenant = request.headers.get("xero-tenant-id", "")
        if tenant not in self._books:
            return problem(403, "Forbidden", "AuthenticationUnsuccessful")
        checks = (
            ("minute", self._minute, tenant),
            ("day", self._day, tenant),
            ("appminute", self._app_minute, self.client_id),
        )
        with self._lock:
            for name, window, key in checks:
                verdict = window.peek(key)
                if not verdict.allowed:
                    refused = problem(429, "Too Many Requests", f"Rate limit exceeded: {name}")
                    refused.headers.update(
                        {
                            "Retry-After": str(verdict.retry_after),
                            "X-Rate-Limit-Problem": name,
                            **self._remaining(tenant),
                        }
                    )
                    return refused
            for _, window, key in checks:
                window.hit(key)
        return self._ledgers[tenant], self._remaining(tenant)

    def _remaining(self, tenant: str) -> dict[str, str]:
        return {
            "X-MinLimit-Remaining": str(self._minute.peek(tenant).remaining),
            "X-DayLimit-Remaining": str(self._day.peek(tenant).remaining),
            "X-AppMinLimit-Remaining": str(self._app_minute.peek(self.client_id).remaining),
        }


__all__ = ["API", "DEFAULT_CLIENT_ID", "DEFAULT_CLIENT_SECRET", "XeroEmulator", "problem"]
