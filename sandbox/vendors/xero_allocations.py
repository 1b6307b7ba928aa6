"""Money applied to a sales invoice: payments and credit-note allocations, checked and booked as
Xero does.

Both lower the invoice's ``AmountDue`` (a payment raises ``AmountPaid``, an allocation
``AmountCredited``); an invoice with nothing left due becomes PAID. A payment names the invoice
(``InvoiceID`` or ``InvoiceNumber``), the bank account it went to (``AccountID`` or ``Code``; the
sandbox organisation has one, code 090), a date and an amount no larger than what is due.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sandbox.vendors.xero_dates import ms_date, ms_datetime, parse_date, utc_string
from sandbox.vendors.xero_invoices import amount as read_amount

Record = dict[str, Any]
BANK_CODE = "090"
OUTSTANDING = "Payment amount exceeds the amount outstanding on this document"


def bank_account(tenant_id: str) -> Record:
    """The organisation's bank account (``Account`` on every payment)."""
    return {"AccountID": str(uuid.uuid5(uuid.UUID(tenant_id), "account:090")), "Code": BANK_CODE}


def _money(value: Decimal) -> float:
    return float(value.quantize(Decimal("0.01")))


def _positive(element: Mapping[str, Any]) -> tuple[Decimal | None, list[str]]:
    try:
        value = read_amount(element["Amount"])
    except (KeyError, InvalidOperation):
        return None, ["Amount must be a number"]
    return (value, []) if value > 0 else (None, ["Amount must be greater than zero"])


def _date(element: Mapping[str, Any]) -> tuple[date | None, list[str]]:
    if element.get("Date") is None:
        return None, ["Date must be specified"]
    try:
        return parse_date(element["Date"]), []
    except ValueError:
        return None, ["Date is not a valid date"]


def find_invoice(element: Mapping[str, Any], invoices: Mapping[str, Record]) -> Record | None:
    ref = element.get("Invoice")
    if not isinstance(ref, dict):
        return None
    if ref.get("InvoiceID"):
        return invoices.get(str(ref["InvoiceID"]))
    number = ref.get("InvoiceNumber")
    return next((i for i in invoices.values() if number and i["InvoiceNumber"] == number), None)


def _payable(invoice: Record | None, value: Decimal | None) -> list[str]:
    if invoice is None:
        return ["Invoice could not be found"]
    if invoice["Status"] != "AUTHORISED":
        return ["Payments can only be made against Authorised documents"]
    if value is not None and value > Decimal(str(invoice["AmountDue"])):
        return [OUTSTANDING]
    return []


def _applied(
    element: Any, invoices: Mapping[str, Record], what: str
) -> tuple[Record | None, Decimal | None, date | None, list[str]]:
    """The invoice ``element`` (a ``what``: payment, allocation) applies an amount to on a date,
    the amount and the date, and the reasons to refuse them that every such element shares."""
    if not isinstance(element, dict):
        return None, None, None, [f"Each {what} must be an object"]
    invoice = find_invoice(element, invoices)
    value, problems = _positive(element)
    on, late = _date(element)
    return invoice, value, on, problems + late


def payment_problems(
    element: Any, invoices: Mapping[str, Record], account: Record
) -> tuple[Record | None, Decimal | None, date | None, list[str]]:
    """The invoice, amount and date of a payment, and every reason to refuse it."""
    invoice, value, on, problems = _applied(element, invoices, "payment")
    if not isinstance(element, dict):
        return invoice, value, on, problems
    problems += _payable(invoice, value)
    given = element.get("Account")
    if not isinstance(given, dict) or not (given.get("AccountID") or given.get("Code")):
        problems.append("An Account must be specified")
    elif (
        given.get("AccountID", account["AccountID"]) != account["AccountID"]
        or given.get("Code", BANK_CODE) != BANK_CODE
    ):
        problems.append(
            f"Account code '{given.get('Code') or given.get('AccountID')}' is not a valid code "
            "for this document."
        )
    return invoice, value, on, problems


def allocation_problems(
    note: Record, element: Any, invoices: Mapping[str, Record]
) -> tuple[Record | None, Decimal | None, date | None, list[str]]:
    """The invoice, amount and date of one allocation of ``note``, and every reason to refuse."""
    invoice, value, on, problems = _applied(element, invoices, "allocation")
    if not isinstance(element, dict):
        return invoice, value, on, problems
    if note["Status"] != "AUTHORISED":
        problems.append("Only an AUTHORISED credit note can be allocated")
    if invoice is None:
        problems.append("Invoice could not be found")
    elif invoice["Status"] != "AUTHORISED":
        problems.append("The invoice must be AUTHORISED to allocate a credit note to it")
    elif invoice["Contact"]["ContactID"] != note["Contact"]["ContactID"]:
        problems.append("The credit note and the invoice must be for the same contact")
    elif invoice["CurrencyCode"] != note["CurrencyCode"]:
        problems.append("The credit note and the invoice must be in the same currency")
    if value is not None and value > Decimal(str(note["RemainingCredit"])):
        problems.append("The amount allocated exceeds the remaining credit on the credit note")
    elif invoice is not None and value is not None and value > Decimal(str(invoice["AmountDue"])):
        problems.append("The amount allocated exceeds the amount due on the invoice")
    return invoice, value, on, problems


def settle(invoice: Record, value: Decimal, on: date, stamp: datetime, *, paid: bool) -> None:
    """Lower the invoice's ``AmountDue`` by ``value`` (paid or credited); PAID at zero."""
    due = Decimal(str(invoice["AmountDue"])) - value
    field = "AmountPaid" if paid else "AmountCredited"
    invoice[field] = _money(Decimal(str(invoice[field])) + value)
    invoice["AmountDue"] = _money(due)
    invoice["UpdatedDateUTC"] = ms_datetime(stamp)
    if "UpdatedDateUTCString" in invoice:
        invoice["UpdatedDateUTCString"] = utc_string(stamp)
    if due == 0:
        invoice.update(Status="PAID", FullyPaidOnDate=ms_date(on))


def payment_record(
    payment_id: str,
    invoice: Record,
    value: Decimal,
    on: date,
    stamp: datetime,
    account: Record,
    reference: str = "",
) -> Record:
    """A payment as ``GET /Payments`` lists it."""
    return {
        "PaymentID": payment_id,
        "Date": ms_date(on),
        "BankAmount": _money(value),
        "Amount": _money(value),
        "Reference": reference,
        "CurrencyRate": 1.0,
        "PaymentType": "ACCRECPAYMENT" if invoice["Type"] == "ACCREC" else "ACCPAYPAYMENT",
        "Status": "AUTHORISED",
        "UpdatedDateUTC": ms_datetime(stamp),
        "UpdatedDateUTCString": utc_string(stamp),
        "HasAccount": True,
        "IsReconciled": False,
        "Account": dict(account),
        "Invoice": {
            "Type": invoice["Type"],
            "InvoiceID": invoice["InvoiceID"],
            "InvoiceNumber": invoice["InvoiceNumber"],
            "Contact": dict(invoice["Contact"]),
            "CurrencyCode": invoice["CurrencyCode"],
        },
        "HasValidationErrors": False,
    }


def embedded_payment(payment: Record) -> Record:
    """The short form an invoice lists under ``Payments``."""
    keys = ("PaymentID", "Date", "Amount", "Reference", "CurrencyRate")
    return {**{k: payment[k] for k in keys}, "HasAccount": True, "HasValidationErrors": False}


def embedded_credit_note(note: Record, value: Decimal) -> Record:
    """The short form an invoice lists under ``CreditNotes``."""
    keys = ("CreditNoteID", "CreditNoteNumber", "Type", "Contact", "Date", "Status", "Total")
    return {**{k: note[k] for k in keys}, "AppliedAmount": _money(value)}
