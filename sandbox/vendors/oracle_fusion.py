"""Oracle Fusion Cloud ERP emulator (Financials REST, with the CRM ``accounts`` resource for
customers): business units, customer accounts, receivables invoices with lines and installments,
on-account credit memos, standard receipts and the ``parts[]`` batch.

Its companies are business units, one per legal entity of the world, named ``<entity> BU``; the
company id is that name (Fusion names a transaction's business unit by name) and
``finBusinessUnitsLOV`` lists them. Customer accounts are shared by every business unit (Fusion's
customers live in the trading community registry, not in a business unit); the emulator takes
an account's ``PartyNumber`` as its customer account number, which a real pod gets from the SOAP
``CustomerAccountService`` [3rd-party: Fusion's REST creates parties, not AR accounts].

Every call needs HTTP Basic credentials of the integration user, or a bearer token from
``issue_token`` (Fusion's JWT token relay): else 401 with an empty body and a
``WWW-Authenticate`` challenge. Oracle publishes no rate limit, so the emulator allows a modest
``requests_per_minute`` per user (300 by default; windows × ``time_scale``) and answers 429 with
``Retry-After`` and Fusion's error body beyond it [unconfirmed behaviour: erps.md §2.5].
``lose_next_response(n)`` applies the next ``n`` accepted writes and loses their replies.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Collection
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.clock import utc_now
from sandbox.vendors import oracle_fusion_api as api
from sandbox.vendors import oracle_fusion_writes as writes
from sandbox.vendors.limits import SlidingWindow
from sandbox.vendors.oracle_fusion_books import Books, Record, money
from sandbox.vendors.oracle_fusion_projection import chosen, project
from sandbox.vendors.oracle_fusion_query import error
from sandbox.vendors.receivables import OpenInvoice
from sandbox.vendors.wire import FastJSON, LostResponse, basic_credentials
from sandbox.world.model import World

DEFAULT_USERNAME = "sandbox.integration"
DEFAULT_PASSWORD = "sandbox-fusion-password"
Handler = Callable[[Request], Any]


class OracleFusionEmulator:
    """One Fusion pod holding the receivables of the chosen legal entities, served by ``.app``."""

    def __init__(
        self,
        world: World,
        *,
        entities: Collection[int] | None = None,
        time_scale: float = 1.0,
        now: Callable[[], datetime] = utc_now,
        username: str = DEFAULT_USERNAME,
        password: str = DEFAULT_PASSWORD,
        requests_per_minute: int = 300,
    ) -> None:
        self.username = username
        self.password = password
        self.token = secrets.token_urlsafe(32)
        self.books = Books(now)
        self._entities = project(self.books, world, chosen(world, entities))
        self._window = SlidingWindow(requests_per_minute, 60 * time_scale)
        self._lose = 0
        self._lose_lock = threading.Lock()
        self.app = Starlette(routes=self._routes())

    # --- ground truth and faults for the sandbox and tests ----------------------------------

    def companies(self) -> list[tuple[str, int, str]]:
        """``(business unit name, legal entity id, legal entity name)`` per company."""
        units = self.books.units.values()
        return [(u["BusinessUnitName"], self._entities[u["BusinessUnitName"]],
                 u["LegalEntityName"]) for u in units]  # fmt: skip

    def invoices(self, company_id: str) -> list[Record]:
        """The business unit's invoices as stored (children included)."""
        return [i for i in self.books.invoices.values() if i["BusinessUnit"] == company_id]

    def credit_memos(self, company_id: str) -> list[Record]:
        return [m for m in self.books.credit_memos.values() if m["BusinessUnit"] == company_id]

    def accounts(self) -> list[Record]:
        return list(self.books.accounts.values())

    def receivables(self) -> list[OpenInvoice]:
        """Every completed invoice, paid or not, in id order."""
        return [
            OpenInvoice(
                invoice["BusinessUnit"],
                str(invoice["CustomerTransactionId"]),
                invoice["TransactionNumber"],
                invoice["BillToCustomerName"],
                date.fromisoformat(invoice["TransactionDate"]),
                invoice["InvoiceCurrencyCode"],
                money(invoice["InvoiceBalanceAmount"]),
                money(invoice["EnteredAmount"]),
                invoice["InvoiceStatus"],
                # something due, nothing applied to it yet
                0 < money(invoice["InvoiceBalanceAmount"]) == money(invoice["EnteredAmount"]),
            )
            for invoice in self.books.invoices.values()
            if invoice["InvoiceStatus"] == "Complete"
        ]

    def record_payment(
        self, company_id: str, invoice_id: str | int, amount: Decimal, on: date
    ) -> Record:
        """The customer paid: a standard receipt applied to the invoice (its balance drops and
        its installment closes once nothing is due)."""
        with self.books.lock:
            invoice = self.books.invoices[int(invoice_id)]
            if invoice["BusinessUnit"] != company_id:
                raise KeyError(f"invoice {invoice_id} is not in {company_id}")
            return self.books.add_receipt(invoice, money(amount), on, self.books.now())

    def lose_next_response(self, n: int = 1) -> None:
        """The next ``n`` accepted writes are applied, then their replies are lost."""
        with self._lose_lock:
            self._lose += n

    def issue_token(self) -> str:
        """The bearer token Fusion's token relay would hand this user."""
        return self.token

    # --- the wire -----------------------------------------------------------------------------

    def _routes(self) -> list[Route]:
        routes = [Route(api.API, self._guarded(self._batch), methods=["POST"])]
        for resource in api.RESOURCES.values():
            base = f"{resource.root}/{resource.name}"
            routes += [
                Route(base, self._guarded(self._list(resource)), methods=["GET"]),
                Route(f"{base}/{{ident}}", self._guarded(self._item(resource)), methods=["GET"]),
            ]
            if resource.create:
                routes.append(Route(base, self._guarded(self._create(resource)), methods=["POST"]))
            if resource.update:
                item = f"{base}/{{ident}}"
                routes.append(Route(item, self._guarded(self._update(resource)), methods=["PATCH"]))
        memo = f"{api.API}/receivablesCreditMemos/{{ident}}/action/applyCreditMemo"
        routes.append(Route(memo, self._guarded(self._apply_memo), methods=["POST"]))
        return routes

    def _guarded(self, handler: Handler) -> Handler:
        async def handle(request: Request) -> Response:
            refusal = self._admit(request)
            if refusal is not None:
                return refusal
            response: Response = await handler(request)
            return response

        return handle

    def _admit(self, request: Request) -> Response | None:
        header = request.headers.get("authorization", "")
        user, password = basic_credentials(header)
        bearer = header[7:] if header.startswith("Bearer ") else ""
        if (user, password) != (self.username, self.password) and not (
            bearer and secrets.compare_digest(bearer, self.token)
        ):
            return Response(status_code=401, headers={"WWW-Authenticate": 'Basic realm="fusion"'})
        verdict = self._window.hit(self.username)
        if not verdict.allowed:
            reply = error(429, "Too Many Requests", "The request rate limit has been exceeded.")
            reply.headers["Retry-After"] = str(verdict.retry_after)
            return reply
        return None

    def _list(self, resource: api.Resource) -> Handler:
        async def handle(request: Request) -> Response:
            with self.books.lock:
                return api.list_items(self.books, resource, request)

        return handle

    def _item(self, resource: api.Resource) -> Handler:
        async def handle(request: Request) -> Response:
            with self.books.lock:
                return api.get_item(self.books, resource, request, request.path_params["ident"])

        return handle

    def _create(self, resource: api.Resource) -> Handler:
        async def handle(request: Request) -> Response:
            payload = api.body_of(await request.body())
            if payload is None or resource.create is None:
                return error(400, "Bad Request", "The request body isn't a JSON object.")
            upsert = request.headers.get("upsert-mode", "").lower() == "true"
            with self.books.lock:
                try:
                    apply = resource.create(self.books, payload, writes.Claims(), upsert)
                except writes.Refused as exc:
                    return api.refused(exc)
                status, record = apply()
                body = api.render(record, resource, "", expand={"all"}, only_data=True)
            return self._written(status, body)

        return handle

    def _update(self, resource: api.Resource) -> Handler:
        async def handle(request: Request) -> Response:
            payload = api.body_of(await request.body())
            ident = request.path_params["ident"]
            with self.books.lock:
                record = resource.find(self.books, ident)
                if record is None:
                    return api.not_found(resource, ident)
                if payload is None or resource.update is None:
                    return error(400, "Bad Request", "The request body isn't a JSON object.")
                try:
                    status, record = resource.update(self.books, record, payload)()
                except writes.Refused as exc:
                    return api.refused(exc)
                body = api.render(record, resource, "", expand=set(), only_data=True)
            return self._written(status, body)

        return handle

    async def _apply_memo(self, request: Request) -> Response:
        payload = api.body_of(await request.body())
        ident = request.path_params["ident"]
        resource = api.RESOURCES["receivablesCreditMemos"]
        with self.books.lock:
            memo = resource.find(self.books, ident)
            if memo is None:
                return api.not_found(resource, ident)
            try:
                status, body = writes.apply_credit_memo(self.books, memo, payload or {})()
            except writes.Refused as exc:
                return api.refused(exc)
        return self._written(status, body)

    async def _batch(self, request: Request) -> Response:
        payload = api.body_of(await request.body())
        if payload is None:
            return error(400, "Bad Request", "The request body isn't a JSON object.")
        upsert = request.headers.get("upsert-mode", "").lower() == "true"
        with self.books.lock:
            status, body = api.batch(self.books, payload, upsert)
        return self._written(status, body) if status == 200 else FastJSON(body, status_code=status)

    def _written(self, status: int, body: Record) -> Response:
        with self._lose_lock:
            lose = self._lose > 0
            self._lose -= 1 if lose else 0
        return LostResponse() if lose else FastJSON(body, status_code=status)


__all__ = ["DEFAULT_PASSWORD", "DEFAULT_USERNAME", "OpenInvoice", "OracleFusionEmulator"]
