"""NetSuite records ⇄ canonical entities, and the bodies we send.

Records come from the REST record service read with ``expandSubResources=true``: references are
``{"id", "refName"}``, dates ISO (``tranDate``), instants ISO UTC (``lastModifiedDate``), amounts
JSON numbers, lines in the ``item`` sublist and settlements in the ``apply`` sublist. A currency
reference's ``refName`` is taken to be its ISO symbol [unconfirmed: an account names its
currency records; the usual names are the symbols]. Invoice ``status.id``: A Open, B Paid In
Full, D Pending Approval, E Rejected, V Voided (letters [3rd-party], erps.md §3.3); partially
paid is Open with ``0 < amountRemaining < total``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from collectors.amounts import amount
from collectors.entities import Customer, Invoice, InvoiceLine, Payment, canonical_id
from collectors.erp import CreditNoteDocument, CustomerDocument, PostedCreditNote, PostedInvoice
from collectors.errors import SchemaDriftError
from collectors.timestamps import parse_utc

VENDOR = "netsuite"
CENT = Decimal("0.01")
INVOICE_STATUS = {"A": "posted", "B": "paid", "D": "draft", "E": "voided", "V": "voided"}


# --- what we send ---------------------------------------------------------------------------


def customer_body(customer: CustomerDocument, *, company: str, currency_id: str) -> dict[str, Any]:
    """A company customer of the subsidiary, in its billing currency."""
    return {
        "companyName": customer.name,
        "isPerson": False,
        "subsidiary": {"id": company},
        "currency": {"id": currency_id},
    }


def invoice_body(
    invoice: Invoice, *, customer_ref: str, company: str, item_id: str
) -> dict[str, Any]:
    """A canonical invoice as a NetSuite invoice of the subsidiary, numbered as ours."""
    return {
        "tranId": invoice.number,
        "entity": {"id": customer_ref},
        "subsidiary": {"id": company},
        "tranDate": invoice.issue_date.isoformat(),
        "dueDate": invoice.due_date.isoformat(),
        "memo": f"{invoice.period_start:%Y-%m} services",
        "item": {"items": _lines(invoice.lines, item_id)},
    }


def credit_memo_body(note: CreditNoteDocument, *, company: str, item_id: str) -> dict[str, Any]:
    """A credit memo for time that changed after it was invoiced (a posted invoice is never
    edited); applied to the invoice separately (``apply_credit_note``)."""
    return {
        "tranId": note.number,
        "entity": {"id": note.customer_ref},
        "subsidiary": {"id": company},
        "tranDate": note.issued.isoformat(),
        "memo": f"credit for {note.invoice_number}",
        "item": {"items": _lines(note.lines, item_id)},
    }


def _lines(lines: Sequence[InvoiceLine], item_id: str) -> list[dict[str, Any]]:
    return [
        {
            "item": {"id": item_id},
            "description": line.description,
            "quantity": float(line.quantity),
            "rate": float(line.unit_amount),
            "amount": float(line.amount),
        }
        for line in lines
    ]


def account_datetime(moment: datetime) -> str:
    """``moment`` as a ``q`` filter reads a date and time: the account's format (US, taken as
    UTC [unconfirmed]), to the minute, rounded down so the bound stays inclusive."""
    utc = moment.astimezone(UTC)
    hour = utc.hour % 12 or 12
    noon = "pm" if utc.hour >= 12 else "am"
    return f"{utc.month}/{utc.day}/{utc.year} {hour}:{utc.minute:02d} {noon}"


def suiteql_text(value: str) -> str:
    """A SuiteQL string literal."""
    return "'" + value.replace("'", "''") + "'"


# --- what we read ---------------------------------------------------------------------------


def _money(raw: dict[str, Any], field: str) -> Decimal:
    return amount(raw.get(field, 0), field, vendor=VENDOR, places=CENT) or Decimal(0)


def _when(raw: dict[str, Any], field: str) -> datetime:
    moment = parse_utc(raw.get(field))
    if moment is None:
        raise SchemaDriftError(
            f"netsuite {field} {raw.get(field)!r} is not an ISO 8601 instant", vendor=VENDOR
        )
    return moment


def _day(raw: dict[str, Any], field: str) -> date:
    try:
        return date.fromisoformat(str(raw[field]))
    except (KeyError, ValueError):
        raise SchemaDriftError(
            f"netsuite {field} {raw.get(field)!r} is not an ISO date", vendor=VENDOR
        ) from None


def _ref(raw: dict[str, Any], field: str) -> dict[str, Any]:
    value = raw.get(field)
    if not isinstance(value, dict) or not value.get("id"):
        raise SchemaDriftError(f"netsuite {field} {value!r} is not a reference", vendor=VENDOR)
    return value


def _currency(raw: dict[str, Any]) -> str:
    return str(_ref(raw, "currency").get("refName") or "")


def to_customer(raw: dict[str, Any]) -> Customer:
    return Customer(
        id=canonical_id(VENDOR, "customer", raw["id"]),
        source=VENDOR,
        source_id=str(raw["id"]),
        updated_at=_when(raw, "lastModifiedDate"),
        name=raw["companyName"],
        currency=_currency(raw),
        legal_entity=_ref(raw, "subsidiary").get("refName"),
        active=not raw.get("isInactive", False),
    )


def to_invoice(raw: dict[str, Any]) -> Invoice | None:
    """A NetSuite invoice as read back (status and amount due); ``None`` for a record that is not
    an invoice. NetSuite knows no contracts: the engine links it to ours by number."""
    if "tranId" not in raw or "entity" not in raw:
        return None
    issued = _day(raw, "tranDate")
    due = _day(raw, "dueDate") if raw.get("dueDate") else issued
    items = (raw.get("item") or {}).get("items")
    if not isinstance(items, list):
        raise SchemaDriftError("netsuite invoice has no expanded item sublist", vendor=VENDOR)
    lines = tuple(
        InvoiceLine(
            description=line.get("description") or "(no description)",
            quantity=amount(line.get("quantity", 0), "quantity", vendor=VENDOR) or Decimal(0),
            unit_amount=amount(line.get("rate", 0), "rate", vendor=VENDOR) or Decimal(0),
            amount=_money(line, "amount"),
        )
        for line in items
    )
    status = str((raw.get("status") or {}).get("id") or "")
    return Invoice(
        id=canonical_id(VENDOR, "invoice", raw["id"]),
        source=VENDOR,
        source_id=str(raw["id"]),
        updated_at=_when(raw, "lastModifiedDate"),
        number=str(raw["tranId"]),
        customer_id=canonical_id(VENDOR, "customer", _ref(raw, "entity")["id"]),
        contract_id="",
        currency=_currency(raw),
        period_start=issued.replace(day=1),
        period_end=issued,
        issue_date=issued,
        due_date=max(due, issued),
        lines=lines,
        total=sum((line.amount for line in lines), Decimal(0)),
        status=INVOICE_STATUS.get(status, "draft"),
        amount_due=_money(raw, "amountRemaining"),
    )


def to_payments(raw: dict[str, Any]) -> list[Payment]:
    """One canonical payment per invoice the customer payment is applied to (its id the
    payment's and the invoice's, its ``invoice_id`` NetSuite's id of the invoice); none for a
    voided payment."""
    if (raw.get("status") or {}).get("refName") == "Voided":
        return []
    applied = (raw.get("apply") or {}).get("items")
    if not isinstance(applied, list):
        raise SchemaDriftError("netsuite payment has no expanded apply sublist", vendor=VENDOR)
    updated, received, currency = (
        _when(raw, "lastModifiedDate"),
        _day(raw, "tranDate"),
        _currency(raw),
    )
    payments = []
    for line in applied:
        if not line.get("apply", True):
            continue
        invoice = str(_ref(line, "doc")["id"])
        application = f"{raw['id']}:{invoice}"
        payments.append(
            Payment(
                id=canonical_id(VENDOR, "payment", application),
                source=VENDOR,
                source_id=application,
                updated_at=updated,
                invoice_id=invoice,
                received_on=received,
                amount=_money(line, "amount"),
                currency=currency,
            )
        )
    return payments


def posted_invoice(row: dict[str, Any]) -> PostedInvoice:
    """What SuiteQL says of an invoice (``transaction`` row)."""
    return PostedInvoice(
        invoice_id=str(row["id"]),
        number=str(row["tranid"]),
        status=str(row.get("status") or ""),
        total=_money(row, "foreigntotal"),
        amount_due=_money(row, "foreignamountremaining"),
    )


def posted_credit_note(row: dict[str, Any]) -> PostedCreditNote:
    """What SuiteQL says of a credit memo; what remains is its unapplied credit
    (``foreignamountremaining`` on a credit memo [unconfirmed])."""
    return PostedCreditNote(
        credit_note_id=str(row["id"]),
        number=str(row["tranid"]),
        status=str(row.get("status") or ""),
        total=_money(row, "foreigntotal"),
        remaining_credit=_money(row, "foreignamountremaining"),
    )
