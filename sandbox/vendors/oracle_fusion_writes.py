"""Fusion's receivables writes: checks first, then changes, so a batch can refuse as a whole.

Each write is a ``Change``: ``check`` reads the payload against the books (and the numbers a
batch has already claimed) and raises ``Refused`` with Fusion's reasons, or returns ``apply``,
which cannot fail. A single request checks and applies at once; a batch checks every part before
applying any (all-or-none).

What is checked (the reasons Fusion gives, in its words where the docs show them):

- invoice create: a known ``BusinessUnit``, ``BillToCustomerNumber``, ``TransactionSource``,
  ``TransactionDate`` (ISO date), a 3-letter ``InvoiceCurrencyCode``, at least one line with
  ``Description``, ``Quantity`` and ``UnitSellingPrice``, and a ``TransactionNumber`` unused in
  that business unit and source (a duplicate is refused, unless ``Upsert-Mode: true``, which
  answers the invoice already there);
- invoice update (PATCH): only ``InvoiceStatus`` (Complete / Incomplete), ``PaymentTerms`` and
  ``TransactionDate`` may change [confirmed]; an invoice with applications cannot go back to
  Incomplete;
- credit memo create: as an invoice, with ``CreditMemoCurrencyCode`` and a negative total
  (on-account credit memos carry negative amounts); update: ``CreditMemoStatus`` only;
- credit memo application (``action/applyCreditMemo``, [unconfirmed]: Fusion's REST documents no
  such action; the emulator offers one so a credit memo can settle an invoice): a completed memo,
  a completed invoice of the same customer and currency, and no more than either has left.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sandbox.vendors.oracle_fusion_books import Books, Record, money, stamp

Apply = Callable[[], tuple[int, Record]]
INVOICE_PATCHABLE = frozenset({"InvoiceStatus", "PaymentTerms", "TransactionDate"})
MEMO_PATCHABLE = frozenset({"CreditMemoStatus", "AllowCompletion", "TransactionType"})
STATUSES = ("Complete", "Incomplete")


class Refused(Exception):
    """Fusion refuses the write: ``found`` holds ``(detail, errorPath)`` reasons."""

    def __init__(self, status: int, title: str, found: list[tuple[str, str]]) -> None:
        super().__init__(found[0][0] if found else title)
        self.status = status
        self.title = title
        self.found = found


def invalid(found: list[tuple[str, str]]) -> Refused:
    return Refused(400, "Bad Request", found)


@dataclass
class Claims:
    """Transaction numbers a batch's earlier parts create, so two parts cannot share one."""

    numbers: set[tuple[str, str, str]] = field(default_factory=set)


def _date(payload: Record, name: str, found: list[tuple[str, str]]) -> None:
    try:
        date.fromisoformat(str(payload.get(name)))
    except ValueError:
        found.append((f"The value of the attribute {name} isn't a valid date.", name))


def _lines(payload: Record, child: str, found: list[tuple[str, str]]) -> list[Record]:
    lines = payload.get(child)
    if not isinstance(lines, list) or not lines:
        found.append(("You must provide at least one transaction line.", child))
        return []
    for n, line in enumerate(lines):
        if not isinstance(line, dict) or not str(line.get("Description") or "").strip():
            found.append(("The line description is required.", f"{child}[{n}]/Description"))
            continue
        for name in ("Quantity", "UnitSellingPrice"):
            try:
                Decimal(str(line.get(name)))
            except InvalidOperation:
                found.append((f"The value of {name} isn't a number.", f"{child}[{n}]/{name}"))
    return lines if isinstance(lines, list) else []


def _header(books: Books, payload: Record, currency: str, found: list[tuple[str, str]]) -> None:
    if payload.get("BusinessUnit") not in books.units:
        found.append(
            (f"The business unit {payload.get('BusinessUnit')} isn't valid.", "BusinessUnit")
        )
    customer = str(payload.get("BillToCustomerNumber") or "")
    if customer not in books.accounts or books.accounts[customer]["Status"] != "A":
        found.append((f"The bill-to customer {customer} isn't valid.", "BillToCustomerNumber"))
    if not str(payload.get("TransactionSource") or "").strip():
        found.append(("The transaction source is required.", "TransactionSource"))
    code = str(payload.get(currency) or "")
    if len(code) != 3 or not code.isalpha() or not code.isupper():
        found.append((f"The currency {code} isn't valid.", currency))
    _date(payload, "TransactionDate", found)
    if "DueDate" in payload:
        _date(payload, "DueDate", found)


def _key(payload: Record) -> tuple[str, str, str]:
    return (
        str(payload.get("BusinessUnit")),
        str(payload.get("TransactionSource")),
        str(payload.get("TransactionNumber") or ""),
    )


def create_invoice(books: Books, payload: Record, claims: Claims, *, upsert: bool) -> Apply:
    found: list[tuple[str, str]] = []
    _header(books, payload, "InvoiceCurrencyCode", found)
    lines = _lines(payload, "receivablesInvoiceLines", found)
    if not str(payload.get("TransactionNumber") or "").strip():
        found.append(("The transaction number is required for this source.", "TransactionNumber"))
    if found:
        raise invalid(found)
    key = _key(payload)
    existing = books.find_invoice(*key)
    if existing is not None and upsert:
        return lambda: (200, existing)
    if existing is not None or key in claims.numbers:
        raise invalid([(f"The transaction number {key[2]} already exists.", "TransactionNumber")])
    claims.numbers.add(key)
    fields = {k: v for k, v in payload.items() if k != "receivablesInvoiceLines"}

    def apply() -> tuple[int, Record]:
        invoice = books.add_invoice(fields, lines, books.now())
        if fields.get("InvoiceStatus") == "Complete":
            invoice["InvoiceStatus"] = "Complete"
        return 201, invoice

    return apply


def update_invoice(books: Books, invoice: Record, payload: Record) -> Apply:
    found = [
        (f"The attribute {name} can't be updated.", name)
        for name in payload
        if name not in INVOICE_PATCHABLE
    ]
    status = payload.get("InvoiceStatus", invoice["InvoiceStatus"])
    if status not in STATUSES:
        found.append((f"The invoice status {status} isn't valid.", "InvoiceStatus"))
    settled = money(invoice["InvoiceBalanceAmount"]) != money(invoice["EnteredAmount"])
    if status == "Incomplete" and settled:
        found.append(("You can't make an invoice with applications incomplete.", "InvoiceStatus"))
    if "TransactionDate" in payload:
        _date(payload, "TransactionDate", found)
    if found:
        raise invalid(found)

    def apply() -> tuple[int, Record]:
        changed = {k: v for k, v in payload.items() if invoice.get(k) != v}
        if changed:
            invoice.update(changed)
            invoice["LastUpdateDate"] = stamp(books.now())
        return 200, invoice

    return apply


def create_credit_memo(books: Books, payload: Record, claims: Claims) -> Apply:
    found: list[tuple[str, str]] = []
    _header(books, payload, "CreditMemoCurrencyCode", found)
    lines = _lines(payload, "receivablesCreditMemoLines", found)
    if not found:
        total = sum(
            (Decimal(str(x["Quantity"])) * Decimal(str(x["UnitSellingPrice"])) for x in lines),
            Decimal(0),
        )
        if total >= 0:
            found.append(("The credit memo total must be negative.", "receivablesCreditMemoLines"))
    if found:
        raise invalid(found)
    key = _key(payload)
    taken = any(_key(memo) == key for memo in books.credit_memos.values())
    if key[2] and (taken or key in claims.numbers):
        raise invalid([(f"The transaction number {key[2]} already exists.", "TransactionNumber")])
    claims.numbers.add(key)
    fields = {k: v for k, v in payload.items() if k != "receivablesCreditMemoLines"}

    def apply() -> tuple[int, Record]:
        memo = books.add_credit_memo(fields, lines, books.now())
        if fields.get("CreditMemoStatus") == "Complete":
            memo["CreditMemoStatus"] = "Complete"
        return 201, memo

    return apply


def update_credit_memo(books: Books, memo: Record, payload: Record) -> Apply:
    found = [
        (f"The attribute {name} can't be updated.", name)
        for name in payload
        if name not in MEMO_PATCHABLE
    ]
    if payload.get("CreditMemoStatus", memo["CreditMemoStatus"]) not in STATUSES:
        found.append(("The credit memo status isn't valid.", "CreditMemoStatus"))
    if found:
        raise invalid(found)

    def apply() -> tuple[int, Record]:
        if any(memo.get(k) != v for k, v in payload.items()):
            memo.update(payload)
            memo["LastUpdateDate"] = stamp(books.now())
        return 200, memo

    return apply


def apply_credit_memo(books: Books, memo: Record, payload: Record) -> Apply:
    """``{"CustomerTransactionId", "AmountApplied", "ApplicationDate", "Comments"?}``."""
    invoice = books.invoices.get(_int(payload.get("CustomerTransactionId")))
    try:
        amount = money(payload.get("AmountApplied"))
        on = date.fromisoformat(str(payload.get("ApplicationDate")))
    except (InvalidOperation, ValueError):
        raise invalid(
            [("AmountApplied and ApplicationDate are required.", "AmountApplied")]
        ) from None
    if invoice is None:
        raise invalid([("The transaction to apply to isn't valid.", "CustomerTransactionId")])
    found: list[tuple[str, str]] = []
    if memo["CreditMemoStatus"] != "Complete" or invoice["InvoiceStatus"] != "Complete":
        found.append(("Only complete transactions can be applied.", "CustomerTransactionId"))
    if (memo["BillToCustomerNumber"], memo["CreditMemoCurrencyCode"]) != (
        invoice["BillToCustomerNumber"],
        invoice["InvoiceCurrencyCode"],
    ):
        found.append(("The credit memo and the invoice differ in customer or currency.", ""))
    if amount <= 0 or amount > money(invoice["InvoiceBalanceAmount"]):
        found.append(
            ("The amount applied exceeds the balance due of the invoice.", "AmountApplied")
        )
    if amount > -money(memo["CreditMemoBalanceAmount"]):
        found.append(("The amount applied exceeds the credit memo balance.", "AmountApplied"))
    if found:
        raise invalid(found)
    comments = payload.get("Comments")

    def apply() -> tuple[int, Record]:
        application = books.apply_credit_memo(memo, invoice, amount, on, comments)
        result = {**application, "CreditMemoBalanceAmount": memo["CreditMemoBalanceAmount"]}
        return 200, {"result": result}

    return apply


def create_account(books: Books, payload: Record) -> Apply:
    name = str(payload.get("OrganizationName") or "").strip()
    if not name:
        raise invalid([("The organization name is required.", "OrganizationName")])
    currency = str(payload.get("CurrencyCode") or "USD")
    reference = payload.get("SourceSystemReferenceValue")

    def apply() -> tuple[int, Record]:
        return 201, books.add_account(name, currency, books.now(), reference=reference)

    return apply


def _int(value: Any) -> int:
    try:
        return int(str(value))
    except ValueError:
        return -1


__all__ = [
    "Apply",
    "Claims",
    "Refused",
    "apply_credit_memo",
    "create_account",
    "create_credit_memo",
    "create_invoice",
    "update_credit_memo",
    "update_invoice",
]
