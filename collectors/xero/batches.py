"""Batches of up to 50 documents: one Idempotency-Key per request, per-document outcomes, and a
batch refused as a whole sent again without the documents Xero named."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Generic, TypeVar

from collectors.erp import PostedCreditNote, PostedInvoice
from collectors.errors import RecordError, SchemaDriftError
from collectors.xero.mapping import VENDOR

MAX_BATCH = 50
MAX_IDEMPOTENCY_KEY = 128
T = TypeVar("T")
Batch = list[tuple[str, dict[str, Any]]]  # (idempotency key, document) pairs


def batch_key(keys: Sequence[str]) -> str:
    """The ``Idempotency-Key`` of a request carrying documents with these keys: a document's own
    key when it travels alone, else a digest of the batch (order does not matter)."""
    if len(keys) == 1:
        return keys[0][:MAX_IDEMPOTENCY_KEY]
    digest = hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()
    return f"p2c-batch-{len(keys)}-{digest}"


def _chunks(items: list[T], size: int) -> Iterator[list[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _match(elements: Any, chunk: Batch, number_field: str) -> list[dict[str, Any] | None]:
    """The reply element for each document sent: by position, checked (or found) by number."""
    if not isinstance(elements, list):
        return [None] * len(chunk)
    by_number = {
        str(e.get(number_field)): e for e in elements if isinstance(e, dict) and e.get(number_field)
    }
    matched: list[dict[str, Any] | None] = []
    for i, (_, sent) in enumerate(chunk):
        number = sent.get(number_field)
        element = elements[i] if i < len(elements) and isinstance(elements[i], dict) else None
        if number and (element is None or element.get(number_field) != number):
            element = by_number.get(str(number))
        matched.append(element)
    return matched


def _outcome(
    sent: dict[str, Any],
    element: dict[str, Any] | None,
    number_field: str,
    parse: Callable[[dict[str, Any]], T],
) -> T | RecordError:
    number = sent.get(number_field)
    if element is None:
        return SchemaDriftError(
            f"xero reply has no element for {number}; whether it was created is unknown",
            vendor=VENDOR,
        )
    if element.get("HasErrors") or element.get("ValidationErrors"):
        reasons = "; ".join(e.get("Message", "") for e in element.get("ValidationErrors") or [])
        return RecordError(
            f"xero refused {number}: {reasons}", vendor=VENDOR, status=200, details=reasons
        )
    try:
        return parse(element)
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        return SchemaDriftError(
            f"xero reply for {number} cannot be read: {exc!r}", vendor=VENDOR, details=element
        )


def _reasons(refused: RecordError, number_field: str) -> dict[str, str]:
    """Xero's reasons per document number, from a 400's ``Elements``."""
    elements = refused.body.get("Elements") if isinstance(refused.body, dict) else None
    reasons: dict[str, str] = {}
    for element in elements if isinstance(elements, list) else []:
        if isinstance(element, dict) and element.get(number_field):
            messages = [v.get("Message", "") for v in element.get("ValidationErrors") or []]
            reasons[str(element[number_field])] = "; ".join(messages) or "refused"
    return reasons


def _refusal(number: str, text: str, refused: RecordError) -> RecordError:
    return RecordError(
        f"xero refused {number}: {text}", vendor=VENDOR, status=refused.status, details=text
    )


def _amount(element: dict[str, Any], field: str) -> Decimal:
    return Decimal(str(element.get(field, 0)))


def _echoed(
    element: dict[str, Any], id_field: str, number_field: str
) -> tuple[str, str, str, Decimal]:
    """A posted document's id, number, status and total, as Xero echoes them."""
    number, status = element.get(number_field, ""), element.get("Status", "")
    return str(element[id_field]), str(number), str(status), _amount(element, "Total")


def _posted(element: dict[str, Any]) -> PostedInvoice:
    echoed = _echoed(element, "InvoiceID", "InvoiceNumber")
    return PostedInvoice(*echoed, amount_due=_amount(element, "AmountDue"))


def _posted_credit_note(element: dict[str, Any]) -> PostedCreditNote:
    echoed = _echoed(element, "CreditNoteID", "CreditNoteNumber")
    remaining = _amount(element, "RemainingCredit") if "RemainingCredit" in element else None
    return PostedCreditNote(*echoed, remaining_credit=remaining)


@dataclass(frozen=True)
class Kind(Generic[T]):
    """A kind of document posted in batches: its collection, the field that numbers it, and how
    a created one is read from the reply."""

    collection: str
    number_field: str
    parse: Callable[[dict[str, Any]], T]


INVOICES = Kind("Invoices", "InvoiceNumber", _posted)
CREDIT_NOTES = Kind("CreditNotes", "CreditNoteNumber", _posted_credit_note)


def put_batches(
    put: Callable[[Batch], Any], kind: Kind[T], documents: Batch, size: int
) -> list[T | RecordError]:
    """``documents`` sent in batches of ``size`` (``put`` sends one and returns the reply); one
    outcome per document, in order: what Xero created, or a ``RecordError`` with its reasons."""
    results: list[T | RecordError] = []
    for chunk in _chunks(documents, size):
        try:
            body = put(chunk)
        except RecordError as refused:  # the request as a whole was refused
            outcomes = _after_refusal(put, kind, chunk, refused, size)
            results.extend(outcomes)
            continue
        elements = body.get(kind.collection) if isinstance(body, dict) else None
        matched = _match(elements, chunk, kind.number_field)
        for (_, sent), element in zip(chunk, matched, strict=True):
            results.append(_outcome(sent, element, kind.number_field, kind.parse))
    return results


def _after_refusal(
    put: Callable[[Batch], Any], kind: Kind[T], chunk: Batch, refused: RecordError, size: int
) -> list[T | RecordError]:
    """A 400 for a whole batch saved nothing. The documents Xero named are refused with their
    reasons; the others were only held back by them, so they are sent again without them."""
    reasons = _reasons(refused, kind.number_field)
    numbers = [str(document.get(kind.number_field)) for _, document in chunk]
    named = [number in reasons for number in numbers]
    if not any(named) or all(named):
        text = str(refused.details or refused)
        return [_refusal(number, reasons.get(number, text), refused) for number in numbers]
    innocent = [pair for pair, bad in zip(chunk, named, strict=True) if not bad]
    sent_again = put_batches(put, kind, innocent, size)
    resent = iter(sent_again)
    return [
        _refusal(number, reasons[number], refused) if bad else next(resent)
        for number, bad in zip(numbers, named, strict=True)
    ]
