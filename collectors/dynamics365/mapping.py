"""Dynamics 365 Finance records ⇄ canonical entities, the bodies we send, and OData literals.

Ids are per company in F&O (two companies may both hold customer ``US-001`` or invoice
``CIV-000001``), so every id plan2cash keeps is qualified by the company: ``us01/CIV-000001``.
Date-only fields travel as the date at noon UTC (``2026-11-02T12:00:00Z``); an empty date-time is
``1900-01-01``. An invoice's status and amount due come from its customer transaction: what
remains is ``AmountCur - SettleAmountCur``, paid when nothing does.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from collectors.amounts import amount
from collectors.entities import Customer, Invoice, InvoiceLine, Payment, canonical_id, now_utc
from collectors.errors import SchemaDriftError
from collectors.timestamps import parse_utc

VENDOR = "dynamics365"
LABEL = "Dynamics 365 Finance"
CENT = Decimal("0.01")
Raw = dict[str, Any]


def qualified(company: str, local_id: str) -> str:
    """An id as plan2cash keeps it: ``<dataAreaId>/<id in the company>``."""
    return f"{company}/{local_id}"


def local(company: str, ref: str) -> str:
    """The id inside the company, whether ``ref`` is qualified or not."""
    return ref.removeprefix(f"{company}/")


def quoted(value: str) -> str:
    """A string literal for ``$filter`` (a quote doubled)."""
    return "'" + value.replace("'", "''") + "'"


def any_of(field: str, values: Iterable[str]) -> str:
    """``(field eq 'a' or field eq 'b')``: F&O's ``$filter`` has no ``in``."""
    return "(" + " or ".join(f"{field} eq {quoted(v)}" for v in values) + ")"


def day(value: date) -> str:
    return f"{value.isoformat()}T12:00:00Z"


# --- what we send ---------------------------------------------------------------------------


def customer_body(company: str, name: str, currency: str, terms_days: int, group: str) -> Raw:
    return {
        "dataAreaId": company,
        "OrganizationName": name,
        "CustomerGroupId": group,
        "SalesCurrencyCode": currency,
        "PaymentTerms": f"Net{terms_days}",
    }


def header_body(
    company: str, *, customer: str, number: str, issued: date, due: date, currency: str, ref: str
) -> Raw:
    """A free text invoice header; our number travels in ``ExternalInvoiceId``."""
    return {
        "dataAreaId": company,
        "CustomerAccount": customer,
        "InvoiceDate": day(issued),
        "DocumentDate": day(issued),
        "DueDate": day(due),
        "CurrencyCode": currency,
        "ExternalInvoiceId": number,
        "CustomerReference": ref,
    }


def line_bodies(
    company: str, lines: Sequence[InvoiceLine], main_account: str, *, sign: int = 1
) -> list[Raw]:
    """The lines of a free text invoice, numbered from 1; a credit note's (``sign=-1``) carry
    negative quantities [unconfirmed: F&O credit notes are free text invoices with negative
    lines]."""
    return [
        {
            "dataAreaId": company,
            "LineNumber": number,
            "Description": line.description,
            "Quantity": float(line.quantity * sign),
            "UnitPrice": float(line.unit_amount),
            "MainAccountDisplayValue": main_account,
        }
        for number, line in enumerate(lines, start=1)
    ]


# --- what we read -----------------------------------------------------------------------------


def money(raw: Raw, field: str) -> Decimal:
    value = amount(raw.get(field), field, vendor=VENDOR, places=CENT)
    if value is None:
        raise SchemaDriftError(f"{VENDOR} {field} is missing", vendor=VENDOR)
    return value


def remaining(transaction: Raw) -> Decimal:
    """What is still open on a customer transaction (negative for a credit)."""
    return money(transaction, "AmountCur") - money(transaction, "SettleAmountCur")


def moment(raw: Raw, field: str) -> datetime:
    value = parse_utc(raw.get(field))
    if value is None:
        raise SchemaDriftError(
            f"{VENDOR} {field} {raw.get(field)!r} is not a date-time", vendor=VENDOR
        )
    return value


def to_customer(raw: Raw) -> Customer:
    """A ``CustomersV3`` row. The entity has no modification time, so ``updated_at`` is when it
    was read."""
    ref = qualified(raw["dataAreaId"], raw["CustomerAccount"])
    return Customer(
        id=canonical_id(VENDOR, "customer", ref),
        source=VENDOR,
        source_id=ref,
        updated_at=now_utc(),
        name=raw["OrganizationName"],
        currency=raw["SalesCurrencyCode"],
        legal_entity=raw["dataAreaId"],
    )


def _lines(raw_lines: Sequence[Raw]) -> tuple[InvoiceLine, ...]:
    return tuple(
        InvoiceLine(
            description=line.get("Description") or "(no description)",
            quantity=amount(line["Quantity"], "Quantity", vendor=VENDOR) or Decimal(0),
            unit_amount=amount(line["UnitPrice"], "UnitPrice", vendor=VENDOR) or Decimal(0),
            amount=money(line, "TransactionCurrencyAmount"),
        )
        for line in sorted(raw_lines, key=lambda line: float(line["LineNumber"]))
    )


def to_invoice(raw: Raw) -> Invoice | None:
    """A posted free text invoice as read: its customer transaction with ``Header`` and
    ``Lines`` joined on (``None`` for a transaction that is no free text invoice)."""
    header = raw.get("Header")
    if not isinstance(header, dict):
        return None
    company = raw["dataAreaId"]
    ref = qualified(company, raw["Invoice"])
    issued = moment(raw, "TransDate").date()
    due = remaining(raw)
    return Invoice(
        id=canonical_id(VENDOR, "invoice", ref),
        source=VENDOR,
        source_id=ref,
        updated_at=moment(raw, "SysModifiedDateTime"),
        number=str(header.get("ExternalInvoiceId") or raw["Invoice"]),
        customer_id=canonical_id(VENDOR, "customer", qualified(company, raw["AccountNum"])),
        contract_id="",
        currency=raw["CurrencyCode"],
        period_start=issued.replace(day=1),
        period_end=issued,
        issue_date=issued,
        due_date=moment(raw, "DueDate").date(),
        lines=_lines(raw["Lines"]),
        total=money(raw, "AmountCur"),
        status="paid" if due == 0 else "posted",
        amount_due=due,
    )


def to_payments(raw: Raw) -> list[Payment]:
    """A ``Payment`` customer transaction with the invoice it settled joined on as
    ``SettledInvoice``; none when it settled nothing (or was reversed)."""
    invoice = raw.get("SettledInvoice")
    settled = -money(raw, "SettleAmountCur")
    if not isinstance(invoice, dict) or settled <= 0:
        return []
    company = raw["dataAreaId"]
    ref = qualified(company, raw["Voucher"])
    return [
        Payment(
            id=canonical_id(VENDOR, "payment", ref),
            source=VENDOR,
            source_id=ref,
            updated_at=moment(raw, "SysModifiedDateTime"),
            invoice_id=qualified(company, invoice["Invoice"]),
            received_on=moment(raw, "TransDate").date(),
            amount=settled,
            currency=raw["CurrencyCode"],
        )
    ]
