"""Credit note delivery: a compensating credit note goes to the ERP its invoice went to, then
onto that invoice.

Credit notes are few (one per time entry changed after invoicing), so each travels alone. As with
invoices, an item is marked attempted before it is sent, and an attempted one is first looked up
by number (``find_credit_notes``); the document's key comes from the compensation's (invoice,
entry, version), so a lost reply is settled by the ERP's at-most-once post, not credited twice.

A credit note waits (no attempt spent) until its invoice is in the ERP: there is nothing to
credit before. Once created it is applied to the original invoice (``apply_credit_note``, a key
of its own) for as much as the invoice still has due. When the ERP refuses (the invoice was paid
or voided meanwhile), the credit note stays unapplied, as credit on the customer's account for a
refund or a later invoice, and its ``credit_note.unallocated`` event says so.

The delivery loop here owns the transactions, as for invoices: none is open while an ERP is
called.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import update
from sqlalchemy.orm import Session

from collectors.entities import InvoiceLine
from collectors.erp import CreditApplication, CreditNoteDocument, PostedCreditNote
from collectors.errors import FatalError, RecordError, RetryableError, SchemaDriftError
from sync.books import Books, CompanyBooks, remember
from sync.flows.context import FlowContext, FlowResult
from sync.outbox_outcomes import FLOW, key, refused, retry_later
from sync.store import outbox as queue
from sync.store.db import transaction
from sync.store.outbox import Route
from sync.store.repo import external_id, link, now, resolve_problems
from sync.store.tables import CompensationRow, CustomerRow, InvoiceRow, OutboxRow
from sync.store.vocabulary import CompensationStatus, ExceptionCategory
from sync.telemetry import record_events, tracer

WAIT = timedelta(minutes=5)
CENT = Decimal("0.01")


@dataclass(frozen=True)
class _Note:
    item: OutboxRow
    row: CompensationRow
    invoice: InvoiceRow
    customer: CustomerRow
    erp_invoice: str | None  # the invoice's id in the ERP, once it is posted


def deliver(ctx: FlowContext, books: Books, route: Route, items: list[OutboxRow]) -> FlowResult:
    """Deliver due credit notes to one ERP company; notes whose invoice is not posted yet wait."""
    result = FlowResult()
    to = books.at(route)
    for item in items:
        with tracer.start_as_current_span(
            "outbox deliver",
            attributes={
                "outbox.ids": [item.id],
                "kind": item.kind,
                "batch.size": 1,
                "attempt": item.attempts + 1,
            },
        ):
            delivered = _deliver_one(ctx, books, to, item)
        if delivered is not None:
            result.records_in += 1
            result.records_out += int(delivered)
            result.exceptions += int(not delivered)
    return result


def _load(ctx: FlowContext, erp: str, item: OutboxRow) -> _Note | None:
    with ctx.sessions() as session:
        row = session.get(CompensationRow, item.aggregate_id)
        if row is None:
            return None
        invoice = session.get(InvoiceRow, row.invoice_id)
        customer = session.get(CustomerRow, row.customer_id)
        posted_as = external_id(session, "invoice", row.invoice_id, erp)
    if invoice is None or customer is None:
        return None
    return _Note(item, row, invoice, customer, posted_as)


def _deliver_one(ctx: FlowContext, books: Books, to: CompanyBooks, item: OutboxRow) -> bool | None:
    """``True`` once the ERP holds the note, ``False`` when it was not delivered, ``None`` when
    it waits for its invoice (no attempt spent)."""
    note = _load(ctx, to.route.erp, item)
    if note is None:
        with transaction(ctx.sessions) as session:
            return refused(
                session,
                item,
                ExceptionCategory.MISSING_REFERENCE,
                f"Credit note {item.aggregate_id}, its invoice or its customer is missing.",
                moment=ctx.clock(),
            )
    if note.erp_invoice is None:
        with transaction(ctx.sessions) as session:
            queue.hold(
                session, item.id, now() + WAIT, "waiting for the invoice it credits to be posted"
            )
        return None
    attempt = item.attempts + 1
    with transaction(ctx.sessions) as session:
        queue.attempted(session, [item.id])
    try:
        outcome = _find_or_post(ctx, books, to, note, earlier=item.attempts > 0)
        if isinstance(outcome, SchemaDriftError):  # fate unknown: look it up next time
            return _retry(ctx, note, attempt, str(outcome))
        if isinstance(outcome, RecordError):
            return _rejected(ctx, to, note, outcome)
        with transaction(ctx.sessions) as session:
            _posted(session, ctx, to.route.erp, note, outcome)
        allocation = _allocate(ctx, to, note, outcome)
    except FatalError:
        with transaction(ctx.sessions) as session:
            queue.unattempted(session, [item.id])
        raise
    except RetryableError as exc:
        return _retry(ctx, note, attempt, str(exc))
    with transaction(ctx.sessions) as session:
        _delivered(session, ctx, note, outcome, allocation)
    return True


def _retry(ctx: FlowContext, note: _Note, attempt: int, error: str) -> bool:
    with transaction(ctx.sessions) as session:
        return retry_later(
            session,
            note.item,
            attempt,
            error,
            note.row,
            billing=ctx.settings.billing,
            moment=ctx.clock(),
        )


def _rejected(ctx: FlowContext, to: CompanyBooks, note: _Note, error: RecordError) -> bool:
    with transaction(ctx.sessions) as session:
        return refused(
            session,
            note.item,
            ExceptionCategory.ERP_REJECTED,
            f"{to.erp.label} refused credit note {note.row.number}: {error.details or error}. "
            "Fix the data and replay.",
            note.row,
            moment=ctx.clock(),
        )


def _find_or_post(
    ctx: FlowContext, books: Books, to: CompanyBooks, note: _Note, *, earlier: bool
) -> PostedCreditNote | RecordError:
    number = note.row.number or note.row.id
    company = to.route.company
    if earlier:  # an earlier attempt may have reached the ERP: look before posting
        found = to.erp.find_credit_notes(to.client, company, [number]).get(number)
        if found is not None:
            return found
    customer = books.customer(to.route, note.customer)
    if customer.new:
        with transaction(ctx.sessions) as session:
            remember(session, note.customer.id, customer, moment=ctx.clock())
    line = InvoiceLine(
        description=f"Credit: {note.row.reason}",
        quantity=note.row.quantity,
        unit_amount=note.row.rate,
        amount=Decimal(note.row.amount).quantize(CENT),
    )
    assert note.erp_invoice is not None  # a note waits until its invoice is posted
    document = CreditNoteDocument(
        key=note.item.idempotency_key,
        number=number,
        customer_ref=customer.customer_ref,
        invoice_number=note.invoice.number,
        invoice_ref=note.erp_invoice,
        issued=note.row.issue_date,
        currency=note.row.currency,
        lines=(line,),
    )
    (outcome,) = to.erp.post_credit_notes(to.client, company, [document])
    return outcome


def _posted(
    session: Session, ctx: FlowContext, erp: str, note: _Note, posted: PostedCreditNote
) -> None:
    """The ERP holds the credit note: recorded at once (and announced once), before applying
    it."""
    moment = ctx.clock()
    changed = session.execute(
        update(CompensationRow)
        .where(
            CompensationRow.id == note.row.id, CompensationRow.status != CompensationStatus.POSTED
        )
        .values(
            status=CompensationStatus.POSTED,
            external_id=posted.credit_note_id,
            posted_at=moment,
            updated_at=moment,
        )
    )
    link(session, "credit_note", [(note.row.id, erp, posted.credit_note_id)])
    if changed.rowcount:  # type: ignore[attr-defined]
        record_events(
            session,
            "credit_note.posted",
            "credit_note",
            [(note.row.id, moment)],
            attributes={
                "number": note.row.number,
                "invoice_id": note.row.invoice_id,
                "erp": erp,
                "erp_credit_note_id": posted.credit_note_id,
                "total": str(posted.total),
                "currency": note.row.currency,
            },
        )


@dataclass(frozen=True)
class _Allocation:
    """How much of a credit note is allocated to its invoice, and why not more; ``amount_due``
    is what the invoice has due after an allocation made now (``None``: none made now)."""

    allocated: Decimal
    why: str
    amount_due: Decimal | None = None


def _allocate(
    ctx: FlowContext, to: CompanyBooks, note: _Note, posted: PostedCreditNote
) -> _Allocation:
    """Allocate what is left of the credit to the invoice, up to what it still has due."""
    total = Decimal(note.row.amount).quantize(CENT)
    remaining = posted.remaining_credit if posted.remaining_credit is not None else total
    already = total - remaining
    due = Decimal(note.invoice.amount_due if note.invoice.amount_due is not None else total)
    amount = min(remaining, due)
    if amount <= 0:
        why = "nothing left due on the invoice" if remaining > 0 else "already allocated"
        return _Allocation(already, why)
    assert note.erp_invoice is not None
    try:
        application = CreditApplication(
            key=f"{note.item.idempotency_key}-allocation",
            credit_note_id=posted.credit_note_id,
            invoice_id=note.erp_invoice,
            amount=amount,
            on=ctx.today(),
        )
        applied = to.erp.apply_credit_note(to.client, to.route.company, application)
    except RecordError as exc:
        return _Allocation(already, f"left unallocated: {exc.details or exc}")
    return _Allocation(
        already + applied, f"allocated to invoice {note.invoice.number}", due - applied
    )


def _delivered(
    session: Session,
    ctx: FlowContext,
    note: _Note,
    posted: PostedCreditNote,
    allocation: _Allocation,
) -> None:
    moment = ctx.clock()  # business time; the outbox's own stamps keep the wall clock's
    queue.delivered(session, note.item.id, posted.credit_note_id)
    if allocation.amount_due is not None:
        session.execute(
            update(InvoiceRow)
            .where(InvoiceRow.id == note.invoice.id)
            .values(amount_due=allocation.amount_due, updated_at=moment)
        )
    session.execute(
        update(CompensationRow)
        .where(CompensationRow.id == note.row.id)
        .values(allocated=allocation.allocated, updated_at=moment)
    )
    record_events(
        session,
        "credit_note.allocated" if allocation.allocated > 0 else "credit_note.unallocated",
        "credit_note",
        [(note.row.id, moment)],
        attributes={
            "number": note.row.number,
            "amount": str(allocation.allocated),
            "note": allocation.why,
        },
    )
    resolve_problems(
        session,
        FLOW,
        [key(note.item)],
        note=f"posted as {posted.credit_note_id}; {allocation.why}",
    )
