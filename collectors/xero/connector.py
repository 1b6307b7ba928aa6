"""The Xero connector: settings, auth, per-tenant pacing, reads and batched writes."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar, TypeVar

import httpx

from collectors.auth import OAuth2ClientCredentials
from collectors.connector import Connector
from collectors.entities import Customer, Invoice, Payment
from collectors.erp import (
    Company,
    CreditApplication,
    CreditNoteDocument,
    CustomerDocument,
    InvoiceDocument,
    PostedCreditNote,
    PostedInvoice,
    Raw,
)
from collectors.errors import AuthError, RecordError
from collectors.http import DEFAULT_POLICY, RetryPolicy, call_json
from collectors.pacing import Pacer, PacerPool
from collectors.paging import PageNumber
from collectors.streams import Stream, pages
from collectors.timestamps import utc_text
from collectors.xero import mapping
from collectors.xero.batches import (
    CREDIT_NOTES,
    INVOICES,
    MAX_BATCH,
    Batch,
    Kind,
    _chunks,
    _posted,
    _posted_credit_note,
    batch_key,
    put_batches,
)
from collectors.xero.mapping import VENDOR
from collectors.xero.settings import XeroSettings, xero_pacer

T = TypeVar("T")
TENANT_HEADER = "xero-tenant-id"


def _stream(name: str, path: str, key: str) -> Stream:
    return Stream(
        name, path, path.strip("/"), PageNumber(path.strip("/")), key=key, cursor="UpdatedDateUTC"
    )


STREAMS = {
    "contacts": _stream("contacts", "/Contacts", "ContactID"),
    "invoices": _stream("invoices", "/Invoices", "InvoiceID"),
    "credit_notes": _stream("credit_notes", "/CreditNotes", "CreditNoteID"),
    "payments": _stream("payments", "/Payments", "PaymentID"),
}


@dataclass(frozen=True)
class XeroTenant:
    """One organisation this connection may reach (``GET /connections``)."""

    tenant_id: str
    name: str


class XeroConnector(Connector[XeroSettings]):
    """Xero as plan2cash's ERP (``collectors.erp.Erp``): a company is a tenant (organisation), a
    customer a contact. Reads contacts, invoices, credit notes and payments; creates contacts;
    posts invoices and credit notes in batches and allocates credit notes."""

    name = VENDOR
    label: ClassVar[str] = "Xero"
    record_ids: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "customer": ("ContactID",),
        "invoice": ("InvoiceID",),
        "payment": ("PaymentID",),
    }
    streams = STREAMS

    def __init__(
        self,
        settings: XeroSettings,
        *,
        transport: httpx.BaseTransport | None = None,
        policy: RetryPolicy = DEFAULT_POLICY,
        pacers: PacerPool | None = None,
    ) -> None:
        super().__init__(settings, transport=transport, policy=policy)
        # Xero's limits are per tenant (organisation): one pacer each
        self.pacers = pacers or PacerPool(lambda tenant: xero_pacer(tenant, settings))
        self._auth = OAuth2ClientCredentials(
            vendor=VENDOR,
            token_url=settings.token_url,
            client_id=settings.client_id,
            client_secret=settings.client_secret,
            scope=settings.scopes,
        )

    def default_pacer(self, settings: XeroSettings) -> Pacer | None:
        return None  # Xero's limits are per tenant: see ``pacers``

    def auth(self) -> httpx.Auth:
        return self._auth

    def origins(self) -> list[str]:
        """Xero's identity server (the token) and the connections list live apart from the API."""
        return [self.settings.token_url, self.settings.connections_url]

    def pacer_for(self, request: httpx.Request) -> Pacer | None:
        """The pacer of the tenant the request names (none for the connections list)."""
        tenant = request.headers.get(TENANT_HEADER)
        return self.pacers.get(tenant) if tenant else None

    @property
    def max_batch(self) -> int:
        """The configured batch size, within Xero's 50 a request."""
        return max(1, min(self.settings.batch_size, MAX_BATCH))

    def _call(self, client: httpx.Client, tenant: str, method: str, path: str, **kw: Any) -> Any:
        """One accounting call for ``tenant`` (paced under its limits); the decoded body."""
        headers = {TENANT_HEADER: tenant, **kw.pop("headers", {})}
        return call_json(client, method, path.lstrip("/"), route=path, headers=headers, **kw)

    def tenant_id(self, client: httpx.Client) -> str:
        """The configured tenant, or the first organisation this connection may reach."""
        if self.settings.tenant_id:
            return self.settings.tenant_id
        return self.tenants(client)[0].tenant_id

    def tenants(self, client: httpx.Client) -> list[XeroTenant]:
        """Every organisation (tenant) this connection may reach, in Xero's order."""
        listed = call_json(client, "GET", self.settings.connections_url, route="/connections")
        tenants = [c for c in listed if c.get("tenantType") == "ORGANISATION"]
        if not tenants:
            raise AuthError(
                "xero connection has no organisation; authorise one in Xero", vendor=VENDOR
            )
        return [XeroTenant(str(t["tenantId"]), str(t.get("tenantName") or "")) for t in tenants]

    def companies(self, client: httpx.Client) -> list[Company]:
        """The reachable organisations; only the pinned one when ``tenant_id`` is set (named as
        Xero names it, when the connection reaches it)."""
        listed = [Company(t.tenant_id, t.name) for t in self.tenants(client)]
        pinned = self.settings.tenant_id
        if pinned:
            return [c for c in listed if c.company_id == pinned] or [Company(pinned, "")]
        return listed

    def pages(
        self, client: httpx.Client, stream: str, tenant: str, since: datetime | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        """Raw pages of ``stream`` modified since ``since`` (inclusive; all when ``None``)."""
        headers = {TENANT_HEADER: tenant}
        if since is not None:
            headers["If-Modified-Since"] = utc_text(since, offset="")
        params = {"page": "1", "pageSize": str(self.settings.page_size)}
        return pages(client, self.streams[stream], params, headers=headers)

    def customer_pages(self, client: httpx.Client, company: str) -> Iterator[list[Raw]]:
        return self.pages(client, "contacts", company)

    def invoice_pages(
        self, client: httpx.Client, company: str, since: datetime | None
    ) -> Iterator[list[Raw]]:
        return self.pages(client, "invoices", company, since)

    def payment_pages(
        self, client: httpx.Client, company: str, since: datetime | None
    ) -> Iterator[list[Raw]]:
        return self.pages(client, "payments", company, since)

    def to_customer(self, raw: Raw) -> Customer | None:
        return mapping.to_customer(raw)

    def to_invoice(self, raw: Raw) -> Invoice | None:
        return mapping.sales_invoice(raw)

    def to_payments(self, raw: Raw) -> list[Payment]:
        return mapping.live_payments(raw)

    def find_invoices(
        self, client: httpx.Client, company: str, numbers: Sequence[str]
    ) -> dict[str, PostedInvoice]:
        """The live (not deleted or voided) invoices with these numbers, one call per 50."""
        found: dict[str, PostedInvoice] = {}
        for chunk in _chunks(list(numbers), MAX_BATCH):
            body = self._call(
                client, company, "GET", "/Invoices", params={"InvoiceNumbers": ",".join(chunk)}
            )
            for element in body.get("Invoices") or []:
                if element.get("Status") not in ("DELETED", "VOIDED"):
                    posted = _posted(element)
                    found[posted.number] = posted
        return found

    def find_credit_notes(
        self, client: httpx.Client, company: str, numbers: Sequence[str]
    ) -> dict[str, PostedCreditNote]:
        """The live credit notes with these numbers (one ``where`` query each: Xero's
        ``GET /CreditNotes`` has no list-of-numbers filter)."""
        found: dict[str, PostedCreditNote] = {}
        for number in numbers:
            where = f'CreditNoteNumber=="{_quoted(number)}"'
            body = self._call(client, company, "GET", "/CreditNotes", params={"where": where})
            for element in body.get("CreditNotes") or []:
                if element.get("Status") not in ("DELETED", "VOIDED"):
                    posted = _posted_credit_note(element)
                    if posted.number == number:
                        found[number] = posted
        return found

    def apply_credit_note(
        self, client: httpx.Client, company: str, application: CreditApplication
    ) -> Decimal:
        """Allocate the application's amount of a credit note to an invoice (``PUT …/Allocations``,
        keyed by ``application.key``); the amount
        applied. A refusal (invoice paid, not enough due) raises ``RecordError``."""
        allocation = {"Amount": float(application.amount), "Date": application.on.isoformat()}
        body = {"Allocations": [{**allocation, "Invoice": {"InvoiceID": application.invoice_id}}]}
        reply = self._call(
            client,
            company,
            "PUT",
            f"/CreditNotes/{application.credit_note_id}/Allocations",
            params={"summarizeErrors": "false"},
            json=body,
            headers={"Idempotency-Key": application.key[:128]},
        )
        (element,) = reply.get("Allocations") or [None]
        if not isinstance(element, dict) or element.get("ValidationErrors"):
            errors = element.get("ValidationErrors") if isinstance(element, dict) else None
            reasons = "; ".join(e.get("Message", "") for e in errors or []) or "no allocation"
            raise RecordError(
                f"xero refused the allocation: {reasons}",
                vendor=VENDOR,
                status=200,
                details=reasons,
            )
        return Decimal(str(element.get("Amount", application.amount)))

    def find_customer(self, client: httpx.Client, company: str, name: str) -> str | None:
        """The ContactID of the active contact with exactly this name, if any."""
        where = f'Name=="{_quoted(name)}"'
        body = self._call(client, company, "GET", "/Contacts", params={"where": where})
        for contact in body.get("Contacts") or []:
            if contact.get("Name", "").casefold() == name.casefold():
                return str(contact["ContactID"])
        return None

    def create_customer(
        self, client: httpx.Client, company: str, customer: CustomerDocument
    ) -> str:
        """Create the contact (``PUT /Contacts``, its ``Idempotency-Key`` the document's key)."""
        contact = {"Name": customer.name, "DefaultCurrency": customer.currency, "IsCustomer": True}
        created = self._call(
            client,
            company,
            "PUT",
            "/Contacts",
            json={"Contacts": [contact]},
            headers={"Idempotency-Key": customer.key[:128]},
        )
        return str(created["Contacts"][0]["ContactID"])

    def post_invoices(
        self, client: httpx.Client, company: str, invoices: Sequence[InvoiceDocument]
    ) -> list[PostedInvoice | RecordError]:
        """Each invoice as an authorised ACCREC invoice on the sales account, in batches."""
        code = self.settings.sales_account_code
        bodies = [
            (d.key, mapping.invoice_body(d.invoice, contact_id=d.customer_ref, account_code=code))
            for d in invoices
        ]
        return self.put_invoices(client, company, bodies)

    def post_credit_notes(
        self, client: httpx.Client, company: str, notes: Sequence[CreditNoteDocument]
    ) -> list[PostedCreditNote | RecordError]:
        """Each note as an authorised ACCRECCREDIT referring to its invoice, in batches."""
        account = self.settings.sales_account_code
        bodies = [(n.key, mapping.credit_note_document_body(n, account)) for n in notes]
        return self.put_credit_notes(client, company, bodies)

    def put_invoices(
        self, client: httpx.Client, tenant: str, invoices: Sequence[tuple[str, dict[str, Any]]]
    ) -> list[PostedInvoice | RecordError]:
        """Create invoices, ``(key, body)`` each, in batches; one result per invoice, in order.

        A refused invoice is a ``RecordError`` carrying Xero's reasons (a ``SchemaDriftError``
        when the reply cannot be matched to it: its fate is then unknown). Transient and fatal
        failures of a whole batch raise, as ``call()`` does.
        """
        return self._put_batches(client, tenant, INVOICES, invoices)

    def put_credit_notes(
        self, client: httpx.Client, tenant: str, notes: Sequence[tuple[str, dict[str, Any]]]
    ) -> list[PostedCreditNote | RecordError]:
        """Create credit notes (``PUT /CreditNotes``) in batches, as ``put_invoices`` does."""
        return self._put_batches(client, tenant, CREDIT_NOTES, notes)

    def _put_batches(
        self,
        client: httpx.Client,
        tenant: str,
        kind: Kind[T],
        documents: Sequence[tuple[str, dict[str, Any]]],
    ) -> list[T | RecordError]:
        def put(chunk: Batch) -> Any:
            return self._call(
                client,
                tenant,
                "PUT",
                f"/{kind.collection}",
                params={"summarizeErrors": "false"},
                json={kind.collection: [document for _, document in chunk]},
                headers={"Idempotency-Key": batch_key([key for key, _ in chunk])},
            )

        return put_batches(put, kind, list(documents), self.max_batch)


def _quoted(text: str) -> str:
    """``text`` inside a double-quoted string of Xero's ``where`` filter."""
    return text.replace('"', '\\"')
