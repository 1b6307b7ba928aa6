"""One Xero organisation's credit notes and payments, beside its ``Books`` (contacts and
invoices) and under the same lock.

Batch saves work as ``Books.save_invoices`` does: every element is validated first; with
``summarizeErrors`` on, one invalid element refuses the batch and nothing is saved; with it off,
the valid ones are saved and the others come back with their ``ValidationErrors``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sandbox.vendors import xero_allocations as money
from sandbox.vendors import xero_batches, xero_credit_notes, xero_invoices
from sandbox.vendors.xero_batches import CREDIT_NOTE, BatchSave
from sandbox.vendors.xero_books import Books
from sandbox.vendors.xero_dates import ms_date, ms_datetime, utc_string

Record = dict[str, Any]
Outcome = tuple[bool, list[Record]]


class Ledger:
    """Credit notes (with their allocations) and payments of one tenant."""

    def __init__(self, books: Books, tenant_id: str, *, now: Callable[[], datetime]) -> None:
        self.books = books
        self._now = now
        self.lock = books.lock
        self.account = money.bank_account(tenant_id)
        self.credit_notes: dict[str, Record] = {}
        self.payments: dict[str, Record] = {}
        self.updated: dict[str, datetime] = {}
        self._issued = 0
        self._save_credit_notes = BatchSave(
            CREDIT_NOTE, self.credit_notes, self._validate, self._apply
        )

    def _stamp(self) -> datetime:
        return self._now().astimezone(UTC)

    def load(
        self, notes: list[tuple[Record, datetime]], payments: list[tuple[Record, datetime]]
    ) -> None:
        """What the organisation already holds (history), with when each last changed."""
        with self.lock:
            for record, changed in notes:
                self.credit_notes[record["CreditNoteID"]] = record
                self.updated[record["CreditNoteID"]] = changed
            for record, changed in sorted(payments, key=lambda pair: pair[1]):
                self.payments[record["PaymentID"]] = record
                self.updated[record["PaymentID"]] = changed

    # --- credit notes -----------------------------------------------------------------------

    def save_credit_notes(
        self, elements: list[Any], *, create_only: bool, summarize: bool, path_id: str | None
    ) -> Outcome:
        with self.lock:
            return self._save_credit_notes(
                elements, create_only=create_only, summarize=summarize, path_id=path_id
            )

    def _validate(self, proposal: Record, taken: set[str], existing: Record | None) -> list[str]:
        problems = xero_credit_notes.validate(proposal, self.books.contacts, taken, existing)
        if existing is None:
            problems += self._inline_problems(proposal, problems)
        return problems

    def _inline_problems(self, element: Record, problems: list[str]) -> list[str]:
        """Allocations sent with a new credit note, checked against what it will be."""
        wanted = element.get("Allocations") or []
        if problems or not wanted:
            return []
        stamp = self._stamp()
        draft = xero_credit_notes.build(
            element,
            self.books.contacts[element["Contact"]["ContactID"]],
            credit_note_id=None,
            number="",
            today=stamp.date(),
            now=stamp,
            base_currency=self.books.base_currency,
        )
        return [
            p for a in wanted for p in money.allocation_problems(draft, a, self.books.invoices)[3]
        ]

    def _apply(self, proposal: Record, target: str | None) -> Record:
        stamp = self._stamp()
        number = str(proposal.get("CreditNoteNumber") or "")
        if not number and proposal["Type"] == "ACCRECCREDIT":
            number = self._next_number()
        kept = self.credit_notes[target]["Allocations"] if target else []
        record = xero_credit_notes.build(
            proposal,
            self.books.contacts[proposal["Contact"]["ContactID"]],
            credit_note_id=target,
            number=number,
            today=stamp.date(),
            now=stamp,
            base_currency=self.books.base_currency,
            allocations=kept,
        )
        self.credit_notes[record["CreditNoteID"]] = record
        self.updated[record["CreditNoteID"]] = stamp
        if not target and proposal.get("Allocations"):
            self.allocate(record["CreditNoteID"], proposal["Allocations"], summarize=True)
        return {**self.credit_notes[record["CreditNoteID"]], "StatusAttributeString": "OK"}

    def _next_number(self) -> str:
        taken = {n["CreditNoteNumber"] for n in self.credit_notes.values()}
        while True:
            self._issued += 1
            if (number := f"CN-{self._issued:04d}") not in taken:
                return number

    def allocate(self, credit_note_id: str, elements: list[Any], *, summarize: bool) -> Outcome:
        """Apply credit to invoices: the note's ``RemainingCredit`` and each invoice's
        ``AmountDue`` drop, the invoice's ``AmountCredited`` rises. ``KeyError``: no such note."""
        with self.lock:
            note = self.credit_notes[credit_note_id]
            results: list[Record] = []
            checked = [money.allocation_problems(note, e, self.books.invoices) for e in elements]
            refusals = xero_batches.refusals(
                [(e, c[3]) for e, c in zip(elements, checked, strict=True)], summarize
            )
            if refusals is not None:
                return False, refusals
            for element, (invoice, value, on, problems) in zip(elements, checked, strict=True):
                if not problems:  # an earlier allocation may have used the credit up
                    problems = money.allocation_problems(note, element, self.books.invoices)[3]
                if problems or invoice is None or value is None or on is None:
                    results.append(xero_invoices.refused(element, problems))
                    continue
                results.append(self._allocate_one(note, invoice, value, on))
            return True, results

    def _allocate_one(self, note: Record, invoice: Record, value: Decimal, on: date) -> Record:
        stamp = self._stamp()
        money.settle(invoice, value, on, stamp, paid=False)
        self.books.updated[invoice["InvoiceID"]] = stamp
        allocation = {
            "AllocationID": str(uuid.uuid4()),
            "Amount": float(value),
            "Date": ms_date(on),
            "Invoice": {
                "InvoiceID": invoice["InvoiceID"],
                "InvoiceNumber": invoice["InvoiceNumber"],
            },
        }
        remaining = Decimal(str(note["RemainingCredit"])) - value
        note["Allocations"] = [*note["Allocations"], allocation]
        note["RemainingCredit"] = float(remaining)
        if remaining == 0:
            note["Status"] = "PAID"
            note["FullyPaidOnDate"] = ms_date(on)
        self._touch(note, stamp)
        invoice["CreditNotes"] = [*invoice["CreditNotes"], money.embedded_credit_note(note, value)]
        return {**allocation, "CreditNote": {"CreditNoteID": note["CreditNoteID"]}}

    def _touch(self, note: Record, stamp: datetime) -> None:
        note["UpdatedDateUTC"] = ms_datetime(stamp)
        note["UpdatedDateUTCString"] = utc_string(stamp)
        self.updated[note["CreditNoteID"]] = stamp

    # --- payments ---------------------------------------------------------------------------

    def save_payments(self, elements: list[Any], *, summarize: bool) -> Outcome:
        with self.lock:
            checked = [
                money.payment_problems(e, self.books.invoices, self.account) for e in elements
            ]
            refusals = xero_batches.refusals(
                [(e, c[3]) for e, c in zip(elements, checked, strict=True)], summarize
            )
            if refusals is not None:
                return False, refusals
            results: list[Record] = []
            for element, (invoice, value, on, problems) in zip(elements, checked, strict=True):
                if not problems:  # an earlier payment in the batch may have settled it
                    problems = money.payment_problems(element, self.books.invoices, self.account)[3]
                if problems or invoice is None or value is None or on is None:
                    results.append(xero_invoices.refused(element, problems))
                    continue
                reference = str(element.get("Reference") or "")
                results.append(self._pay(invoice, value, on, reference))
            return True, results

    def _pay(self, invoice: Record, value: Decimal, on: date, reference: str) -> Record:
        stamp = self._stamp()
        payment = money.payment_record(
            str(uuid.uuid4()), invoice, value, on, stamp, self.account, reference
        )
        money.settle(invoice, value, on, stamp, paid=True)
        invoice["Payments"] = [*invoice["Payments"], money.embedded_payment(payment)]
        self.books.updated[invoice["InvoiceID"]] = stamp
        self.payments[payment["PaymentID"]] = payment
        self.updated[payment["PaymentID"]] = stamp
        return {**payment, "StatusAttributeString": "OK"}

    def record_payment(self, invoice_id: str, value: Decimal, on: date) -> Record:
        """The customer paid (not over HTTP): as ``PUT /Payments``; returns the invoice."""
        with self.lock:
            invoice = self.books.invoices[invoice_id]
            element = {"Invoice": {"InvoiceID": invoice_id}, "Account": self.account}
            problems = money.payment_problems(
                {**element, "Amount": str(value), "Date": on.isoformat()},
                self.books.invoices,
                self.account,
            )[3]
            if problems:
                raise ValueError(f"cannot pay {value} on invoice {invoice_id}: {problems}")
            self._pay(invoice, value, on, invoice["InvoiceNumber"])
            return dict(invoice)

    # --- reads ------------------------------------------------------------------------------

    def find_credit_notes(
        self, *, ids: Collection[str] = (), since: datetime | None = None
    ) -> list[Record]:
        return self._find(self.credit_notes, ids, since)

    def find_payments(
        self, *, ids: Collection[str] = (), since: datetime | None = None
    ) -> list[Record]:
        return self._find(self.payments, ids, since)

    def _find(
        self, records: dict[str, Record], ids: Collection[str], since: datetime | None
    ) -> list[Record]:
        with self.lock:
            return [
                dict(r)
                for key, r in records.items()
                if (not ids or key in ids) and (since is None or self.updated[key] >= since)
            ]
