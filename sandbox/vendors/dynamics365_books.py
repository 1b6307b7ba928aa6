"""One company's receivables as Dynamics 365 Finance keeps them (``dataAreaId``).

Customers (``CustomersV3``), free text invoices (``FreeTextInvoiceHeaders`` and ``…Lines``) that
stay drafts (``IsPosted = No``) until posted, and customer transactions
(``CustTransBiEntities``). Posting a free text invoice gives it an ``InvoiceId`` and a voucher
and opens a transaction of type ``Cust`` [unconfirmed: the LedgerTransType F&O gives free text
invoices] for its amount; a credit note is a free text invoice whose lines add up below zero
[unconfirmed]. Settling moves ``SettleAmountCur`` on both transactions; a transaction is closed
(``Closed`` set) when nothing remains. A payment is a posted payment journal line marked against
one invoice (``MarkedInvoice``), which opens a ``Payment`` transaction settled against it at
once. F&O writes an empty date-time as ``1900-01-01T12:00:00Z``; amounts are in the transaction
currency, and ``AmountMst`` equals ``AmountCur`` (the sandbox books at rate 1).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sandbox.clock import utc_text
from sandbox.vendors.dynamics365_odata import ODataError, write_failed

Record = dict[str, Any]
NO_DATE = "1900-01-01T12:00:00Z"
CUSTOMER_GROUPS = frozenset({"10", "20", "30", "40", "90"})
CURRENCIES = frozenset({"USD", "GBP", "EUR", "CAD", "AUD", "CHF", "JPY", "SGD", "SEK", "NOK"})
MAIN_ACCOUNTS = frozenset({"401100", "401200", "401300"})
CENT = Decimal("0.01")


def day(value: date) -> str:
    """A date-only field as F&O writes it: the date at noon UTC."""
    return f"{value.isoformat()}T12:00:00Z"


def money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(CENT)


def not_found_in(value: str, field: str, table: str) -> str:
    return f"The value '{value}' in field '{field}' is not found in the related table '{table}'."


class Books:
    """One company's customers, free text invoices and customer transactions."""

    def __init__(self, company: str, name: str, now: Callable[[], datetime]) -> None:
        self.company, self.name, self._now = company, name, now
        self.customers: dict[str, Record] = {}
        self.headers: dict[str, Record] = {}
        self.lines: dict[str, list[Record]] = {}
        self.transactions: list[Record] = []
        self.journals: list[Record] = []
        self.lock = threading.RLock()
        self._sequence = {"customer": 0, "fti": 0, "invoice": 0, "voucher": 0, "payment": 0}

    def _next(self, what: str) -> int:
        self._sequence[what] += 1
        return self._sequence[what]

    def stamp(self) -> str:
        return utc_text(self._now())

    # --- customers ---------------------------------------------------------------------------

    def create_customer(self, body: Record) -> Record:
        table = "CustCustomerV3Entity"
        name = str(body.get("OrganizationName") or "").strip()
        if not name:
            raise write_failed(table, "Field 'Name' must be filled in.")
        group = str(body.get("CustomerGroupId") or "")
        if group not in CUSTOMER_GROUPS:
            raise write_failed(table, not_found_in(group, "Customer group", "Customer groups"))
        currency = str(body.get("SalesCurrencyCode") or "")
        if currency not in CURRENCIES:
            raise write_failed(table, not_found_in(currency, "Currency", "Currency"))
        account = str(body.get("CustomerAccount") or f"C{self._next('customer'):06d}")
        if account in self.customers:
            raise write_failed(
                table,
                "Cannot create a record in Customers (CustTable). "
                f"Customer account: {account}. The record already exists.",
            )
        record = {
            "dataAreaId": self.company,
            "CustomerAccount": account,
            "OrganizationName": name,
            "PartyType": "Organization",
            "CustomerGroupId": group,
            "SalesCurrencyCode": currency,
            "PaymentTerms": str(body.get("PaymentTerms") or "Net30"),
            "CreditLimit": 0,
            "IsOneTimeCustomer": "No",
        }
        self.customers[account] = record
        return record

    # --- free text invoices ------------------------------------------------------------------

    def create_header(self, body: Record) -> Record:
        table = "FreeTextInvoiceHeaderEntity"
        account = str(body.get("CustomerAccount") or "")
        if account not in self.customers:
            raise write_failed(table, not_found_in(account, "Customer account", "Customers"))
        currency = str(body.get("CurrencyCode") or "")
        if currency not in CURRENCIES:
            raise write_failed(table, not_found_in(currency, "Currency", "Currency"))
        if not body.get("InvoiceDate"):
            raise write_failed(table, "Field 'Date' must be filled in.")
        identifier = f"FTI-{self._next('fti'):06d}"
        header = {
            "dataAreaId": self.company,
            "InvoiceIdentifier": identifier,
            "CustomerAccount": account,
            "InvoiceAccount": account,
            "InvoiceDate": str(body["InvoiceDate"]),
            "DocumentDate": str(body.get("DocumentDate") or body["InvoiceDate"]),
            "DueDate": str(body.get("DueDate") or body["InvoiceDate"]),
            "CurrencyCode": currency,
            "TermsOfPayment": str(body.get("TermsOfPayment") or ""),
            "CustomerReference": str(body.get("CustomerReference") or ""),
            "ExternalInvoiceId": str(body.get("ExternalInvoiceId") or ""),
            "InvoiceId": "",
            "IsPosted": "No",
            "IsCorrection": "No",
            "DefaultDimensionDisplayValue": "",
            "SalesTaxGroupId": "",
        }
        self.headers[identifier] = header
        self.lines[identifier] = []
        return header

    def create_line(self, body: Record) -> Record:
        table = "FreeTextInvoiceLineEntity"
        header = self.headers.get(str(body.get("InvoiceIdentifier") or ""))
        if header is None:
            invoice = str(body.get("InvoiceIdentifier"))
            raise write_failed(table, not_found_in(invoice, "Invoice", "Free text invoice"))
        if header["IsPosted"] == "Yes":
            raise write_failed(table, "The free text invoice is posted and cannot be changed.")
        account = str(body.get("MainAccountDisplayValue") or "")
        if account not in MAIN_ACCOUNTS:
            raise write_failed(table, not_found_in(account, "Main account", "Main accounts"))
        try:
            quantity, price = Decimal(str(body["Quantity"])), Decimal(str(body["UnitPrice"]))
            number = float(body["LineNumber"])
        except (KeyError, ArithmeticError, ValueError):
            raise write_failed(
                table, "Quantity, unit price and line number must be numbers."
            ) from None
        lines = self.lines[header["InvoiceIdentifier"]]
        if any(line["LineNumber"] == number for line in lines):
            raise write_failed(
                table,
                "Cannot create a record in Customer invoice line (CustInvoiceLine). "
                f"Line number: {number}. The record already exists.",
            )
        line = {
            "dataAreaId": self.company,
            "InvoiceIdentifier": header["InvoiceIdentifier"],
            "LineNumber": number,
            "Description": str(body.get("Description") or ""),
            "InvoiceText": str(body.get("Description") or ""),
            "MainAccountDisplayValue": account,
            "Quantity": float(quantity),
            "UnitPrice": float(price),
            "TransactionCurrencyAmount": float(money(quantity * price)),
            "ExternalInvoiceId": header["ExternalInvoiceId"],
        }
        lines.append(line)
        return line

    def post(self, identifier: str) -> Record:
        """Post a free text invoice: its number, voucher and open customer transaction."""
        table = "FreeTextInvoiceHeaderEntity"
        header = self.headers.get(identifier)
        if header is None:
            raise ODataError(404, f"No resources were found for InvoiceIdentifier '{identifier}'.")
        if header["IsPosted"] == "Yes":
            raise write_failed(table, f"Invoice {header['InvoiceId']} has already been posted.")
        lines = self.lines[identifier]
        total = sum((money(line["TransactionCurrencyAmount"]) for line in lines), Decimal(0))
        if not lines or total == 0:
            raise write_failed(table, "The free text invoice has no amount to post.")
        if {line["TransactionCurrencyAmount"] > 0 for line in lines} == {True, False}:
            raise write_failed(table, "Lines of one free text invoice must all have one sign.")
        header["InvoiceId"] = header["InvoiceId"] or f"CIV-{self._next('invoice'):06d}"
        header["IsPosted"] = "Yes"
        self.open_transaction(header, total, "Cust")
        return header

    def open_transaction(self, header: Record, total: Decimal, kind: str) -> Record:
        now = self.stamp()
        transaction = {
            "dataAreaId": self.company,
            "SourceKey": len(self.transactions) + 1,
            "AccountNum": header["CustomerAccount"],
            "Invoice": header["InvoiceId"],
            "Voucher": f"ARV-{self._next('voucher'):06d}",
            "TransType": kind,
            "TransDate": header["InvoiceDate"],
            "DueDate": header["DueDate"],
            "CurrencyCode": header["CurrencyCode"],
            "AmountCur": float(total),
            "SettleAmountCur": 0.0,
            "AmountMst": float(total),
            "Closed": NO_DATE,
            "LastSettleDate": NO_DATE,
            "LastSettleVoucher": "",
            "PaymReference": "",
            "SysModifiedDateTime": now,
            "CreatedOn": now,
        }
        self.transactions.append(transaction)
        return transaction

    # --- settlement ----------------------------------------------------------------------------

    def transaction(self, invoice_id: str) -> Record | None:
        return next((t for t in self.transactions if t["Invoice"] == invoice_id), None)

    def settle(self, debit: Record, credit: Record, amount: Decimal, on: date) -> None:
        """Settle ``amount`` of an invoice (``debit``) with a payment or credit note."""
        table = "CustSettlement"
        if amount <= 0:
            raise write_failed(table, "The amount to settle must be greater than zero.")
        for open_one in (debit, credit):
            if remaining(open_one).copy_abs() < amount:
                left = remaining(open_one).copy_abs()
                raise write_failed(
                    table, f"Only {left} remains open on voucher {open_one['Voucher']}."
                )
        now = self.stamp()
        for one, other, signed in ((debit, credit, amount), (credit, debit, -amount)):
            one["SettleAmountCur"] = float(money(one["SettleAmountCur"]) + signed)
            one["LastSettleVoucher"] = other["Voucher"]
            one["LastSettleDate"] = day(on)
            one["SysModifiedDateTime"] = now
            if remaining(one) == 0:
                one["Closed"] = day(on)

    def pay(self, invoice_id: str, amount: Decimal, on: date) -> Record:
        """A customer payment journal, posted, its line marked against ``invoice_id``."""
        debit = self.transaction(invoice_id)
        if debit is None or debit["TransType"] != "Cust" or money(debit["AmountCur"]) <= 0:
            raise ODataError(404, f"No open invoice '{invoice_id}' in company {self.company}.")
        batch = f"CPJ-{self._next('payment'):06d}"
        self.journals.append(
            {"dataAreaId": self.company, "JournalBatchNumber": batch, "JournalName": "CustPay",
             "IsPosted": "Yes", "MarkedInvoice": invoice_id, "CreditAmount": float(amount),
             "TransactionDate": day(on), "CurrencyCode": debit["CurrencyCode"]}
        )  # fmt: skip
        header = {
            "CustomerAccount": debit["AccountNum"],
            "InvoiceId": "",
            "InvoiceDate": day(on),
            "DueDate": day(on),
            "CurrencyCode": debit["CurrencyCode"],
        }
        credit = self.open_transaction(header, -amount, "Payment")
        credit["PaymReference"] = batch
        self.settle(debit, credit, amount, on)
        return credit


def remaining(transaction: Record) -> Decimal:
    """What is still open on a transaction (negative for a credit)."""
    return money(transaction["AmountCur"]) - money(transaction["SettleAmountCur"])
