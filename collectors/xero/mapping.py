"""Xero records ⇄ canonical entities, the bodies we send, MS-JSON dates, webhook checks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from pydantic import SecretStr

from collectors.amounts import amount
from collectors.entities import Customer, Invoice, InvoiceLine, Payment, canonical_id
from collectors.erp import CreditNoteDocument
from collectors.errors import SchemaDriftError

VENDOR = "xero"
_MS_DATE = re.compile(r"/Date\((-?\d+)([+-]\d{4})?\)/")


def invoice_body(invoice: Invoice, *, contact_id: str, account_code: str) -> dict[str, Any]:
    """A canonical invoice as a Xero ACCREC invoice, authorised (awaiting payment)."""
    return {
        "Type": "ACCREC",
        "Contact": {"ContactID": contact_id},
        "InvoiceNumber": invoice.number,
        "Reference": f"{invoice.period_start:%Y-%m} services",
        "Date": invoice.issue_date.isoformat(),
        "DueDate": invoice.due_date.isoformat(),
        "CurrencyCode": invoice.currency,
        "LineAmountTypes": "NoTax",
        "Status": "AUTHORISED",
        "LineItems": _line_items(invoice.lines, account_code),
    }


def credit_note_body(
    *,
    number: str,
    contact_id: str,
    issued: date,
    currency: str,
    lines: Sequence[InvoiceLine],
    account_code: str,
    reference: str,
) -> dict[str, Any]:
    """A sales credit note (ACCRECCREDIT), authorised: the compensating document for time that
    changed after it was invoiced (a posted invoice is never edited)."""
    return {
        "Type": "ACCRECCREDIT",
        "Contact": {"ContactID": contact_id},
        "CreditNoteNumber": number,
        "Reference": reference,
        "Date": issued.isoformat(),
        "CurrencyCode": currency,
        "LineAmountTypes": "NoTax",
        "Status": "AUTHORISED",
        "LineItems": _line_items(lines, account_code),
    }


def credit_note_document_body(note: CreditNoteDocument, account_code: str) -> dict[str, Any]:
    """A credit note to post as Xero's body, referring to its invoice by number."""
    return credit_note_body(
        number=note.number,
        contact_id=note.customer_ref,
        issued=note.issued,
        currency=note.currency,
        lines=note.lines,
        account_code=account_code,
        reference=note.invoice_number,
    )


def _line_items(lines: Sequence[InvoiceLine], account_code: str) -> list[dict[str, Any]]:
    return [
        {
            "Description": line.description,
            "Quantity": float(line.quantity),
            "UnitAmount": float(line.unit_amount),
            "AccountCode": account_code,
        }
        for line in lines
    ]


# --- what we read: vendor → canonical ------------------------------------------------------------


def parse_ms_date(value: str | None) -> datetime | None:
    """``/Date(1539993600000+0000)/`` as an aware UTC datetime (the offset is informational:
    the milliseconds are already UTC)."""
    match = _MS_DATE.fullmatch(value or "")
    if not match:
        return None
    return datetime.fromtimestamp(int(match.group(1)) / 1000, tz=UTC)


def _when(raw: dict[str, Any], field: str) -> datetime:
    moment = parse_ms_date(raw.get(field))
    if moment is None:
        raise SchemaDriftError(
            f"xero {field} {raw.get(field)!r} is not an MS-JSON date", vendor=VENDOR
        )
    return moment


def _number(raw: dict[str, Any], field: str, *, places: Decimal | None = None) -> Decimal:
    """``raw[field]`` as a number (0 when absent)."""
    return amount(raw.get(field, 0), field, vendor=VENDOR, places=places) or Decimal(0)


def _money(raw: dict[str, Any], field: str) -> Decimal:
    return _number(raw, field, places=Decimal("0.01"))


def to_customer(raw: dict[str, Any], *, base_currency: str = "USD") -> Customer:
    return Customer(
        id=canonical_id(VENDOR, "customer", raw["ContactID"]),
        source=VENDOR,
        source_id=str(raw["ContactID"]),
        updated_at=_when(raw, "UpdatedDateUTC"),
        name=raw["Name"],
        currency=raw.get("DefaultCurrency") or base_currency,
        active=raw.get("ContactStatus", "ACTIVE") == "ACTIVE",
    )


_INVOICE_STATUS = {
    "DRAFT": "draft",
    "SUBMITTED": "draft",
    "AUTHORISED": "posted",
    "PAID": "paid",
    "VOIDED": "voided",
    "DELETED": "voided",
}


def to_invoice(raw: dict[str, Any], *, base_currency: str = "USD") -> Invoice:
    """A Xero sales invoice as read back (status, amount due). Xero knows no contracts, so
    ``contract_id`` is empty: the engine links the invoice to ours by number."""
    issued = _when(raw, "Date").date()
    due = parse_ms_date(raw.get("DueDate"))
    lines = tuple(
        InvoiceLine(
            description=line.get("Description") or "(no description)",
            quantity=_number(line, "Quantity"),
            unit_amount=_number(line, "UnitAmount"),
            amount=_money(line, "LineAmount"),
        )
        for line in raw["LineItems"]
    )
    return Invoice(
        id=canonical_id(VENDOR, "invoice", raw["InvoiceID"]),
        source=VENDOR,
        source_id=str(raw["InvoiceID"]),
        updated_at=_when(raw, "UpdatedDateUTC"),
        number=str(raw.get("InvoiceNumber") or ""),
        customer_id=canonical_id(VENDOR, "customer", raw["Contact"]["ContactID"]),
        contract_id="",
        currency=raw.get("CurrencyCode") or base_currency,
        period_start=issued.replace(day=1),
        period_end=issued,
        issue_date=issued,
        due_date=due.date() if due else issued,
        lines=lines,
        total=sum((line.amount for line in lines), Decimal(0)),
        status=_INVOICE_STATUS.get(str(raw.get("Status")), "draft"),
        amount_due=_money(raw, "AmountDue"),
    )


def to_payment(raw: dict[str, Any], *, base_currency: str = "USD") -> Payment:
    invoice = raw.get("Invoice") or {}
    return Payment(
        id=canonical_id(VENDOR, "payment", raw["PaymentID"]),
        source=VENDOR,
        source_id=str(raw["PaymentID"]),
        updated_at=_when(raw, "UpdatedDateUTC"),
        invoice_id=canonical_id(VENDOR, "invoice", invoice["InvoiceID"]),
        received_on=_when(raw, "Date").date(),
        amount=amount(raw["Amount"], "Amount", vendor=VENDOR, places=Decimal("0.01")),
        currency=invoice.get("CurrencyCode") or base_currency,
    )


def sales_invoice(raw: dict[str, Any]) -> Invoice | None:
    """A sales invoice (ACCREC) as canonical; ``None`` for a bill (ACCPAY) or any other kind."""
    return to_invoice(raw) if raw.get("Type") == "ACCREC" else None


def live_payments(raw: dict[str, Any]) -> list[Payment]:
    """A live payment as the ERP protocol reads it, its ``invoice_id`` the Xero id of the
    invoice it pays (a Xero payment pays one invoice); none for a deleted payment."""
    if raw.get("Status") == "DELETED":
        return []
    payment = to_payment(raw)
    return [payment.model_copy(update={"invoice_id": str(raw["Invoice"]["InvoiceID"])})]


def verify_webhook(headers: Mapping[str, str], body: bytes, key: SecretStr) -> bool:
    """Whether a delivery really comes from Xero: ``x-xero-signature`` must be
    base64(HMAC-SHA256(webhook key, raw body)). Answer 401 when it is not."""
    given = next((v for k, v in headers.items() if k.lower() == "x-xero-signature"), "")
    digest = hmac.new(key.get_secret_value().encode(), body, hashlib.sha256).digest()
    return hmac.compare_digest(given.encode(), base64.b64encode(digest))
