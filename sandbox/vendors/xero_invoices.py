"""Xero invoices: validation messages and the stored record, computed as Xero computes it.

Amounts are Decimal inside and JSON numbers outside. Line amounts are ``Quantity × UnitAmount``
rounded to cents; the sandbox organisation charges no tax (``TaxType`` NONE, ``TotalTax`` 0) for
every ``LineAmountTypes``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from sandbox.vendors.xero_dates import (
    date_string,
    ms_date,
    ms_datetime,
    parse_date,
    utc_string,
)

Record = dict[str, Any]
TYPES = ("ACCREC", "ACCPAY", "ACCRECCREDIT", "ACCPAYCREDIT")
LINE_AMOUNT_TYPES = ("Exclusive", "Inclusive", "NoTax")
CREATE_STATUSES = ("DRAFT", "SUBMITTED", "AUTHORISED")
# Which status an invoice may move to from its current one (a payment would be needed for PAID).
TRANSITIONS = {
    "DRAFT": {"DRAFT", "SUBMITTED", "AUTHORISED", "DELETED"},
    "SUBMITTED": {"DRAFT", "SUBMITTED", "AUTHORISED", "DELETED"},
    "AUTHORISED": {"AUTHORISED", "VOIDED"},
}
CENT = Decimal("0.01")
_CURRENCY = re.compile(r"[A-Z]{3}")


def amount(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InvalidOperation
    return Decimal(str(value))


def money(value: Decimal) -> float:
    return float(value.quantize(CENT, rounding=ROUND_HALF_UP))


def document_problems(
    document: Mapping[str, Any],
    noun: str,
    types: Sequence[str],
    contacts: Mapping[str, Record],
    *,
    described: str,
) -> list[str]:
    """What Xero checks on every sales document: its type, its contact, its line items
    (``noun`` as Xero names the field's owner, ``described`` as its messages say it)."""
    problems: list[str] = []
    kind = document.get("Type")
    if kind not in types:
        problems.append(
            f"{noun} Type must be specified"
            if not kind
            else f"'{kind}' is not a valid {described} type"
        )
    contact = document.get("Contact")
    contact_id = contact.get("ContactID") if isinstance(contact, dict) else None
    if not contact_id:
        problems.append("A Contact must be specified for this type of transaction")
    elif contact_id not in contacts:
        problems.append(f"The contact with ContactID {contact_id} could not be found")
    problems.extend(line_problems(document.get("LineItems")))
    return problems


def validate(
    invoice: Mapping[str, Any],
    contacts: Mapping[str, Record],
    taken_numbers: set[str],
    current_status: str | None,
) -> list[str]:
    """Every reason Xero would refuse this invoice (empty when it is acceptable).

    ``invoice`` is the full proposed state (for an update: the stored invoice with the changes
    merged in); ``current_status`` is the stored status, ``None`` on create.
    """
    problems = document_problems(invoice, "Invoice", TYPES, contacts, described="invoice")
    number = invoice.get("InvoiceNumber")
    if invoice.get("Type") == "ACCREC" and number and str(number) in taken_numbers:
        problems.append("Invoice # must be unique.")
    currency = invoice.get("CurrencyCode")
    if currency is not None and not (isinstance(currency, str) and _CURRENCY.fullmatch(currency)):
        problems.append(f"The currency code '{currency}' is not a valid currency code")
    if invoice.get("LineAmountTypes", "Exclusive") not in LINE_AMOUNT_TYPES:
        problems.append("LineAmountTypes must be Exclusive, Inclusive or NoTax")
    problems.extend(date_problems(invoice))
    status = invoice.get("Status", "DRAFT")
    if current_status is None and status not in CREATE_STATUSES:
        problems.append("Invoice not of valid status for creation")
    elif current_status is not None and status not in TRANSITIONS.get(current_status, set()):
        problems.append("Invoice not of valid status for modification")
    return problems


def line_problems(lines: Any) -> list[str]:
    if not isinstance(lines, list) or not lines:
        return ["The invoice must contain at least one line item"]
    problems: list[str] = []
    for n, line in enumerate(lines, start=1):
        if not isinstance(line, dict):
            problems.append(f"Line item {n} is not an object")
            continue
        if not str(line.get("Description") or "").strip():
            problems.append("Description cannot be empty")
        for field in ("Quantity", "UnitAmount"):
            try:
                amount(line[field])
            except (KeyError, InvalidOperation):
                problems.append(f"Line item {n}: {field} must be a number")
    return problems


def date_problems(invoice: Mapping[str, Any]) -> list[str]:
    problems = []
    for field in ("Date", "DueDate"):
        if invoice.get(field) is None:
            continue
        try:
            parse_date(invoice[field])
        except ValueError:
            problems.append(f"{field} is not a valid date")
    return problems


def build(
    invoice: Mapping[str, Any],
    contact: Record,
    *,
    invoice_id: str | None,
    number: str,
    today: date,
    now: datetime,
    base_currency: str,
) -> Record:
    """The stored invoice for a validated proposal, with Xero's computed fields."""
    lines = [line_item(line) for line in invoice["LineItems"]]
    subtotal = sum((Decimal(str(line["LineAmount"])) for line in lines), Decimal(0))
    issued = parse_date(invoice["Date"]) if invoice.get("Date") else today
    due = parse_date(invoice["DueDate"]) if invoice.get("DueDate") else None
    record: Record = {
        "Type": invoice["Type"],
        "InvoiceID": invoice_id or str(uuid.uuid4()),
        "InvoiceNumber": number,
        "Reference": str(invoice.get("Reference") or ""),
        "Payments": [],
        "CreditNotes": [],
        "Prepayments": [],
        "Overpayments": [],
        "AmountDue": money(subtotal),
        "AmountPaid": 0.0,
        "AmountCredited": 0.0,
        "SentToContact": bool(invoice.get("SentToContact", False)),
        "CurrencyRate": 1.0,
        "HasErrors": False,
        "IsDiscounted": False,
        "HasAttachments": False,
        "Contact": {"ContactID": contact["ContactID"], "Name": contact["Name"]},
        "DateString": date_string(issued),
        "Date": ms_date(issued),
        "Status": invoice.get("Status", "DRAFT"),
        "LineAmountTypes": invoice.get("LineAmountTypes", "Exclusive"),
        "LineItems": lines,
        "SubTotal": money(subtotal),
        "TotalTax": 0.0,
        "Total": money(subtotal),
        "UpdatedDateUTC": ms_datetime(now),
        "UpdatedDateUTCString": utc_string(now),
        "CurrencyCode": invoice.get("CurrencyCode") or base_currency,
    }
    if due is not None:
        record["DueDateString"], record["DueDate"] = date_string(due), ms_date(due)
    if record["Status"] in ("VOIDED", "DELETED"):
        record["AmountDue"] = 0.0
    return record


def line_item(line: Mapping[str, Any]) -> Record:
    quantity, unit = amount(line["Quantity"]), amount(line["UnitAmount"])
    built: Record = {
        "Description": str(line["Description"]),
        "UnitAmount": float(unit),
        "TaxType": "NONE",
        "TaxAmount": 0.0,
        "LineAmount": money(quantity * unit),
        "Tracking": [],
        "Quantity": float(quantity),
        "LineItemID": str(line.get("LineItemID") or uuid.uuid4()),
    }
    for optional in ("AccountCode", "ItemCode"):
        if line.get(optional):
            built[optional] = str(line[optional])
    return built


def refused(element: Any, problems: list[str]) -> Record:
    """The element as Xero echoes a refused one, carrying its ``ValidationErrors``."""
    echo: Record = dict(element) if isinstance(element, dict) else {}
    echo.update(
        {
            "HasErrors": True,
            "StatusAttributeString": "ERROR",
            "ValidationErrors": [{"Message": p} for p in problems],
        }
    )
    return echo
