"""Posting free text invoices and credit notes to F&O at most once, settling a credit note, and
what a posted document (its customer transaction) and a page of invoice transactions become.

F&O's protocol has no idempotency header, so a document is found by our number
(``ExternalInvoiceId``) before anything is created, and every step is resumable: a header found
unposted gets the lines it lacks (by ``LineNumber``) and is then posted; a header found posted is
done. Each create and action is sent once; when its reply is lost (``RetryableError``), the
document is looked up again before anything is sent again (``create_once``).

``$batch`` changesets are not used: the lines need the header's ``InvoiceIdentifier`` from the
create's reply, and posting is a separate action, so no one changeset covers a document; the
resumable steps give the same at-most-once outcome, one document at a time, well inside the
6,000 requests per 5 minutes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import httpx

from collectors.dynamics365 import mapping, odata
from collectors.dynamics365.mapping import VENDOR, any_of, day, money, qualified, quoted, remaining
from collectors.erp import PostedCreditNote, PostedInvoice
from collectors.errors import RecordError, RetryableError, SchemaDriftError
from collectors.idempotency import create_once

Raw = dict[str, Any]


@dataclass(frozen=True)
class Document:
    """A free text invoice to post: our number, its header and its lines (bodies to send)."""

    number: str
    header: Raw
    lines: list[Raw]


class Poster:
    """Posts documents in one company through one client; ``page_size`` and ``chunk`` bound the
    reads (``chunk``: numbers per look-up, so a filter stays a sensible URL)."""

    def __init__(self, client: httpx.Client, company: str, page_size: int, chunk: int) -> None:
        self.client, self.company = client, company
        self.page_size, self.chunk = page_size, max(1, chunk)

    def _rows(self, name: str, condition: str) -> list[Raw]:
        params = odata.in_company(self.company, condition)
        return odata.rows(self.client, name, params, self.page_size)

    def _by(self, name: str, field: str, values: Sequence[str]) -> dict[str, list[Raw]]:
        """The rows whose ``field`` is one of ``values``, grouped by it (a read per chunk)."""
        found: dict[str, list[Raw]] = {}
        for start in range(0, len(values), self.chunk):
            for row in self._rows(name, any_of(field, values[start : start + self.chunk])):
                found.setdefault(str(row[field]), []).append(row)
        return found

    def headers(self, numbers: Sequence[str]) -> dict[str, Raw]:
        """Our documents F&O holds (drafts too), by number (``ExternalInvoiceId``)."""
        return {n: rows[0] for n, rows in self._by("headers", "ExternalInvoiceId", numbers).items()}

    def by_invoice_id(self, invoice_ids: Sequence[str]) -> dict[str, Raw]:
        """Posted documents' headers, by ``InvoiceId``."""
        return {i: rows[0] for i, rows in self._by("headers", "InvoiceId", invoice_ids).items()}

    def lines(self, identifiers: Sequence[str]) -> dict[str, list[Raw]]:
        """Free text invoice lines, by ``InvoiceIdentifier``."""
        return self._by("lines", "InvoiceIdentifier", identifiers)

    def transactions(self, invoice_ids: Sequence[str]) -> dict[str, Raw]:
        """The customer transactions of posted documents, by ``InvoiceId``."""
        return {i: rows[0] for i, rows in self._by("transactions", "Invoice", invoice_ids).items()}

    def by_voucher(self, vouchers: Sequence[str]) -> dict[str, Raw]:
        """Customer transactions, by ``Voucher``."""
        return {v: rows[0] for v, rows in self._by("transactions", "Voucher", vouchers).items()}

    def posted(self, numbers: Sequence[str]) -> dict[str, Raw]:
        """The posted documents with these numbers: their transactions, by number."""
        headers = {n: h for n, h in self.headers(list(numbers)).items() if h["IsPosted"] == "Yes"}
        by_id = self.transactions([str(h["InvoiceId"]) for h in headers.values()])
        return {
            n: by_id[str(h["InvoiceId"])] for n, h in headers.items() if h["InvoiceId"] in by_id
        }

    def post(self, documents: Sequence[Document]) -> list[Raw | RecordError]:
        """Each document posted (its customer transaction) or refused, in order."""
        known = self.headers([d.number for d in documents])
        outcomes: list[Raw | RecordError] = []
        for document in documents:
            try:
                outcomes.append(self._post_one(document, known.get(document.number)))
            except RecordError as refused:
                outcomes.append(_refusal(document.number, refused))
        ids = [str(h["InvoiceId"]) for h in outcomes if isinstance(h, dict)]
        by_id = self.transactions(ids)
        return [
            by_id.get(str(h["InvoiceId"]), _unmatched(h)) if isinstance(h, dict) else h
            for h in outcomes
        ]

    def _one_header(self, number: str) -> Raw | None:
        return self.headers([number]).get(number)

    def _post_one(self, document: Document, header: Raw | None) -> Raw:
        created = header is None
        if header is None:
            header = create_once(
                lambda: self._one_header(document.number),
                lambda: odata.create(self.client, "headers", document.header),
                known_absent=True,
            )
        if header["IsPosted"] == "Yes":
            return header
        identifier = str(header["InvoiceIdentifier"])
        self._complete_lines(identifier, document.lines, created=created)
        key = {"dataAreaId": self.company, "InvoiceIdentifier": identifier}

        def posted_header() -> Raw | None:
            again = self._one_header(document.number)
            return again if again is not None and again["IsPosted"] == "Yes" else None

        return create_once(
            posted_header,
            lambda: odata.act(self.client, "headers", key, "PostInvoice", {}),
            known_absent=True,
        )

    def _complete_lines(self, identifier: str, lines: Sequence[Raw], *, created: bool) -> None:
        """Create the lines the header lacks; a header this call ``created`` has none yet (a
        header found again, after a lost reply or an earlier attempt, is read first)."""
        if created:
            have: set[float] = set()
        else:
            rows = self._rows("lines", f"InvoiceIdentifier eq {quoted(identifier)}")
            have = {float(str(row["LineNumber"])) for row in rows}
        for line in lines:
            number = float(str(line["LineNumber"]))
            if number not in have:
                self._create_line(identifier, number, {**line, "InvoiceIdentifier": identifier})

    def _create_line(self, identifier: str, number: float, body: Raw) -> None:
        def found() -> float | None:
            rows = self._rows("lines", f"InvoiceIdentifier eq {quoted(identifier)}")
            return number if number in {float(str(r["LineNumber"])) for r in rows} else None

        create_once(found, lambda: odata.create(self.client, "lines", body), known_absent=True)

    def settle(self, credit_note: str, invoice: str, amount: Decimal, on: date) -> Decimal:
        """Settle ``amount`` of a posted credit note against an invoice; the amount settled.

        F&O keeps no key for a settlement: a replay is recognised when the credit note has no
        credit left and its last settlement names this invoice (so a settlement is applied whole,
        once); a lost reply is resolved by reading the credit note again."""
        before = self.transactions([credit_note, invoice])
        credit, debit = before.get(credit_note), before.get(invoice)
        if credit is None or debit is None:
            missing = credit_note if credit is None else invoice
            raise RecordError(f"{VENDOR}: {missing} is not posted in {self.company}", vendor=VENDOR)
        if remaining(credit) == 0 and credit["LastSettleVoucher"] == debit["Voucher"]:
            return amount
        headers = self._rows("headers", f"InvoiceId eq {quoted(credit_note)}")
        if not headers:
            raise RecordError(f"{VENDOR}: credit note {credit_note} has no header", vendor=VENDOR)
        key = {
            "dataAreaId": self.company,
            "InvoiceIdentifier": str(headers[0]["InvoiceIdentifier"]),
        }
        body = {"InvoiceId": invoice, "Amount": float(amount), "SettlementDate": day(on)}
        try:
            odata.act(self.client, "headers", key, "SettleWithInvoice", body)
        except RetryableError:
            after = self.transactions([credit_note]).get(credit_note)
            moved = (
                money(after, "SettleAmountCur") - money(credit, "SettleAmountCur") if after else 0
            )
            if -moved < amount:
                raise
        return amount


def _refusal(number: str, refused: RecordError) -> RecordError:
    reason = str(refused.details or refused)
    return RecordError(
        f"{VENDOR} refused {number}: {reason}",
        vendor=VENDOR,
        status=refused.status,
        details=reason,
        body=refused.body,
    )


def _unmatched(header: Raw) -> SchemaDriftError:
    return SchemaDriftError(
        f"{VENDOR}: {header.get('ExternalInvoiceId')} was posted as {header.get('InvoiceId')} "
        "but no customer transaction was found; look it up again",
        vendor=VENDOR,
        details=header,
    )


# --- what a posted document and a read page become ------------------------------------------


def with_documents(poster: Poster, company: str, page: list[Raw]) -> list[Raw]:
    """Each invoice transaction of ``page`` with its free text invoice's header and lines."""
    headers = poster.by_invoice_id([str(r["Invoice"]) for r in page])
    lines = poster.lines([str(h["InvoiceIdentifier"]) for h in headers.values()])
    joined = []
    for row in page:
        header = headers.get(str(row["Invoice"]))
        identifier = str(header["InvoiceIdentifier"]) if header else ""
        joined.append({**row, "Header": header, "Lines": lines.get(identifier, [])})
    return joined


def debit(transaction: Raw) -> bool:
    return mapping.money(transaction, "AmountCur") > 0


def status(transaction: Raw) -> str:
    return "Open" if mapping.remaining(transaction) != 0 else "Closed"


def posted_invoice(company: str, number: str, transaction: Raw) -> PostedInvoice:
    return PostedInvoice(
        invoice_id=qualified(company, str(transaction["Invoice"])),
        number=number,
        status=status(transaction),
        total=mapping.money(transaction, "AmountCur"),
        amount_due=mapping.remaining(transaction),
    )


def posted_note(company: str, number: str, transaction: Raw) -> PostedCreditNote:
    return PostedCreditNote(
        credit_note_id=qualified(company, str(transaction["Invoice"])),
        number=number,
        status=status(transaction),
        total=-mapping.money(transaction, "AmountCur"),
        remaining_credit=-mapping.remaining(transaction),
    )
