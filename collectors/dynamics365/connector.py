"""The Dynamics 365 Finance connector: settings, Entra ID auth, pacing, and the ``Erp`` calls."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import ClassVar

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from collectors.auth import OAuth2ClientCredentials
from collectors.connector import Connector
from collectors.dynamics365 import mapping, odata
from collectors.dynamics365.mapping import LABEL, VENDOR, Raw, local, qualified
from collectors.dynamics365.posting import (
    Document,
    Poster,
    debit,
    posted_invoice,
    posted_note,
    with_documents,
)
from collectors.entities import Customer, Invoice, Payment
from collectors.erp import (
    Company,
    CreditApplication,
    CreditNoteDocument,
    CustomerDocument,
    InvoiceDocument,
    PostedCreditNote,
    PostedInvoice,
)
from collectors.errors import RecordError
from collectors.http import DEFAULT_POLICY, RetryPolicy
from collectors.idempotency import create_once
from collectors.outbound import DEFAULT_MAX_RESPONSE_BYTES
from collectors.pacing import Limit, Pacer
from collectors.timestamps import utc_text

SANDBOX = "http://127.0.0.1:8716"
SANDBOX_TENANT = "00000000-0000-4000-8000-00000000d365"
INVOICE_TRANSACTIONS = "TransType eq Microsoft.Dynamics.DataEntities.LedgerTransType'Cust'"
PAYMENT_TRANSACTIONS = "TransType eq Microsoft.Dynamics.DataEntities.LedgerTransType'Payment'"


class Dynamics365Settings(BaseModel):
    """One Entra ID app registration (also registered in F&O under Microsoft Entra
    applications) and the environment it posts to.

    ``base_url`` is the OData service root (``https://<env>.operations.dynamics.com/data``);
    ``scope`` defaults to the environment URL with ``/.default``. Which ``dataAreaId`` keeps a
    legal entity's books is plan2cash's ``[erp] entities`` (else the company of its name)."""

    model_config = ConfigDict(extra="forbid")
    live_required: ClassVar[tuple[str, ...]] = (
        "base_url",
        "token_url",
        "client_id",
        "client_secret",
    )

    base_url: str = f"{SANDBOX}/data"
    token_url: str = f"{SANDBOX}/{SANDBOX_TENANT}/oauth2/v2.0/token"
    client_id: str = "sandbox-d365-client"
    client_secret: SecretStr = SecretStr("sandbox-d365-secret")
    scope: str | None = None
    customer_group: str = "10"
    main_account: str = "401100"  # the revenue account of free text invoice lines
    timeout_seconds: float = 30.0
    max_response_bytes: int = Field(default=DEFAULT_MAX_RESPONSE_BYTES, ge=1024)
    page_size: int = Field(default=1000, ge=1, le=10_000)
    batch_size: int = Field(default=50, ge=1, le=200)
    requests_per_window: int = 6000
    window_seconds: float = 300.0
    concurrent_requests: int = 52

    def token_scope(self) -> str:
        return self.scope or f"{self.base_url.rstrip('/').removesuffix('/data')}/.default"


def dynamics365_pacer(settings: Dynamics365Settings, *, time_scale: float = 1.0) -> Pacer:
    """The user-based service-protection limits: 6,000 requests per 5 minutes, 52 in flight."""
    return Pacer(
        [Limit(settings.requests_per_window, settings.window_seconds)],
        concurrency=settings.concurrent_requests,
        time_scale=time_scale,
        name=VENDOR,
    )


class Dynamics365Connector(Connector[Dynamics365Settings]):
    """Reads customers, posted invoices and payments per company; creates customers; posts
    free text invoices and credit notes at most once; settles credit notes."""

    name: ClassVar[str] = VENDOR
    label: ClassVar[str] = LABEL
    record_ids: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "customer": ("dataAreaId", "CustomerAccount"),
        "invoice": ("dataAreaId", "Invoice"),
        "payment": ("dataAreaId", "Voucher"),
    }

    def __init__(
        self,
        settings: Dynamics365Settings,
        *,
        transport: httpx.BaseTransport | None = None,
        policy: RetryPolicy = DEFAULT_POLICY,
        pacer: Pacer | None = None,
    ) -> None:
        super().__init__(settings, transport=transport, policy=policy, pacer=pacer)
        self._auth = OAuth2ClientCredentials(
            vendor=VENDOR,
            token_url=settings.token_url,
            client_id=settings.client_id,
            client_secret=settings.client_secret,
            scope=settings.token_scope(),
            credentials_in="body",
        )

    def default_pacer(self, settings: Dynamics365Settings) -> Pacer | None:
        return dynamics365_pacer(settings)

    def auth(self) -> httpx.Auth:
        return self._auth

    def origins(self) -> list[str]:
        """Entra ID (the token) lives apart from the environment."""
        return [self.settings.token_url]

    @property
    def max_batch(self) -> int:
        return self.settings.batch_size

    def _poster(self, client: httpx.Client, company: str) -> Poster:
        return Poster(client, company, self.settings.page_size, self.settings.batch_size)

    # --- reads -------------------------------------------------------------------------------

    def companies(self, client: httpx.Client) -> list[Company]:
        rows = odata.rows(client, "legal_entities", {}, self.settings.page_size)
        return [Company(str(r["LegalEntityId"]).lower(), str(r["Name"])) for r in rows]

    def customer_pages(self, client: httpx.Client, company: str) -> Iterator[list[Raw]]:
        params = odata.in_company(company)
        return odata.read_pages(client, "customers", params, self.settings.page_size)

    def to_customer(self, raw: Raw) -> Customer | None:
        return mapping.to_customer(raw)

    def find_customer(self, client: httpx.Client, company: str, name: str) -> str | None:
        # a '*' in a name is a wildcard to F&O: the exact name is checked here
        params = odata.in_company(company, f"OrganizationName eq {mapping.quoted(name)}")
        for row in odata.rows(client, "customers", params, self.settings.page_size):
            if str(row["OrganizationName"]).casefold() == name.casefold():
                return qualified(company, str(row["CustomerAccount"]))
        return None

    def create_customer(
        self, client: httpx.Client, company: str, customer: CustomerDocument
    ) -> str:
        body = mapping.customer_body(
            company,
            customer.name,
            customer.currency,
            customer.payment_terms_days,
            self.settings.customer_group,
        )

        def create() -> str:
            created = odata.create(client, "customers", body)
            return qualified(company, str(created["CustomerAccount"]))

        return create_once(lambda: self.find_customer(client, company, customer.name), create)

    def invoice_pages(
        self, client: httpx.Client, company: str, since: datetime | None
    ) -> Iterator[list[Raw]]:
        """Posted invoices whose customer transaction changed at or after ``since``, each with
        its free text invoice's ``Header`` and ``Lines`` joined on."""
        condition = f"{INVOICE_TRANSACTIONS} and AmountCur gt 0" + _since(since)
        params = odata.in_company(company, condition)
        poster = self._poster(client, company)
        for page in odata.read_pages(client, "transactions", params, self.settings.page_size):
            yield with_documents(poster, company, page)

    def to_invoice(self, raw: Raw) -> Invoice | None:
        return mapping.to_invoice(raw)

    def payment_pages(
        self, client: httpx.Client, company: str, since: datetime | None
    ) -> Iterator[list[Raw]]:
        """Payment transactions changed at or after ``since``, each with the invoice
        transaction it settled (by ``LastSettleVoucher``) joined on as ``SettledInvoice``."""
        params = odata.in_company(company, PAYMENT_TRANSACTIONS + _since(since))
        poster = self._poster(client, company)
        for page in odata.read_pages(client, "transactions", params, self.settings.page_size):
            vouchers = sorted(
                {str(r["LastSettleVoucher"]) for r in page if r.get("LastSettleVoucher")}
            )
            settled = poster.by_voucher(vouchers)
            yield [
                {**r, "SettledInvoice": settled.get(str(r.get("LastSettleVoucher")))} for r in page
            ]

    def to_payments(self, raw: Raw) -> list[Payment]:
        return mapping.to_payments(raw)

    # --- writes ------------------------------------------------------------------------------

    def find_invoices(
        self, client: httpx.Client, company: str, numbers: Sequence[str]
    ) -> dict[str, PostedInvoice]:
        posted = self._poster(client, company).posted(numbers)
        return {n: posted_invoice(company, n, t) for n, t in posted.items() if debit(t)}

    def post_invoices(
        self, client: httpx.Client, company: str, invoices: Sequence[InvoiceDocument]
    ) -> list[PostedInvoice | RecordError]:
        documents = [self._invoice_document(company, d) for d in invoices]
        outcomes = self._poster(client, company).post(documents)
        return [
            o if isinstance(o, RecordError) else posted_invoice(company, d.number, o)
            for d, o in zip(documents, outcomes, strict=True)
        ]

    def find_credit_notes(
        self, client: httpx.Client, company: str, numbers: Sequence[str]
    ) -> dict[str, PostedCreditNote]:
        posted = self._poster(client, company).posted(numbers)
        return {n: posted_note(company, n, t) for n, t in posted.items() if not debit(t)}

    def post_credit_notes(
        self, client: httpx.Client, company: str, notes: Sequence[CreditNoteDocument]
    ) -> list[PostedCreditNote | RecordError]:
        documents = [self._note_document(company, n) for n in notes]
        outcomes = self._poster(client, company).post(documents)
        return [
            o if isinstance(o, RecordError) else posted_note(company, d.number, o)
            for d, o in zip(documents, outcomes, strict=True)
        ]

    def apply_credit_note(
        self, client: httpx.Client, company: str, application: CreditApplication
    ) -> Decimal:
        """Settle the credit note against the invoice (the key is not sent: F&O takes none)."""
        poster = self._poster(client, company)
        note = local(company, application.credit_note_id)
        invoice = local(company, application.invoice_id)
        return poster.settle(note, invoice, application.amount, application.on)

    def _invoice_document(self, company: str, document: InvoiceDocument) -> Document:
        invoice = document.invoice
        header = mapping.header_body(
            company,
            customer=local(company, document.customer_ref),
            number=invoice.number,
            issued=invoice.issue_date,
            due=invoice.due_date,
            currency=invoice.currency,
            ref=f"{invoice.period_start:%Y-%m} services",
        )
        lines = mapping.line_bodies(company, invoice.lines, self.settings.main_account)
        return Document(invoice.number, header, lines)

    def _note_document(self, company: str, note: CreditNoteDocument) -> Document:
        header = mapping.header_body(
            company,
            customer=local(company, note.customer_ref),
            number=note.number,
            issued=note.issued,
            due=note.issued,
            currency=note.currency,
            ref=note.invoice_number,
        )
        lines = mapping.line_bodies(company, note.lines, self.settings.main_account, sign=-1)
        return Document(note.number, header, lines)


def _since(since: datetime | None) -> str:
    return "" if since is None else f" and SysModifiedDateTime ge {utc_text(since)}"
