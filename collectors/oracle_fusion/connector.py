"""The Oracle Fusion connector: settings, auth, pacing, companies, customers and the reads."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import ClassVar

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from collectors.auth import BasicCredentials, BearerToken
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
from collectors.errors import RecordError
from collectors.http import call_json
from collectors.idempotency import create_once
from collectors.oracle_fusion import mapping, posting
from collectors.outbound import DEFAULT_MAX_RESPONSE_BYTES
from collectors.pacing import Limit, Pacer
from collectors.paging import Offset
from collectors.streams import Stream, pages

MAX_PAGE = 500  # the most items Fusion returns in one page [3rd-party]


class OracleFusionSettings(BaseModel):
    """One Fusion pod reached as an integration user (HTTP Basic), or with a JWT from the pod's
    token relay (``token``, sent as a bearer token instead). Customers are read and created
    through the CRM ``accounts`` resource on the same pod (``crm_url``)."""

    model_config = ConfigDict(extra="forbid")
    live_required: ClassVar[tuple[str, ...]] = ("base_url", "crm_url", "username", "password")

    base_url: str = "http://127.0.0.1:8717/fscmRestApi/resources/11.13.18.05"
    crm_url: str = "http://127.0.0.1:8717/crmRestApi/resources/11.13.18.05"
    username: str = "sandbox.integration"
    password: SecretStr = SecretStr("sandbox-fusion-password")
    token: SecretStr | None = None
    transaction_source: str = "Manual"  # a source with manual numbering: our numbers are kept
    transaction_type: str = "Invoice"
    credit_memo_type: str = "Credit Memo"
    payment_terms: str = "30 Net"
    framework_version: str = "2"  # REST-Framework-Version: 2 reads q as and/or expressions
    timeout_seconds: float = 30.0
    max_response_bytes: int = Field(default=DEFAULT_MAX_RESPONSE_BYTES, ge=1024)
    page_size: int = Field(default=100, ge=1, le=MAX_PAGE)
    batch_size: int = Field(default=25, ge=1, le=100)
    requests_per_minute: int = Field(default=300, ge=1)


def fusion_pacer(settings: OracleFusionSettings, *, time_scale: float = 1.0) -> Pacer:
    """Oracle publishes no rate limit: pace at the configured per-user rate."""
    return Pacer(
        [Limit(settings.requests_per_minute, 60.0)], time_scale=time_scale, name=mapping.VENDOR
    )


def _stream(name: str, url: str, key: str, size: int) -> Stream:
    paging = Offset("items", limit=size, more="hasMore")
    return Stream(name, url, "items", paging, key=key, cursor="LastUpdateDate")


class OracleFusionConnector(Connector[OracleFusionSettings]):
    """Business units, customer accounts, receivables invoices, credit memos and receipts."""

    name = mapping.VENDOR
    label: ClassVar[str] = "Oracle Fusion"
    record_ids: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "customer": ("PartyNumber",),
        "invoice": ("CustomerTransactionId",),
        "payment": ("StandardReceiptId",),
    }

    def default_pacer(self, settings: OracleFusionSettings) -> Pacer | None:
        return fusion_pacer(settings)

    def auth(self) -> httpx.Auth:
        if self.settings.token is not None:
            return BearerToken(self.settings.token)
        return BasicCredentials(self.settings.username, self.settings.password)

    def origins(self) -> list[str]:
        return [self.settings.crm_url]

    def headers(self) -> dict[str, str]:
        return {"REST-Framework-Version": self.settings.framework_version}

    @property
    def max_batch(self) -> int:
        return self.settings.batch_size

    # --- reads --------------------------------------------------------------------------------

    def _pages(
        self, client: httpx.Client, stream: Stream, q: str | None, **extra: str
    ) -> Iterator[list[Raw]]:
        size = self.settings.page_size
        params = {"limit": str(size), "offset": "0", "onlyData": "true", **extra}
        if q:
            params["q"] = q
        return pages(client, stream, params)

    def _fscm(self, name: str, key: str) -> Stream:
        return _stream(name, f"/{name}", key, self.settings.page_size)

    def companies(self, client: httpx.Client) -> list[Company]:
        """The active business units, each with its legal entity's name where Fusion says."""
        stream = self._fscm("finBusinessUnitsLOV", "BusinessUnitId")
        found = [u for page in self._pages(client, stream, None) for u in page]
        return [
            Company(
                str(u["BusinessUnitName"]), str(u.get("LegalEntityName") or u["BusinessUnitName"])
            )
            for u in found
            if u.get("Status", "A") == "A"
        ]

    def customer_pages(self, client: httpx.Client, company: str) -> Iterator[list[Raw]]:
        """Every customer account (Fusion's customers are shared by all business units)."""
        stream = _stream(
            "accounts", f"{self.settings.crm_url}/accounts", "PartyNumber", self.settings.page_size
        )
        return self._pages(client, stream, None, orderBy="PartyNumber:asc")

    def to_customer(self, raw: Raw) -> Customer | None:
        return mapping.to_customer(raw)

    def _since(self, company: str, since: datetime | None) -> str:
        unit = f"BusinessUnit={mapping.quoted(company)}"
        if since is None:
            return unit
        moment = since.astimezone(UTC).isoformat(timespec="milliseconds")
        return f"{unit} and LastUpdateDate>={mapping.quoted(moment)}"

    def invoice_pages(
        self, client: httpx.Client, company: str, since: datetime | None
    ) -> Iterator[list[Raw]]:
        """Invoices changed at or after ``since``, in id order (an invoice updated during the
        read keeps its place, so offset paging neither skips nor repeats one)."""
        stream = self._fscm("receivablesInvoices", "CustomerTransactionId")
        return self._pages(
            client,
            stream,
            self._since(company, since),
            expand="receivablesInvoiceLines",
            orderBy="CustomerTransactionId:asc",
        )

    def to_invoice(self, raw: Raw) -> Invoice | None:
        return mapping.to_invoice(raw)

    def payment_pages(
        self, client: httpx.Client, company: str, since: datetime | None
    ) -> Iterator[list[Raw]]:
        """Standard receipts changed at or after ``since``, with their applications."""
        stream = self._fscm("standardReceipts", "StandardReceiptId")
        return self._pages(
            client,
            stream,
            self._since(company, since),
            expand="standardReceiptApplications",
            orderBy="StandardReceiptId:asc",
        )

    def to_payments(self, raw: Raw) -> list[Payment]:
        return mapping.to_payments(raw)

    # --- customers ----------------------------------------------------------------------------

    def _accounts(self, client: httpx.Client, q: str) -> list[Raw]:
        body = call_json(
            client,
            "GET",
            f"{self.settings.crm_url}/accounts",
            route="/accounts",
            params={"q": q, "onlyData": "true", "limit": "25"},
        )
        items = body.get("items") if isinstance(body, dict) else None
        return [i for i in items or [] if isinstance(i, dict)]

    def find_customer(self, client: httpx.Client, company: str, name: str) -> str | None:
        """The ``PartyNumber`` of the active account with exactly this name, if any."""
        for account in self._accounts(
            client, f"OrganizationName={mapping.quoted(name)} and Status='A'"
        ):
            if str(account.get("OrganizationName", "")).casefold() == name.casefold():
                return str(account["PartyNumber"])
        return None

    def create_customer(
        self, client: httpx.Client, company: str, customer: CustomerDocument
    ) -> str:
        """Create the account once: it carries ``customer.key`` as its source system reference,
        looked up before creating and again after a create whose reply was lost."""

        def find() -> str | None:
            q = f"SourceSystemReferenceValue={mapping.quoted(customer.key)}"
            found = self._accounts(client, q)
            return str(found[0]["PartyNumber"]) if found else None

        def create() -> str:
            body = {
                "OrganizationName": customer.name,
                "CurrencyCode": customer.currency,
                "SourceSystem": "PLAN2CASH",
                "SourceSystemReferenceValue": customer.key,
            }
            made = call_json(
                client,
                "POST",
                f"{self.settings.crm_url}/accounts",
                route="/accounts",
                json=body,
                once=True,
            )
            return str(made["PartyNumber"])

        return create_once(find, create)

    # --- documents ----------------------------------------------------------------------------

    def _posting(self, company: str) -> posting.Posting:
        s = self.settings
        return posting.Posting(
            company,
            s.transaction_source,
            s.transaction_type,
            s.credit_memo_type,
            s.payment_terms,
            s.page_size,
        )

    def find_invoices(
        self, client: httpx.Client, company: str, numbers: Sequence[str]
    ) -> dict[str, PostedInvoice]:
        return self._posting(company).find_invoices(client, numbers)

    def post_invoices(
        self, client: httpx.Client, company: str, invoices: Sequence[InvoiceDocument]
    ) -> list[PostedInvoice | RecordError]:
        """Create and complete the invoices in batches of ``batch_size``; see ``posting``."""
        results: list[PostedInvoice | RecordError] = []
        size = self.settings.batch_size
        for start in range(0, len(invoices), size):
            chunk = invoices[start : start + size]
            results.extend(self._posting(company).post_invoices(client, chunk))
        return results

    def find_credit_notes(
        self, client: httpx.Client, company: str, numbers: Sequence[str]
    ) -> dict[str, PostedCreditNote]:
        return self._posting(company).find_credit_notes(client, numbers)

    def post_credit_notes(
        self, client: httpx.Client, company: str, notes: Sequence[CreditNoteDocument]
    ) -> list[PostedCreditNote | RecordError]:
        return self._posting(company).post_credit_notes(client, notes)

    def apply_credit_note(
        self, client: httpx.Client, company: str, application: CreditApplication
    ) -> Decimal:
        return self._posting(company).apply_credit_note(
            client,
            application.credit_note_id,
            invoice_id=application.invoice_id,
            amount=application.amount,
            on=application.on,
            key=application.key,
        )
