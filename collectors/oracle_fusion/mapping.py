"""Oracle Fusion receivables records ⇄ canonical entities, and the bodies we send.

Amounts: an invoice's total is the sum of its ``receivablesInvoiceLines`` (``LineAmount``, else
``Quantity × UnitSellingPrice``), read with the lines expanded; what is due is
``InvoiceBalanceAmount`` [3rd-party name]. Credit memos carry negative amounts in Fusion and
positive ones here. Timestamps (``LastUpdateDate``) are ISO 8601 with an offset.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from collectors.amounts import amount
from collectors.entities import Customer, Invoice, InvoiceLine, Payment, canonical_id
from collectors.erp import CreditNoteDocument, InvoiceDocument, PostedCreditNote, PostedInvoice
from collectors.errors import SchemaDriftError
from collectors.timestamps import parse_utc

VENDOR = "oracle_fusion"
CENT = Decimal("0.01")
Raw = dict[str, Any]


def quoted(value: str) -> str:
    """A ``q`` string literal, a quote inside it doubled."""
    return "'" + value.replace("'", "''") + "'"


# --- what we send --------------------------------------------------------------------------------


def invoice_body(
    document: InvoiceDocument,
    *,
    business_unit: str,
    source: str,
    transaction_type: str,
    payment_terms: str,
) -> Raw:
    """A canonical invoice as a ``receivablesInvoices`` create (left Incomplete: completing it
    is a second step, ``{"InvoiceStatus": "Complete"}``). Our number is the transaction number
    and our idempotency key the ``CrossReference``."""
    invoice = document.invoice
    return {
        "BusinessUnit": business_unit,
        "TransactionSource": source,
        "TransactionType": transaction_type,
        "TransactionNumber": invoice.number,
        "TransactionDate": invoice.issue_date.isoformat(),
        "AccountingDate": invoice.issue_date.isoformat(),
        "DueDate": invoice.due_date.isoformat(),
        "BillToCustomerNumber": document.customer_ref,
        "InvoiceCurrencyCode": invoice.currency,
        "PaymentTerms": payment_terms,
        "CrossReference": document.key[:240],
        "Comments": f"{invoice.period_start:%Y-%m} services",
        "receivablesInvoiceLines": _lines(invoice.lines, sign=1),
    }


def credit_memo_body(
    note: CreditNoteDocument, *, business_unit: str, source: str, transaction_type: str
) -> Raw:
    """A credit note as an on-account ``receivablesCreditMemos`` create: its lines negative."""
    return {
        "BusinessUnit": business_unit,
        "TransactionSource": source,
        "TransactionType": transaction_type,
        "TransactionNumber": note.number,
        "TransactionDate": note.issued.isoformat(),
        "BillToCustomerNumber": note.customer_ref,
        "CreditMemoCurrencyCode": note.currency,
        "CrossReference": note.key[:240],
        "Comments": f"credit for {note.invoice_number}",
        "receivablesCreditMemoLines": _lines(note.lines, sign=-1),
    }


def _lines(lines: Sequence[InvoiceLine], *, sign: int) -> list[Raw]:
    return [
        {
            "LineNumber": n,
            "Description": line.description,
            "Quantity": float(line.quantity * sign),
            "UnitSellingPrice": float(line.unit_amount),
        }
        for n, line in enumerate(lines, start=1)
    ]


# --- what we read --------------------------------------------------------------------------------


def _when(raw: Raw, field: str) -> datetime:
    moment = parse_utc(raw.get(field), assume_utc=False)
    if moment is None:
        raise SchemaDriftError(
            f"{VENDOR} {field} {raw.get(field)!r} is not a timestamp", vendor=VENDOR
        )
    return moment


def _day(raw: Raw, field: str) -> date:
    try:
        return date.fromisoformat(str(raw.get(field))[:10])
    except ValueError:
        raise SchemaDriftError(
            f"{VENDOR} {field} {raw.get(field)!r} is not a date", vendor=VENDOR
        ) from None


def _money(raw: Raw, field: str) -> Decimal:
    value = amount(raw.get(field), field, vendor=VENDOR, places=CENT)
    if value is None:
        raise SchemaDriftError(f"{VENDOR} record has no {field}", vendor=VENDOR)
    return value


def _line(raw: Raw) -> InvoiceLine:
    quantity = amount(raw.get("Quantity"), "Quantity", vendor=VENDOR) or Decimal(0)
    price = amount(raw.get("UnitSellingPrice"), "UnitSellingPrice", vendor=VENDOR) or Decimal(0)
    held = amount(raw.get("LineAmount"), "LineAmount", vendor=VENDOR, places=CENT)
    return InvoiceLine(
        description=str(raw.get("Description") or "(no description)"),
        quantity=abs(quantity),
        unit_amount=abs(price),
        amount=abs(held if held is not None else (quantity * price).quantize(CENT)),
    )


def lines_of(raw: Raw, child: str) -> tuple[InvoiceLine, ...]:
    """The expanded lines of a transaction (``SchemaDriftError`` when they were not expanded)."""
    lines = raw.get(child)
    if not isinstance(lines, list) or not lines:
        raise SchemaDriftError(f"{VENDOR} transaction has no {child}", vendor=VENDOR)
    return tuple(_line(line) for line in lines)


def _total(lines: Sequence[InvoiceLine]) -> Decimal:
    return sum((line.amount for line in lines), Decimal(0))


def invoice_status(raw: Raw, total: Decimal, due: Decimal) -> str:
    """Incomplete → draft; Complete → posted, or paid once nothing is due."""
    status = raw.get("InvoiceStatus")
    if status == "Incomplete":
        return "draft"
    if status != "Complete":
        raise SchemaDriftError(f"{VENDOR} InvoiceStatus {status!r} is not known", vendor=VENDOR)
    return "paid" if due <= 0 < total else "posted"


def to_invoice(raw: Raw) -> Invoice | None:
    """A receivables invoice as read back; ``None`` for a transaction that is not an invoice."""
    if raw.get("TransactionType") not in (None, "Invoice"):
        return None
    lines = lines_of(raw, "receivablesInvoiceLines")
    issued, total = _day(raw, "TransactionDate"), _total(lines)
    due = _money(raw, "InvoiceBalanceAmount")
    return Invoice(
        id=canonical_id(VENDOR, "invoice", raw["CustomerTransactionId"]),
        source=VENDOR,
        source_id=str(raw["CustomerTransactionId"]),
        updated_at=_when(raw, "LastUpdateDate"),
        number=str(raw.get("TransactionNumber") or ""),
        customer_id=canonical_id(VENDOR, "customer", raw["BillToCustomerNumber"]),
        contract_id="",
        currency=str(raw.get("InvoiceCurrencyCode")),
        period_start=issued.replace(day=1),
        period_end=issued,
        issue_date=issued,
        due_date=_day(raw, "DueDate") if raw.get("DueDate") else issued,
        lines=lines,
        total=total,
        status=invoice_status(raw, total, due),
        amount_due=due,
    )


def to_payments(raw: Raw) -> list[Payment]:
    """A standard receipt as one payment per application; none for a reversed receipt."""
    if str(raw.get("State") or "").lower() == "reversed":
        return []
    updated = _when(raw, "LastUpdateDate")
    receipt = raw["StandardReceiptId"]
    payments = []
    for application in raw.get("standardReceiptApplications") or []:
        source_id = f"{receipt}:{application['ApplicationId']}"
        payments.append(
            Payment(
                id=canonical_id(VENDOR, "payment", source_id),
                source=VENDOR,
                source_id=source_id,
                updated_at=updated,
                invoice_id=str(application["CustomerTransactionId"]),
                received_on=_day(application, "ApplicationDate"),
                amount=_money(application, "AmountApplied"),
                currency=str(raw.get("Currency")),
            )
        )
    return payments


def to_customer(raw: Raw) -> Customer:
    """A customer account (the CRM ``accounts`` resource); its id is the ``PartyNumber``."""
    return Customer(
        id=canonical_id(VENDOR, "customer", raw["PartyNumber"]),
        source=VENDOR,
        source_id=str(raw["PartyNumber"]),
        updated_at=_when(raw, "LastUpdateDate"),
        name=raw["OrganizationName"],
        currency=raw.get("CurrencyCode") or "USD",
        active=raw.get("Status", "A") == "A",
    )


def posted_invoice(raw: Raw) -> PostedInvoice:
    lines = lines_of(raw, "receivablesInvoiceLines")
    return PostedInvoice(
        invoice_id=str(raw["CustomerTransactionId"]),
        number=str(raw["TransactionNumber"]),
        status=str(raw["InvoiceStatus"]),
        total=_total(lines),
        amount_due=_money(raw, "InvoiceBalanceAmount"),
    )


def posted_credit_note(raw: Raw) -> PostedCreditNote:
    lines = lines_of(raw, "receivablesCreditMemoLines")
    balance = amount(raw.get("CreditMemoBalanceAmount"), "CreditMemoBalanceAmount", vendor=VENDOR)
    return PostedCreditNote(
        credit_note_id=str(raw["CustomerTransactionId"]),
        number=str(raw["TransactionNumber"]),
        status=str(raw["CreditMemoStatus"]),
        total=_total(lines),
        remaining_credit=abs(balance).quantize(CENT) if balance is not None else None,
    )
