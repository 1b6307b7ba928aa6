"""The NetSuite connector: settings, the M2M token grant, concurrency pacing, and the ``Erp``
protocol over the REST record service and SuiteQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from collectors.auth import JwtAlgorithm, OAuth2JwtAssertion
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
from collectors.errors import ConfigError, RecordError
from collectors.http import call
from collectors.netsuite import mapping
from collectors.netsuite.mapping import VENDOR, account_datetime, suiteql_text
from collectors.netsuite.posting import MAX_BATCH, post_documents, transactions, upsert
from collectors.netsuite.reads import MAX_PAGE, RECORDS, record_pages, suiteql
from collectors.outbound import DEFAULT_MAX_RESPONSE_BYTES
from collectors.pacing import Pacer

T = TypeVar("T")
LIVE = ("A", "B", "D")  # open, paid in full, pending approval: not rejected or voided


class NetSuiteSettings(BaseModel):
    """One NetSuite account reached with an OAuth 2.0 client-credentials (M2M) integration.

    ``certificate_id`` names the certificate uploaded in the account's M2M setup and
    ``private_key`` (PEM) is its key, which signs the token requests. Which subsidiary keeps a
    legal entity's books is plan2cash's ``[erp] entities`` (else the subsidiary of its name).
    ``service_item_id`` is the service item
    every invoice line is booked on. ``concurrency_limit`` is the account's (or this
    integration's) concurrency limit: 5 on a developer account, 15 and up in production.
    """

    model_config = ConfigDict(extra="forbid")
    live_required: ClassVar[tuple[str, ...]] = (
        "base_url",
        "token_url",
        "client_id",
        "certificate_id",
        "private_key",
    )

    base_url: str = "http://127.0.0.1:8718/services/rest"
    token_url: str = "http://127.0.0.1:8718/services/rest/auth/oauth2/v1/token"
    client_id: str = "sandbox-netsuite-client"
    certificate_id: str = ""
    private_key: SecretStr = SecretStr("")
    algorithm: JwtAlgorithm = "PS256"
    scope: str = "rest_webservices"
    service_item_id: str = "1"
    timeout_seconds: float = 30.0
    max_response_bytes: int = Field(default=DEFAULT_MAX_RESPONSE_BYTES, ge=1024)
    page_size: int = Field(default=MAX_PAGE, ge=1, le=MAX_PAGE)
    batch_size: int = Field(default=MAX_BATCH, ge=1, le=MAX_BATCH)
    concurrency_limit: int = Field(default=5, ge=1)


class NetSuiteConnector(Connector[NetSuiteSettings]):
    """NetSuite as plan2cash's ERP for the subsidiaries it keeps (``collectors.erp.Erp``)."""

    name: ClassVar[str] = VENDOR
    label: ClassVar[str] = "NetSuite"
    record_ids: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "customer": ("id",),
        "invoice": ("id",),
        "payment": ("id",),
    }

    def default_pacer(self, settings: NetSuiteSettings) -> Pacer | None:
        """NetSuite limits requests in flight per account, not requests per window."""
        return Pacer(concurrency=settings.concurrency_limit, name=f"{VENDOR} account")

    def auth(self) -> httpx.Auth:
        s = self.settings
        return OAuth2JwtAssertion(
            vendor=VENDOR,
            token_url=s.token_url,
            client_id=s.client_id,
            private_key=s.private_key,
            key_id=s.certificate_id,
            scope=s.scope,
            algorithm=s.algorithm,
        )

    def origins(self) -> list[str]:
        return [self.settings.token_url]

    @property
    def max_batch(self) -> int:
        return self.settings.batch_size

    # --- companies and customers ------------------------------------------------------------

    def companies(self, client: httpx.Client) -> list[Company]:
        rows = suiteql(client, "SELECT id, name FROM subsidiary WHERE isinactive = 'F' ORDER BY id")
        return [Company(str(row["id"]), str(row.get("name") or "")) for row in rows]

    def customer_pages(self, client: httpx.Client, company: str) -> Iterator[list[Raw]]:
        return self._pages(client, "customer", company, None)

    def to_customer(self, raw: Raw) -> Customer | None:
        return mapping.to_customer(raw)

    def find_customer(self, client: httpx.Client, company: str, name: str) -> str | None:
        rows = suiteql(
            client,
            f"SELECT id, companyname FROM customer WHERE subsidiary = {suiteql_text(company)} "
            f"AND isinactive = 'F' AND companyname = {suiteql_text(name)} ORDER BY id",
        )
        exact = [row for row in rows if str(row.get("companyname")) == name]
        return str(exact[0]["id"]) if exact else None

    def create_customer(
        self, client: httpx.Client, company: str, customer: CustomerDocument
    ) -> str:
        """Upsert the customer by its key (at most once), in its currency's NetSuite id."""
        rows = suiteql(
            client,
            f"SELECT id, symbol FROM currency WHERE symbol = {suiteql_text(customer.currency)} "
            "ORDER BY id",
        )
        if not rows:
            raise ConfigError(
                f"netsuite account has no currency {customer.currency}; add it in NetSuite",
                vendor=VENDOR,
            )
        body = mapping.customer_body(customer, company=company, currency_id=str(rows[0]["id"]))
        return upsert(client, "customer", customer.key, body)

    # --- invoices and credit notes --------------------------------------------------------

    def find_invoices(
        self, client: httpx.Client, company: str, numbers: Sequence[str]
    ) -> dict[str, PostedInvoice]:
        return self._find(client, company, "CustInvc", numbers, mapping.posted_invoice)

    def find_credit_notes(
        self, client: httpx.Client, company: str, numbers: Sequence[str]
    ) -> dict[str, PostedCreditNote]:
        return self._find(client, company, "CustCred", numbers, mapping.posted_credit_note)

    def _find(
        self,
        client: httpx.Client,
        company: str,
        type_code: str,
        numbers: Sequence[str],
        read: Callable[[dict[str, Any]], T],
    ) -> dict[str, T]:
        live = ", ".join(suiteql_text(s) for s in LIVE)
        rows = transactions(
            client, company, "tranid", numbers, f"type = '{type_code}'", f"status IN ({live})"
        )
        return {str(row["tranid"]): read(row) for row in rows}

    def post_invoices(
        self, client: httpx.Client, company: str, invoices: Sequence[InvoiceDocument]
    ) -> list[PostedInvoice | RecordError]:
        item = self.settings.service_item_id
        documents = [
            (
                doc.key,
                doc.invoice.number,
                mapping.invoice_body(
                    doc.invoice, customer_ref=doc.customer_ref, company=company, item_id=item
                ),
            )
            for doc in invoices
        ]
        return post_documents(client, company, "invoice", documents, mapping.posted_invoice)

    def post_credit_notes(
        self, client: httpx.Client, company: str, notes: Sequence[CreditNoteDocument]
    ) -> list[PostedCreditNote | RecordError]:
        item = self.settings.service_item_id
        documents = [
            (note.key, note.number, mapping.credit_memo_body(note, company=company, item_id=item))
            for note in notes
        ]
        return post_documents(client, company, "creditMemo", documents, mapping.posted_credit_note)

    def apply_credit_note(
        self, client: httpx.Client, company: str, application: CreditApplication
    ) -> Decimal:
        """Set the credit memo's ``apply`` line for the invoice to the application's amount. The
        line is set, not added to, so a repeat of the same application applies nothing more."""
        amount = float(application.amount)
        line = {"doc": {"id": application.invoice_id}, "apply": True, "amount": amount}
        try:
            call(
                client,
                "PATCH",
                f"{RECORDS.lstrip('/')}/creditMemo/{application.credit_note_id}",
                route=f"{RECORDS}/creditMemo/{{id}}",
                json={"apply": {"items": [line]}},
            )
        except RecordError as refused:
            raise RecordError(
                f"netsuite refused to apply credit memo {application.credit_note_id} to invoice "
                f"{application.invoice_id}: {refused.details or refused}",
                vendor=VENDOR,
                status=refused.status,
                details=refused.details,
            ) from None
        return application.amount

    # --- status back ----------------------------------------------------------------------

    def invoice_pages(
        self, client: httpx.Client, company: str, since: datetime | None
    ) -> Iterator[list[Raw]]:
        return self._pages(client, "invoice", company, since)

    def to_invoice(self, raw: Raw) -> Invoice | None:
        return mapping.to_invoice(raw)

    def payment_pages(
        self, client: httpx.Client, company: str, since: datetime | None
    ) -> Iterator[list[Raw]]:
        return self._pages(client, "customerPayment", company, since)

    def to_payments(self, raw: Raw) -> list[Payment]:
        return mapping.to_payments(raw)

    def _pages(
        self, client: httpx.Client, record_type: str, company: str, since: datetime | None
    ) -> Iterator[list[Raw]]:
        q = f'subsidiary ANY_OF "{company}"'
        if since is not None:
            q += f' AND lastModifiedDate ON_OR_AFTER "{account_datetime(since)}"'
        return record_pages(client, record_type, q, self.settings.page_size)
