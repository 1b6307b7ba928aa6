"""What one Fusion instance holds for receivables: business units, customer accounts, invoices,
credit memos and standard receipts, as records in the REST resources' own shapes.

Invariants the emulator keeps:

- every transaction (invoice, credit memo) and receipt belongs to one business unit, by name;
- an invoice's ``InvoiceBalanceAmount`` is its lines' total less what receipts and credit memos
  applied to it; its one installment (``receivablesInvoiceInstallments``) holds the same balance
  and is ``Open`` until nothing is due, then ``Closed``;
- a receipt's ``UnappliedAmount`` is its amount less its applications; a credit memo's
  ``CreditMemoBalanceAmount`` is its (negative) total less its applications (moving to zero);
- every change moves the record's ``LastUpdateDate`` to now, so ``q=LastUpdateDate>=…`` finds it.

Children live inside their parent under the child resource's name and are shown on ``expand``.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

Record = dict[str, Any]
CENT = Decimal("0.01")
FIRST_ID = 300100000000001  # Fusion's ids are 15-digit int64s (e.g. 300100170996427)
INVOICE_CHILDREN = ("receivablesInvoiceLines", "receivablesInvoiceInstallments")
CREDIT_MEMO_CHILDREN = ("receivablesCreditMemoLines", "creditMemoApplications")
RECEIPT_CHILDREN = ("standardReceiptApplications",)


def stamp(moment: datetime) -> str:
    """A Fusion timestamp: ``2026-11-25T10:00:00.000+00:00``."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(CENT)


def number(value: Decimal) -> float | int:
    """A JSON number as Fusion writes amounts (no trailing zeros to speak of)."""
    return int(value) if value == value.to_integral_value() else float(value)


class Books:
    """Every receivable record of the instance, with one lock for writers."""

    def __init__(self, now: Callable[[], datetime]) -> None:
        self.now = now
        self.lock = threading.RLock()
        self.ids = itertools.count(FIRST_ID)
        self.units: dict[str, Record] = {}  # BU name → finBusinessUnitsLOV item
        self.accounts: dict[str, Record] = {}  # PartyNumber → accounts item
        self.invoices: dict[int, Record] = {}
        self.credit_memos: dict[int, Record] = {}
        self.receipts: dict[int, Record] = {}

    # --- reference data -----------------------------------------------------------------------

    def add_unit(self, name: str, legal_entity: str, currency: str, at: datetime) -> Record:
        unit = {
            "BusinessUnitId": next(self.ids),
            "BusinessUnitName": name,
            "LegalEntityName": legal_entity,  # [unconfirmed] attribute of finBusinessUnitsLOV
            "PrimaryLedgerName": f"{legal_entity} Primary Ledger",
            "DefaultCurrencyCode": currency,
            "Status": "A",
            "LastUpdateDate": stamp(at),
        }
        self.units[name] = unit
        return unit

    def add_account(
        self, name: str, currency: str, at: datetime, *, reference: str | None = None
    ) -> Record:
        party_id = next(self.ids)
        party_number = str(party_id - FIRST_ID + 1000)
        account: Record = {
            "PartyId": party_id,
            "PartyNumber": party_number,
            "OrganizationName": name,
            "Type": "ZCA_CUSTOMER",
            "CurrencyCode": currency,
            "Status": "A",
            "SourceSystem": "PLAN2CASH" if reference else None,
            "SourceSystemReferenceValue": reference,
            "CreationDate": stamp(at),
            "LastUpdateDate": stamp(at),
        }
        self.accounts[party_number] = account
        return account

    # --- invoices -----------------------------------------------------------------------------

    def add_invoice(self, fields: Record, lines: list[Record], at: datetime) -> Record:
        """An invoice with ``lines`` (``Description``, ``Quantity``, ``UnitSellingPrice``), as
        validated by the caller; ``Incomplete`` unless ``fields`` says otherwise."""
        invoice_id = next(self.ids)
        rendered = [self._line(invoice_id, n, line) for n, line in enumerate(lines, start=1)]
        total = sum((money(line["LineAmount"]) for line in rendered), Decimal(0))
        account = self.accounts[str(fields["BillToCustomerNumber"])]
        invoice = {
            "CustomerTransactionId": invoice_id,
            "InvoiceStatus": "Incomplete",
            "TransactionType": "Invoice",
            "PaymentTerms": "30 Net",
            "CrossReference": None,
            "DocumentNumber": None,
            "Comments": None,
            **fields,
            "BillToCustomerName": account["OrganizationName"],
            "BillToPartyId": account["PartyId"],
            "EnteredAmount": number(total),  # [unconfirmed] name of the header total
            "InvoiceBalanceAmount": number(total),  # [3rd-party]
            "CreationDate": stamp(at),
            "LastUpdateDate": stamp(at),
            "receivablesInvoiceLines": rendered,
            "receivablesInvoiceInstallments": [
                {
                    "InstallmentId": next(self.ids),
                    "InstallmentNumber": 1,
                    "DueDate": fields.get("DueDate") or fields["TransactionDate"],
                    "OriginalAmount": number(total),
                    "InstallmentBalanceDue": number(total),  # [unconfirmed] attribute name
                    "InstallmentStatus": "Open",
                }
            ],
        }
        self.invoices[invoice_id] = invoice
        return invoice

    def _line(self, parent: int, n: int, line: Record) -> Record:
        quantity, price = Decimal(str(line["Quantity"])), Decimal(str(line["UnitSellingPrice"]))
        return {
            "CustomerTransactionLineId": next(self.ids),
            "LineNumber": n,
            "Description": line["Description"],
            "Quantity": number(quantity),
            "UnitSellingPrice": number(price),
            "LineAmount": number((quantity * price).quantize(CENT)),
        }

    def settle(self, invoice: Record, amount: Decimal, at: datetime) -> None:
        """``amount`` of the invoice paid or credited: its balance and installment follow."""
        balance = money(invoice["InvoiceBalanceAmount"]) - amount
        installment = invoice["receivablesInvoiceInstallments"][0]
        invoice["InvoiceBalanceAmount"] = number(balance)
        installment["InstallmentBalanceDue"] = number(balance)
        installment["InstallmentStatus"] = "Closed" if balance <= 0 else "Open"
        invoice["LastUpdateDate"] = stamp(at)

    def find_invoice(self, unit: str, source: str, transaction_number: str) -> Record | None:
        """The invoice numbered so in the business unit and transaction source (the number is
        unique there), if any."""
        for invoice in self.invoices.values():
            if (invoice["BusinessUnit"], invoice["TransactionSource"]) == (unit, source) and (
                invoice["TransactionNumber"] == transaction_number
            ):
                return invoice
        return None

    # --- credit memos -------------------------------------------------------------------------

    def add_credit_memo(self, fields: Record, lines: list[Record], at: datetime) -> Record:
        memo_id = next(self.ids)
        rendered = [self._line(memo_id, n, line) for n, line in enumerate(lines, start=1)]
        total = sum((money(line["LineAmount"]) for line in rendered), Decimal(0))
        memo = {
            "CustomerTransactionId": memo_id,
            "CreditMemoStatus": "Incomplete",
            "TransactionType": "Credit Memo",
            "CrossReference": None,
            **fields,
            "EnteredAmount": number(total),
            "CreditMemoBalanceAmount": number(total),  # [unconfirmed] attribute name
            "CreationDate": stamp(at),
            "LastUpdateDate": stamp(at),
            "receivablesCreditMemoLines": rendered,
            "creditMemoApplications": [],
        }
        self.credit_memos[memo_id] = memo
        return memo

    def apply_credit_memo(
        self,
        memo: Record,
        invoice: Record,
        amount: Decimal,
        on: date,
        comments: str | None,
        *,
        at: datetime | None = None,
    ) -> Record:
        at = at or self.now()
        application = {
            "ApplicationId": next(self.ids),
            "CustomerTransactionId": invoice["CustomerTransactionId"],
            "TransactionNumber": invoice["TransactionNumber"],
            "AmountApplied": number(amount),
            "ApplicationDate": on.isoformat(),
            "Comments": comments,
            "CreationDate": stamp(at),
        }
        memo["creditMemoApplications"].append(application)
        memo["CreditMemoBalanceAmount"] = number(money(memo["CreditMemoBalanceAmount"]) + amount)
        memo["LastUpdateDate"] = stamp(at)
        self.settle(invoice, amount, at)
        return application

    # --- receipts -----------------------------------------------------------------------------

    def add_receipt(
        self, invoice: Record, amount: Decimal, on: date, at: datetime, *, method: str = "Wire"
    ) -> Record:
        """A standard receipt from the invoice's customer, applied to it in full."""
        receipt_id = next(self.ids)
        account = self.accounts[str(invoice["BillToCustomerNumber"])]
        receipt = {
            "StandardReceiptId": receipt_id,
            "ReceiptNumber": f"RCPT-{receipt_id - FIRST_ID + 1:07d}",
            "ReceiptMethod": method,
            "BusinessUnit": invoice["BusinessUnit"],
            "Amount": number(amount),
            "Currency": invoice["InvoiceCurrencyCode"],
            "ReceiptDate": on.isoformat(),
            "AccountingDate": on.isoformat(),
            "CustomerAccountNumber": account["PartyNumber"],
            "CustomerName": account["OrganizationName"],
            "State": "Applied",
            "Status": "Cleared",
            "UnappliedAmount": 0,
            "CreationDate": stamp(at),
            "LastUpdateDate": stamp(at),
            "standardReceiptApplications": [
                {
                    "ApplicationId": next(self.ids),
                    "CustomerTransactionId": invoice["CustomerTransactionId"],
                    "TransactionNumber": invoice["TransactionNumber"],
                    "AmountApplied": number(amount),
                    "ApplicationDate": on.isoformat(),
                }
            ],
        }
        self.receipts[receipt_id] = receipt
        self.settle(invoice, amount, at)
        return receipt
