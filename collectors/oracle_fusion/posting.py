"""Posting to Fusion at most once: invoices in ``parts[]`` batches, credit memos one by one.

Fusion's REST has no idempotency key. ``Upsert-Mode: true`` would match an existing invoice by a
key Fusion does not document for ``receivablesInvoices`` and then try to update it, which a
completed invoice refuses (only InvoiceStatus, PaymentTerms and TransactionDate may change). So
each document is looked up by its transaction number in its business unit before it is created
(our number is the ``TransactionNumber``; our key rides along as ``CrossReference``), the create
is sent once, and a create whose outcome is unknown (a lost reply, a timeout) is followed by
another look-up, never by a blind resend (``collectors.idempotency.create_once``'s rule).

Invoices: one batch creates the missing ones (Incomplete), a second completes every one not yet
Complete (``{"InvoiceStatus": "Complete"}``, which is safe to repeat). A batch is all-or-none:
when Fusion refuses parts, nothing was applied, the refused documents get their reasons and the
rest are sent again without them. Credit memos are created on account, completed
(``CreditMemoStatus``) and applied with ``action/applyCreditMemo`` [unconfirmed: the emulator's
action; Fusion's REST documents none], the application carrying our key in ``Comments`` so a
lost reply is found again rather than applied twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TypeVar

import httpx

from collectors.erp import (
    CreditNoteDocument,
    InvoiceDocument,
    PostedCreditNote,
    PostedInvoice,
    Raw,
)
from collectors.errors import UNREADABLE, RecordError, RetryableError, SchemaDriftError
from collectors.http import call_json
from collectors.idempotency import create_once
from collectors.oracle_fusion import mapping
from collectors.oracle_fusion.batches import run_batch
from collectors.oracle_fusion.mapping import VENDOR
from collectors.paging import Offset
from collectors.streams import Stream, pages

ACTION_MEDIA_TYPE = "application/vnd.oracle.adf.action+json"
LOOKUP_CHUNK = 25
ROUNDS = 3
T = TypeVar("T")


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _read(parse: Callable[[Raw], T], raw: Raw, number: str) -> T | RecordError:
    try:
        return parse(raw)
    except UNREADABLE as exc:
        return SchemaDriftError(
            f"{VENDOR} reply for {number} cannot be read: {exc!r}", vendor=VENDOR
        )


@dataclass(frozen=True)
class Posting:
    """Posting into one business unit with the connection's transaction source and types."""

    unit: str
    source: str
    invoice_type: str
    credit_memo_type: str
    payment_terms: str
    page_size: int

    # --- look-ups -------------------------------------------------------------------------------

    def _held(
        self, client: httpx.Client, resource: str, child: str, numbers: Sequence[str]
    ) -> dict[str, Raw]:
        """The business unit's transactions with these numbers, children expanded, by number."""
        found: dict[str, Raw] = {}
        stream = Stream(
            resource,
            f"/{resource}",
            "items",
            Offset("items", limit=self.page_size, more="hasMore"),
            key="CustomerTransactionId",
        )
        for chunk in _chunks(list(dict.fromkeys(numbers)), LOOKUP_CHUNK):
            unit = "BusinessUnit=" + mapping.quoted(self.unit)
            q = (
                f"{unit} and "
                + "("
                + " or ".join(f"TransactionNumber={mapping.quoted(n)}" for n in chunk)
                + ")"
            )
            params = {"q": q, "expand": child, "onlyData": "true", "limit": str(self.page_size)}
            for page in pages(client, stream, params):
                found.update({str(raw.get("TransactionNumber")): raw for raw in page})
        return found

    def find_invoices(
        self, client: httpx.Client, numbers: Sequence[str]
    ) -> dict[str, PostedInvoice]:
        """The completed invoices with these numbers: one left Incomplete (its completion never
        sent, or its reply lost) is not posted yet, and ``post_invoices`` completes it."""
        held = self._held(client, "receivablesInvoices", "receivablesInvoiceLines", numbers)
        return {
            n: mapping.posted_invoice(raw)
            for n, raw in held.items()
            if n in set(numbers) and raw.get("InvoiceStatus") == "Complete"
        }

    def find_credit_notes(
        self, client: httpx.Client, numbers: Sequence[str]
    ) -> dict[str, PostedCreditNote]:
        """The completed credit memos with these numbers: one left Incomplete is not posted yet,
        and ``post_credit_notes`` completes it."""
        held = self._held(client, "receivablesCreditMemos", "receivablesCreditMemoLines", numbers)
        return {
            n: mapping.posted_credit_note(raw)
            for n, raw in held.items()
            if n in set(numbers) and raw.get("CreditMemoStatus") == "Complete"
        }

    # --- invoices -------------------------------------------------------------------------------

    def post_invoices(
        self, client: httpx.Client, documents: Sequence[InvoiceDocument]
    ) -> list[PostedInvoice | RecordError]:
        numbers = [d.invoice.number for d in documents]
        held, refused = self._created(client, documents)
        incomplete = [(n, raw) for n, raw in held.items() if raw.get("InvoiceStatus") != "Complete"]
        if incomplete:
            parts = [
                (
                    n,
                    self._part(
                        n,
                        f"/receivablesInvoices/{raw['CustomerTransactionId']}",
                        "update",
                        {"InvoiceStatus": "Complete"},
                    ),
                )
                for n, raw in incomplete
            ]
            completed, not_completed = run_batch(client, parts, once=False)
            held.update(completed)
            refused.update(not_completed)
        outcomes: list[PostedInvoice | RecordError] = []
        for number in numbers:
            if number in refused:
                outcomes.append(refused[number])
            elif number in held:
                outcomes.append(_read(mapping.posted_invoice, held[number], number))
            else:
                outcomes.append(
                    SchemaDriftError(
                        f"{VENDOR} reply has no invoice {number}; whether it exists is unknown",
                        vendor=VENDOR,
                    )
                )
        return outcomes

    def _created(
        self, client: httpx.Client, documents: Sequence[InvoiceDocument]
    ) -> tuple[dict[str, Raw], dict[str, RecordError]]:
        """Every document's invoice, found or created once; the refused with their reasons."""
        held: dict[str, Raw] = {}
        refused: dict[str, RecordError] = {}
        failure: RetryableError | None = None
        for _ in range(ROUNDS):
            wanted = [d for d in documents if d.invoice.number not in refused]
            held.update(
                self._held(
                    client,
                    "receivablesInvoices",
                    "receivablesInvoiceLines",
                    [d.invoice.number for d in wanted],
                )
            )
            missing = [d for d in wanted if d.invoice.number not in held]
            if not missing:
                return held, refused
            parts = [
                (
                    d.invoice.number,
                    self._part(
                        d.invoice.number, "/receivablesInvoices", "create", self._invoice_body(d)
                    ),
                )
                for d in missing
            ]
            try:
                created, not_created = run_batch(client, parts, once=True)
            except RetryableError as exc:  # its outcome unknown: look again before creating
                failure = exc
                continue
            held.update(created)
            refused.update(not_created)
            return held, refused
        assert failure is not None
        raise failure

    def _invoice_body(self, document: InvoiceDocument) -> Raw:
        return mapping.invoice_body(
            document,
            business_unit=self.unit,
            source=self.source,
            transaction_type=self.invoice_type,
            payment_terms=self.payment_terms,
        )

    @staticmethod
    def _part(number: str, path: str, operation: str, payload: Raw) -> Raw:
        return {"id": f"part-{number}", "path": path, "operation": operation, "payload": payload}

    # --- credit notes ---------------------------------------------------------------------------

    def post_credit_notes(
        self, client: httpx.Client, notes: Sequence[CreditNoteDocument]
    ) -> list[PostedCreditNote | RecordError]:
        outcomes: list[PostedCreditNote | RecordError] = []
        for note in notes:
            try:
                raw = self._credit_memo(client, note)
            except RecordError as refused:
                outcomes.append(refused)
                continue
            outcomes.append(_read(mapping.posted_credit_note, raw, note.number))
        return outcomes

    def _credit_memo(self, client: httpx.Client, note: CreditNoteDocument) -> Raw:
        """The note's credit memo, found or created once, and completed."""

        def find() -> Raw | None:
            held = self._held(
                client, "receivablesCreditMemos", "receivablesCreditMemoLines", [note.number]
            )
            return held.get(note.number)

        def create() -> Raw:
            body = mapping.credit_memo_body(
                note,
                business_unit=self.unit,
                source=self.source,
                transaction_type=self.credit_memo_type,
            )
            made: Raw = call_json(
                client,
                "POST",
                "receivablesCreditMemos",
                route="/receivablesCreditMemos",
                json=body,
                once=True,
            )
            return made

        raw = create_once(find, create)
        if raw.get("CreditMemoStatus") != "Complete":
            memo = raw["CustomerTransactionId"]
            done = call_json(
                client,
                "PATCH",
                f"receivablesCreditMemos/{memo}",
                route="/receivablesCreditMemos/{id}",
                json={"CreditMemoStatus": "Complete"},
            )
            raw = {**raw, **done}  # the update answers without the lines
        return raw

    def apply_credit_note(
        self,
        client: httpx.Client,
        memo_id: str,
        *,
        invoice_id: str,
        amount: Decimal,
        on: date,
        key: str,
    ) -> Decimal:
        """Apply ``amount`` of the memo to the invoice once per ``key``; the amount applied."""
        path = f"receivablesCreditMemos/{memo_id}"

        def find() -> Decimal | None:
            memo = call_json(
                client,
                "GET",
                path,
                route="/receivablesCreditMemos/{id}",
                params={"expand": "creditMemoApplications", "onlyData": "true"},
            )
            for application in memo.get("creditMemoApplications") or []:
                if application.get("Comments") == key:
                    return Decimal(str(application["AmountApplied"]))
            return None

        def create() -> Decimal:
            body = {
                "CustomerTransactionId": int(invoice_id),
                "AmountApplied": float(amount),
                "ApplicationDate": on.isoformat(),
                "Comments": key,
            }
            reply = call_json(
                client,
                "POST",
                f"{path}/action/applyCreditMemo",
                route="/receivablesCreditMemos/{id}/action/applyCreditMemo",
                json=body,
                headers={"Content-Type": ACTION_MEDIA_TYPE},
                once=True,
            )
            return Decimal(str(reply["result"]["AmountApplied"]))

        return create_once(find, create)
