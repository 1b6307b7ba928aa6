"""What plan2cash asks of an ERP, whichever vendor keeps a legal entity's books.

The outbox, compensation, provisioning and status back talk to this protocol only; Xero, Dynamics
365 Finance, Oracle Fusion and NetSuite each implement it in their own package. Every call names
the ``company`` it is about: the set of books of one legal entity, which each ERP calls its own
way (a Xero tenant id, a D365 ``dataAreaId``, a Fusion business unit, a NetSuite subsidiary id).

What every implementation guarantees:

- **At most once.** ``post_invoices`` and ``post_credit_notes`` never create a second document
  for a document ``key`` or number the ERP already holds, even when the reply to an earlier
  attempt was lost: by the vendor's own idempotency (Xero's ``Idempotency-Key``, NetSuite's
  upsert by external id, Fusion's ``Upsert-Mode``) or, where the protocol has none (D365), by
  looking the number up before creating. The caller still looks up documents whose earlier
  attempt has an unknown outcome (``find_invoices``), so a replay costs a read, not a duplicate.
- **One outcome per document, in order.** A document the ERP refuses is a ``RecordError`` with
  the vendor's reasons and does not hold back the rest of its request; a reply that cannot be
  matched to a document is a ``SchemaDriftError`` (its fate is unknown: look it up next time).
  A failure of the whole request raises, classified (``collectors.errors``).
- **Readable per record.** ``to_invoice``, ``to_payments`` and ``to_customer`` map one raw
  record; one that cannot be read raises (the caller isolates it), one that is not plan2cash's
  business (a purchase invoice, a deleted payment) maps to ``None``.
- **Incremental.** ``invoice_pages`` and ``payment_pages`` return what changed at or after
  ``since`` (all when ``None``); the engine keeps the cursors, per ERP and company.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar, Protocol, runtime_checkable

import httpx

from collectors.entities import Customer, Invoice, InvoiceLine, Payment
from collectors.errors import RecordError
from collectors.http import VendorClient

Raw = dict[str, Any]


@dataclass(frozen=True)
class Company:
    """One set of books the connection reaches, and its legal entity's name as the ERP spells it
    (matched against the CRM's legal entity when the configuration names no company)."""

    company_id: str
    name: str


@dataclass(frozen=True)
class PostedInvoice:
    """What the ERP made of one invoice we sent: its id there, our number, its status in the
    vendor's words, and the amounts it holds."""

    invoice_id: str
    number: str
    status: str
    total: Decimal
    amount_due: Decimal


@dataclass(frozen=True)
class PostedCreditNote:
    """What the ERP made of one credit note we sent; ``remaining_credit`` is what is left to
    apply (``None``: the ERP does not say, so none has been applied by us)."""

    credit_note_id: str
    number: str
    status: str
    total: Decimal
    remaining_credit: Decimal | None = None


@dataclass(frozen=True)
class InvoiceDocument:
    """An invoice to post: its idempotency ``key`` (stable across attempts), the canonical
    invoice, and the customer's id in the ERP's company (``create_customer``/``find_customer``)."""

    key: str
    invoice: Invoice
    customer_ref: str


@dataclass(frozen=True)
class CreditNoteDocument:
    """A credit note to post against an invoice the ERP holds (``invoice_ref``, its id there)."""

    key: str
    number: str
    customer_ref: str
    invoice_number: str
    invoice_ref: str
    issued: date
    currency: str
    lines: tuple[InvoiceLine, ...]


@dataclass(frozen=True)
class CreditApplication:
    """``amount`` of a posted credit note (``credit_note_id``, its id in the ERP) applied to an
    invoice (``invoice_id``, its id there) on ``on``; ``key`` is stable across attempts."""

    key: str
    credit_note_id: str
    invoice_id: str
    amount: Decimal
    on: date


@dataclass(frozen=True)
class CustomerDocument:
    """A customer to create in a company: the ERP's customer record for our canonical one."""

    key: str
    customer_id: str
    name: str
    currency: str
    payment_terms_days: int = 30


@runtime_checkable
class Erp(Protocol):
    """An ERP connector. ``name`` is the system name plan2cash uses for it everywhere
    (cross-references, cursors, record keys, configuration); ``label`` is how people call it."""

    name: ClassVar[str]
    label: ClassVar[str]
    record_ids: ClassVar[Mapping[str, tuple[str, ...]]]  # "customer"/"invoice"/"payment" → keys

    @property
    def max_batch(self) -> int:
        """The most invoices one ``post_invoices`` request carries (the caller's batch ceiling)."""
        ...

    def client(self) -> VendorClient:
        """One client per run, paced and retried under the vendor's limits."""
        ...

    def companies(self, client: httpx.Client) -> list[Company]:
        """Every company this connection may post to, in the ERP's order."""
        ...

    def customer_pages(self, client: httpx.Client, company: str) -> Iterator[list[Raw]]:
        """The company's customers, raw, page by page."""
        ...

    def to_customer(self, raw: Raw) -> Customer | None:
        """One raw customer as canonical (``source_id``: its id in the ERP)."""
        ...

    def find_customer(self, client: httpx.Client, company: str, name: str) -> str | None:
        """The id of the active customer with exactly this name in ``company``, if any."""
        ...

    def create_customer(
        self, client: httpx.Client, company: str, customer: CustomerDocument
    ) -> str:
        """Create the customer (at most once per ``customer.key``); its id in the ERP."""
        ...

    def find_invoices(
        self, client: httpx.Client, company: str, numbers: Sequence[str]
    ) -> dict[str, PostedInvoice]:
        """The live (not voided or deleted) invoices with these numbers, by number."""
        ...

    def post_invoices(
        self, client: httpx.Client, company: str, invoices: Sequence[InvoiceDocument]
    ) -> list[PostedInvoice | RecordError]:
        """Create and complete (post) the invoices, at most once each; one outcome per invoice."""
        ...

    def find_credit_notes(
        self, client: httpx.Client, company: str, numbers: Sequence[str]
    ) -> dict[str, PostedCreditNote]:
        """The live credit notes with these numbers, by number."""
        ...

    def post_credit_notes(
        self, client: httpx.Client, company: str, notes: Sequence[CreditNoteDocument]
    ) -> list[PostedCreditNote | RecordError]:
        """Create and complete the credit notes, at most once each; one outcome per note."""
        ...

    def apply_credit_note(
        self, client: httpx.Client, company: str, application: CreditApplication
    ) -> Decimal:
        """Apply the application's amount of a posted credit note to an invoice, at most once
        per ``application.key``; the amount applied. A refusal (invoice paid, less due than
        asked) raises ``RecordError``."""
        ...

    def invoice_pages(
        self, client: httpx.Client, company: str, since: datetime | None
    ) -> Iterator[list[Raw]]:
        """Sales invoices changed at or after ``since``, raw, page by page."""
        ...

    def to_invoice(self, raw: Raw) -> Invoice | None:
        """One raw invoice as canonical (status and amount due as the ERP holds them);
        ``None`` for a document that is not a sales invoice."""
        ...

    def payment_pages(
        self, client: httpx.Client, company: str, since: datetime | None
    ) -> Iterator[list[Raw]]:
        """Customer payments changed at or after ``since``, raw, page by page."""
        ...

    def to_payments(self, raw: Raw) -> list[Payment]:
        """One raw payment as canonical, one ``Payment`` per invoice it is applied to (its
        ``invoice_id`` the ERP's id of that invoice, its ``id`` unique per application); none
        for a payment that no longer counts (deleted, reversed)."""
        ...


__all__ = [
    "Company",
    "CreditApplication",
    "CreditNoteDocument",
    "CustomerDocument",
    "Erp",
    "InvoiceDocument",
    "PostedCreditNote",
    "PostedInvoice",
    "Raw",
]
