"""Xero Accounting API emulator: client-credentials tokens, connections, invoices, contacts.

Every accounting call needs a live bearer token (else 401 with Xero's problem body) and a
``xero-tenant-id`` this connection may reach: missing or unknown gives 403
``AuthenticationUnsuccessful``, which is what Xero answers (NangoHQ/nango#203,
XeroAPI/xero-node#432). Limits: per tenant 60 calls a minute and 5,000 a day, per app 10,000 a
minute (windows × ``time_scale``), then 429 with ``Retry-After`` and ``X-Rate-Limit-Problem``;
every admitted accounting reply carries the ``X-*Limit-Remaining`` headers. Writes honour
``Idempotency-Key`` (at most 128 characters): a repeated key replays the first reply.
``summarizeErrors`` defaults to true here (Xero's documented behaviour, although the spec's
parameter declares ``default: false``).
"""

from __future__ import annotations

import math
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.vendors.limits import SlidingWindow
from sandbox.vendors.wire import FastJSON, LostResponse
from sandbox.vendors.xero_books import Books, Record
from sandbox.vendors.xero_dates import ms_envelope, parse_since
from sandbox.vendors.xero_identity import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    XeroIdentity,
    problem,
)
from sandbox.vendors.xero_projection import tenants
from sandbox.vendors.xero_webhooks import DEFAULT_WEBHOOK_KEY, delivery
from sandbox.world.model import World

API = "/api.xro/2.0"
PROVIDER_NAME = "plan2cash sandbox"
MAX_IDEMPOTENCY_KEY = 128
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
Replay = tuple[int, bytes]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _list(request: Request, name: str) -> list[str]:
    return [part.strip() for part in request.query_params.get(name, "").split(",") if part.strip()]


class XeroEmulator:
    """One Xero custom connection to every organisation of the firm (one per legal entity),
    served by ``.app``; ``tenant_id`` is the first."""

    def __init__(
        self,
        world: World,
        *,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        webhook_key: str = DEFAULT_WEBHOOK_KEY,
        time_scale: float = 1.0,
        now: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.webhook_key = webhook_key
        self._now = now
        self.identity = XeroIdentity(client_id, client_secret, now=now)
        self._books: dict[str, Books] = {}
        for tenant in tenants(world):
            self.identity.connect(tenant.tenant_id, tenant.name)
            books = Books(
                tenant.contacts, now=now, created=tenant.opened, base_currency=tenant.currency
            )
            books.load_invoices(tenant.invoices)
            self._books[tenant.tenant_id] = books
        self.tenant_ids = list(self._books)
        self.tenant_id = self.tenant_ids[0]
        self.tenant_name = world.legal_entities[0].name
        self._replays: dict[tuple[str, str], Replay] = {}
        self._lose = 0
        self._lock = threading.Lock()
        self._minute = SlidingWindow(60, 60 * time_scale)
        self._day = SlidingWindow(5000, 86400 * time_scale)
        self._app_minute = SlidingWindow(10_000, 60 * time_scale)
        self.app = Starlette(
            routes=[
                Route("/connect/token", self.identity.token_endpoint, methods=["POST"]),
                Route("/connections", self.identity.connections, methods=["GET"]),
                Route(f"{API}/Invoices", self._get_invoices, methods=["GET"]),
                Route(f"{API}/Invoices", self._save_invoices, methods=["PUT", "POST"]),
                Route(f"{API}/Invoices/{{invoice_id}}", self._get_invoice, methods=["GET"]),
                Route(f"{API}/Invoices/{{invoice_id}}", self._save_invoices, methods=["POST"]),
                Route(f"{API}/Contacts", self._get_contacts, methods=["GET"]),
                Route(f"{API}/Contacts", self._save_contacts, methods=["PUT", "POST"]),
                Route(f"{API}/Contacts/{{contact_id}}", self._get_contacts, methods=["GET"]),
            ]
        )

    # --- accessors and fault switches for tests ---------------------------------------------

    def invoices(self, tenant_id: str | None = None) -> list[Record]:
        """The invoices of one tenant, or of every tenant (in tenant order) when ``None``."""
        chosen = [tenant_id] if tenant_id else self.tenant_ids
        return [i for t in chosen for i in self._books[t].find_invoices()]

    def contacts(self, tenant_id: str | None = None) -> list[Record]:
        chosen = [tenant_id] if tenant_id else self.tenant_ids
        return [c for t in chosen for c in self._books[t].find_contacts(include_archived=True)]

    def webhook_delivery(self, events: list[dict[str, str]]) -> tuple[dict[str, str], bytes]:
        """A signed delivery of ``events`` (see ``xero_webhooks.event``), as Xero posts it."""
        return delivery(events, self.webhook_key)

    def record_payment(self, tenant_id: str, invoice_id: str, amount: Decimal, on: date) -> Record:
        """The customer paid: the invoice's ``AmountDue`` drops (PAID once nothing is due)."""
        return self._books[tenant_id].record_payment(invoice_id, amount, on)

    def lose_next_response(self, n: int = 1) -> None:
        """The next ``n`` accepted invoice writes are applied, then their replies are lost."""
        with self._lock:
            self._lose += n

    def issue_token(self) -> str:
        """A live access token, as if the token endpoint had granted one."""
        return self.identity.issue_token()

    # --- accounting -------------------------------------------------------------------------

    def _admit(self, request: Request) -> tuple[Books, dict[str, str]] | Response:
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
        return self._books[tenant], self._remaining(tenant)

    def _remaining(self, tenant: str) -> dict[str, str]:
        return {
            "X-MinLimit-Remaining": str(self._minute.peek(tenant).remaining),
            "X-DayLimit-Remaining": str(self._day.peek(tenant).remaining),
            "X-AppMinLimit-Remaining": str(self._app_minute.peek(self.client_id).remaining),
        }

    # --- reads ------------------------------------------------------------------------------

    def _envelope(self, collection: str, records: list[Record], **extra: Any) -> dict[str, Any]:
        return {
            "Id": str(uuid.uuid4()),
            "Status": "OK",
            "ProviderName": PROVIDER_NAME,
            "DateTimeUTC": ms_envelope(self._now()),
            **extra,
            collection: records,
        }

    async def _get_invoices(self, request: Request) -> Response:
        admitted = self._admit(request)
        if isinstance(admitted, Response):
            return admitted
        books, limits = admitted
        try:
            since = _since(request)
            found = books.find_invoices(
                ids=_list(request, "IDs"),
                numbers=_list(request, "InvoiceNumbers"),
                statuses=_list(request, "Statuses"),
                contact_ids=_list(request, "ContactIDs"),
                since=since,
            )
            body = self._paged("Invoices", found, request)
        except ValueError as bad:
            return problem(400, "BadRequest", str(bad))
        return FastJSON(body, headers=limits)

    async def _get_invoice(self, request: Request) -> Response:
        admitted = self._admit(request)
        if isinstance(admitted, Response):
            return admitted
        books, limits = admitted
        found = books.find_invoices(ids=[request.path_params["invoice_id"]])
        if not found:
            return problem(404, "NotFound", "The resource you're looking for cannot be found")
        return FastJSON(self._envelope("Invoices", found), headers=limits)

    async def _get_contacts(self, request: Request) -> Response:
        admitted = self._admit(request)
        if isinstance(admitted, Response):
            return admitted
        books, limits = admitted
        one = request.path_params.get("contact_id")
        try:
            found = books.find_contacts(
                ids=[one] if one else _list(request, "IDs"),
                where=request.query_params.get("where"),
                since=_since(request),
                include_archived=request.query_params.get("includeArchived") == "true",
            )
            if one and not found:
                return problem(404, "NotFound", "The resource you're looking for cannot be found")
            body = self._paged("Contacts", found, request)
        except ValueError as bad:
            return problem(400, "BadRequest", str(bad))
        return FastJSON(body, headers=limits)

    def _paged(self, collection: str, records: list[Record], request: Request) -> dict[str, Any]:
        """All records, or one page with ``pagination`` when the client asks for a page."""
        if "page" not in request.query_params:
            return self._envelope(collection, records)
        page = int(request.query_params["page"])
        size = int(request.query_params.get("pageSize", DEFAULT_PAGE_SIZE))
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
        return self._envelope(collection, chunk, pagination=pagination)

    # --- writes -----------------------------------------------------------------------------

    async def _save_invoices(self, request: Request) -> Response:
        return await self._write(request, "Invoices")

    async def _save_contacts(self, request: Request) -> Response:
        return await self._write(request, "Contacts")

    async def _write(self, request: Request, collection: str) -> Response:
        admitted = self._admit(request)
        if isinstance(admitted, Response):
            return admitted
        books, limits = admitted
        key = request.headers.get("idempotency-key")
        if key is not None and len(key) > MAX_IDEMPOTENCY_KEY:
            return problem(
                400,
                "BadRequest",
                f"Idempotency-Key must be at most {MAX_IDEMPOTENCY_KEY} characters",
            )
        raw = await request.body()
        tenant = request.headers["xero-tenant-id"]
        with books.lock:
            replay = self._replays.get((tenant, key)) if key else None
            if replay is None:
                replay = self._apply(request, books, collection, raw)
                if key:
                    self._replays[(tenant, key)] = replay
        status, body = replay
        if collection == "Invoices" and status == 200 and self._take_loss():
            return LostResponse()
        return Response(body, status_code=status, media_type="application/json", headers=limits)

    def _take_loss(self) -> bool:
        with self._lock:
            if self._lose <= 0:
                return False
            self._lose -= 1
            return True

    def _apply(self, request: Request, books: Books, collection: str, raw: bytes) -> Replay:
        try:
            parsed = orjson.loads(raw or b"null")
        except orjson.JSONDecodeError:
            parsed = None
        elements = parsed.get(collection, [parsed]) if isinstance(parsed, dict) else None
        if not isinstance(elements, list):
            return 400, orjson.dumps(
                {
                    "ErrorNumber": 14,
                    "Type": "PostDataInvalidException",
                    "Message": "The request body could not be read",
                }
            )
        summarize = request.query_params.get("summarizeErrors", "true").lower() != "false"
        create_only = request.method == "PUT"
        if collection == "Invoices":
            ok, results = books.save_invoices(
                elements,
                create_only=create_only,
                summarize=summarize,
                invoice_id=request.path_params.get("invoice_id"),
            )
        else:
            ok, results = books.save_contacts(
                elements, create_only=create_only, summarize=summarize
            )
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


def _since(request: Request) -> datetime | None:
    header = request.headers.get("if-modified-since")
    return parse_since(header) if header else None


__all__ = ["API", "DEFAULT_CLIENT_ID", "DEFAULT_CLIENT_SECRET", "XeroEmulator", "problem"]
