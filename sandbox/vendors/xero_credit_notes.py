"""Xero credit notes: validation messages and the stored record, computed as Xero computes it.

A credit note is an invoice in reverse: the same lines, totals and status rules (the sandbox
organisation charges no tax), plus ``RemainingCredit`` (what is left to allocate) and its
``Allocations``. An AUTHORISED credit note whose credit is all allocated becomes PAID.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sandbox.vendors import xero_invoices
from sandbox.vendors.xero_dates import date_string, ms_date, ms_datetime, parse_date, utc_string

Record = dict[str, Any]
TYPES = ("ACCRECCREDIT", "ACCPAYCREDIT")


def validate(
    note: Mapping[str, Any],
    contacts: Mapping[str, Record],
    taken_numbers: set[str],
    current: Record | None,
) -> list[str]:
    """Every reason Xero would refuse this credit note (``note`` is the full proposed state;
    ``current`` the stored credit note on update, ``None`` on create)."""
    problems = xero_invoices.document_problems(
        note, "CreditNote", TYPES, contacts, described="credit note"
    )
    number = note.get("CreditNoteNumber")
    if note.get("Type") == "ACCRECCREDIT" and number and str(number) in taken_numbers:
        problems.append("Credit Note # must be unique.")
    currency = note.get("CurrencyCode")
    if currency is not None and not (isinstance(currency, str) and len(currency) == 3):
        problems.append(f"The currency code '{currency}' is not a valid currency code")
    if note.get("LineAmountTypes", "Exclusive") not in xero_invoices.LINE_AMOUNT_TYPES:
        problems.append("LineAmountTypes must be Exclusive, Inclusive or NoTax")
    problems.extend(xero_invoices.date_problems(note))
    status = note.get("Status", "DRAFT")
    if current is None and status not in xero_invoices.CREATE_STATUSES:
        problems.append("Credit note not of valid status for creation")
    elif current is not None:
        problems.extend(_change_problems(current, status))
    return problems


def _change_problems(current: Record, status: str) -> list[str]:
    if status not in xero_invoices.TRANSITIONS.get(current["Status"], set()):
        return ["Credit note not of valid status for modification"]
    if status == "VOIDED" and current["Allocations"]:
        return ["A credit note with allocations cannot be voided; remove the allocations first"]
    return []


def build(
    note: Mapping[str, Any],
    contact: Record,
    *,
    credit_note_id: str | None,
    number: str,
    today: date,
    now: datetime,
    base_currency: str,
    allocations: list[Record] | None = None,
) -> Record:
    """The stored credit note for a validated proposal, with Xero's computed fields."""
    lines = [xero_invoices.line_item(line) for line in note["LineItems"]]
    total = sum((Decimal(str(line["LineAmount"])) for line in lines), Decimal(0))
    kept = list(allocations or [])
    allocated = sum((Decimal(str(a["Amount"])) for a in kept), Decimal(0))
    issued = parse_date(note["Date"]) if note.get("Date") else today
    status = note.get("Status", "DRAFT")
    record: Record = {
        "CreditNoteID": credit_note_id or str(uuid.uuid4()),
        "CreditNoteNumber": number,
        "Type": note["Type"],
        "Reference": str(note.get("Reference") or ""),
        "Contact": {"ContactID": contact["ContactID"], "Name": contact["Name"]},
        "DateString": date_string(issued),
        "Date": ms_date(issued),
        "Status": status,
        "LineAmountTypes": note.get("LineAmountTypes", "Exclusive"),
        "LineItems": lines,
        "SubTotal": xero_invoices.money(total),
        "TotalTax": 0.0,
        "Total": xero_invoices.money(total),
        "RemainingCredit": xero_invoices.money(total - allocated),
        "Allocations": kept,
        "Payments": [],
        "CurrencyCode": note.get("CurrencyCode") or base_currency,
        "CurrencyRate": 1.0,
        "SentToContact": False,
        "HasAttachments": False,
        "HasErrors": False,
        "UpdatedDateUTC": ms_datetime(now),
        "UpdatedDateUTCString": utc_string(now),
    }
    if status in ("VOIDED", "DELETED"):
        record["RemainingCredit"] = 0.0
    elif status == "AUTHORISED" and kept and total == allocated:
        record["Status"] = "PAID"
    return record


def history(
    credit_note_id: str,
    number: str,
    invoice: Record,
    amount: Decimal,
    issued: date,
    reason: str,
    updated: datetime,
) -> Record:
    """A credit note the organisation already holds: issued for a dispute or a write-off and
    allocated in full to its invoice."""
    why = reason.replace("_", " ")
    proposal = {
        "Type": "ACCRECCREDIT",
        "Date": issued.isoformat(),
        "Status": "AUTHORISED",
        "LineAmountTypes": "NoTax",
        "Reference": f"{reason.replace('_', '-')} {invoice['InvoiceNumber']}",
        "CurrencyCode": invoice["CurrencyCode"],
        "LineItems": [
            {
                "Description": f"Credit for {invoice['InvoiceNumber']} ({why})",
                "Quantity": 1,
                "UnitAmount": str(amount),
                "AccountCode": "200",
            }
        ],
    }
    allocation = {
        "Amount": float(amount),
        "Date": ms_date(issued),
        "Invoice": {"InvoiceID": invoice["InvoiceID"], "InvoiceNumber": invoice["InvoiceNumber"]},
    }
    return build(
        proposal,
        invoice["Contact"],
        credit_note_id=credit_note_id,
        number=number,
        today=issued,
        now=updated,
        base_currency=invoice["CurrencyCode"],
        allocations=[allocation],
    )
