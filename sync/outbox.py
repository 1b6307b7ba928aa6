"""Outbox delivery: every side effect on a vendor, posted at most once, to the right books.

Each due item is first routed to the ERP and company of its legal entity (``sync.books``,
``sync.outbox_routes``): an invoice to its customer's, a credit note to the books its invoice
went to. The route is kept in
the item's payload, so it is resolved once; an item whose customer has no resolvable books is
refused as ``no_legal_entity`` with its value at risk, never posted to the wrong books. The ERPs
are reached only through ``collectors.erp.Erp``. Credit notes are delivered by
``sync.outbox_credit_notes``.

Due invoices are delivered per route in batches of up to the ERP's ``max_batch`` (one
``post_invoices`` each, in which a refused invoice does not hold back the rest). Items are marked
as attempted (attempts + 1, committed) *before* they are sent, so an attempted item whose outcome
was never recorded is first looked up by number; the ERP's own at-most-once post (an idempotency
key, an upsert by external id, a look-up before create) covers the same gap inside it. A refusal
(validation) is an exception with the value at risk; a transient failure is retried later with
backoff; after too many attempts the item is dead-lettered. A fatal error (credentials,
configuration) takes back the attempts of the items it left unsettled.

Batches start at one invoice and double after every batch that got a definite reply (1, 2, 4 … up
to ``max_batch``), falling back to one after a batch whose fate is unknown, so a lost reply leaves
as few invoices as possible waiting on a look-up.

This module decides where transactions begin and end: one to mark a batch attempted, one per
outcome, none open while a vendor is called. What happens to a document (``posted_at``,
``updated_at``, its business events) is stamped with the engine's clock (``ctx.clock``); the
outbox's own machinery (due times, backoff, ``delivered_at``) runs on the wall clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from collectors.entities import Invoice, InvoiceLine
from collectors.erp import InvoiceDocument, PostedInvoice
from collectors.errors import FatalError, RecordError, RetryableError, SchemaDriftError
from sync import outbox_credit_notes
from sync.books import Books, CompanyBooks, ErpCustomer, remember
from sync.flows.context import FlowContext, FlowResult
from sync.outbox_outcomes import FLOW, key, refused, retry_later
from sync.outbox_routes import routed
from sync.store import outbox as queue
from sync.store.db import transaction
from sync.store.outbox import Route
from sync.store.repo import link, resolve_problems
from sync.store.tables import CustomerRow, InvoiceRow, OutboxRow
from sync.store.vocabulary import ExceptionCategory, InvoiceStatus, OutboxKind
from sync.telemetry import record_events, tracer

FIRST_BATCH = 1
CENT = Decimal("0.01")
__all__ = ["FLOW", "deliver_batch", "run"]


def run(ctx: FlowContext, *, limit: int = 500) -> FlowResult:
    result = FlowResult()
    with ctx.sessions() as session:
        items = queue.due(session, limit=limit)
    if not items:
        return result
    with Books(ctx.erps, ctx.settings.erp, ctx.sessions) as books:
        for route, group in routed(ctx, books, items, result).items():
            invoices = [item for item in group if item.kind == OutboxKind.INVOICE_CREATE]
            notes = [item for item in group if item.kind == OutboxKind.CREDIT_NOTE_CREATE]
            if invoices:
                result.add(_deliver_route(ctx, books, route, invoices))
            if notes:
                result.add(outbox_credit_notes.deliver(ctx, books, route, notes))
    return result


def _deliver_route(
    ctx: FlowContext, books: Books, route: Route, items: list[OutboxRow]
) -> FlowResult:
    result = FlowResult()
    size = FIRST_BATCH
    ceiling = max(1, ctx.erps[route.erp].max_batch)
    while items:
        batch, items = items[:size], items[size:]
        with tracer.start_as_current_span(
            "outbox deliver",
            attributes={
                "outbox.ids": [item.id for item in batch],
                "kind": batch[0].kind,
                "batch.size": len(batch),
                "attempt": max(item.attempts for item in batch) + 1,
                "erp": route.erp,
            },
        ):
            delivered, certain = deliver_batch(ctx, books, route, batch)
        size = min(ceiling, size * 2) if certain else FIRST_BATCH
        result.records_in += len(batch)
        result.records_out += delivered
        result.exceptions += len(batch) - delivered
    return result


@dataclass
class _Pending:
    item: OutboxRow
    invoice: InvoiceRow
    customer: CustomerRow


def deliver_batch(
    ctx: FlowContext, books: Books, route: Route, items: Sequence[OutboxRow]
) -> tuple[int, bool]:
    """Deliver up to ``max_batch`` items to one ERP company in one post (plus look-ups and
    customers).

    Returns how many the ERP holds afterwards, and whether every outcome is certain.
    """
    pending = _mark_attempted(ctx, items)
    unsettled = {p.item.id: p for p in pending}
    to = books.at(route)
    try:
        return _settle(ctx, books, to, pending, unsettled)
    except FatalError:
        with transaction(ctx.sessions) as session:
            queue.unattempted(session, list(unsettled))
        raise


def _mark_attempted(ctx: FlowContext, items: Sequence[OutboxRow]) -> list[_Pending]:
    """One attempt more on every item, committed before anything is sent; items whose invoice
    or customer is gone are refused."""
    pending: list[_Pending] = []
    with transaction(ctx.sessions) as session:
        queue.attempted(session, [item.id for item in items])
        for item in items:
            row = session.get(InvoiceRow, item.aggregate_id)
            customer = session.get(CustomerRow, row.customer_id) if row else None
            if row is None or customer is None:
                refused(
                    session,
                    item,
                    ExceptionCategory.MISSING_REFERENCE,
                    f"Invoice {item.aggregate_id} or its customer is missing from the store.",
                    moment=ctx.clock(),
                )
            else:
                pending.append(_Pending(item, row, customer))
    return pending


def _settle(
    ctx: FlowContext,
    books: Books,
    to: CompanyBooks,
    pending: list[_Pending],
    unsettled: dict[int, _Pending],
) -> tuple[int, bool]:
    delivered = 0
    # an earlier attempt may have reached the ERP: look before posting
    earlier = [p for p in pending if p.item.attempts > 0]
    if earlier:
        try:
            numbers = [p.invoice.number for p in earlier]
            found = to.erp.find_invoices(to.client, to.route.company, numbers)
        except RetryableError as exc:
            _settled(ctx, to, list(unsettled.values()), unsettled, retry=str(exc))
            return 0, False
        for p in earlier:
            if p.invoice.number in found:
                _settled(ctx, to, [p], unsettled, posted=found[p.invoice.number])
                delivered += 1
    sendable = _documents(ctx, books, to, unsettled)
    if not sendable:
        return delivered, True
    try:
        outcomes = to.erp.post_invoices(to.client, to.route.company, [d for _, d in sendable])
    except RetryableError as exc:
        _settled(ctx, to, [p for p, _ in sendable], unsettled, retry=str(exc))
        return delivered, False
    certain = True
    for (p, _), outcome in zip(sendable, outcomes, strict=True):
        if isinstance(outcome, PostedInvoice):
            _settled(ctx, to, [p], unsettled, posted=outcome)
            delivered += 1
        elif isinstance(outcome, SchemaDriftError):  # fate unknown: look it up next time
            certain = False
            _settled(ctx, to, [p], unsettled, retry=str(outcome))
        else:
            _settled(ctx, to, [p], unsettled, rejected=outcome)
    return delivered, certain


def _documents(
    ctx: FlowContext, books: Books, to: CompanyBooks, unsettled: dict[int, _Pending]
) -> list[tuple[_Pending, InvoiceDocument]]:
    """The document of every unsettled item whose customer has a record in the route's
    company; the records found or created are remembered, and items that got none are settled."""
    sendable: list[tuple[_Pending, InvoiceDocument]] = []
    found: list[tuple[str, ErpCustomer]] = []
    for p in list(unsettled.values()):
        try:
            customer = books.customer(to.route, p.customer)
        except RecordError as exc:
            _settled(ctx, to, [p], unsettled, rejected=exc)
            continue
        except RetryableError as exc:
            _settled(ctx, to, [p], unsettled, retry=str(exc))
            continue
        if customer.new:
            found.append((p.customer.id, customer))
        invoice = invoice_from_row(p.invoice)
        document = InvoiceDocument(p.item.idempotency_key, invoice, customer.customer_ref)
        sendable.append((p, document))
    if found:
        with transaction(ctx.sessions) as session:
            for customer_id, customer in found:
                remember(session, customer_id, customer, moment=ctx.clock())
    return sendable


def _settled(
    ctx: FlowContext,
    to: CompanyBooks,
    items: list[_Pending],
    unsettled: dict[int, _Pending],
    *,
    posted: PostedInvoice | None = None,
    retry: str | None = None,
    rejected: RecordError | None = None,
) -> None:
    """Record one outcome for ``items``, in one transaction; they are no longer unsettled."""
    with transaction(ctx.sessions) as session:
        for p in items:
            unsettled.pop(p.item.id, None)
            if posted is not None:
                _posted(session, ctx, to.route, p.item, p.invoice, posted)
            elif retry is not None:
                retry_later(
                    session,
                    p.item,
                    p.item.attempts + 1,
                    retry,
                    p.invoice,
                    billing=ctx.settings.billing,
                    moment=ctx.clock(),
                )
            elif rejected is not None:
                refused(
                    session,
                    p.item,
                    ExceptionCategory.ERP_REJECTED,
                    f"{to.erp.label} refused invoice {p.invoice.number}: "
                    f"{rejected.details or rejected}. Fix the data and replay.",
                    p.invoice,
                    moment=ctx.clock(),
                )


def _posted(
    session: Session,
    ctx: FlowContext,
    route: Route,
    item: OutboxRow,
    row: InvoiceRow,
    posted: PostedInvoice,
) -> None:
    """The ERP holds the invoice: the item is delivered, the invoice posted, linked and
    announced."""
    moment = ctx.clock()  # business time (the engine's clock); the outbox keeps the wall clock's
    queue.delivered(session, item.id, posted.invoice_id)
    session.execute(
        update(InvoiceRow)
        .where(InvoiceRow.id == row.id)
        .values(
            status=InvoiceStatus.POSTED,
            posted_at=moment,
            updated_at=moment,
            amount_due=posted.amount_due,
        )
    )
    link(session, "invoice", [(row.id, route.erp, posted.invoice_id)])
    resolve_problems(session, FLOW, [key(item)], note=f"posted as {posted.invoice_id}")
    record_events(
        session,
        "invoice.posted",
        "invoice",
        [(row.id, moment)],
        attributes={
            "number": row.number,
            "erp": route.erp,
            "erp_invoice_id": posted.invoice_id,
            "total": str(posted.total),
            "currency": row.currency,
        },
    )


def invoice_from_row(row: InvoiceRow) -> Invoice:
    """The canonical invoice behind a stored row, as it is delivered."""
    lines: list[dict[str, Any]] = row.lines
    return Invoice(
        id=row.id,
        number=row.number,
        source="plan2cash",
        source_id=row.id,
        updated_at=row.updated_at,
        customer_id=row.customer_id,
        contract_id=row.contract_id,
        currency=row.currency,
        period_start=row.period_start,
        period_end=row.period_end,
        issue_date=row.issue_date,
        due_date=row.due_date,
        lines=tuple(InvoiceLine.model_validate(line) for line in lines),
        total=Decimal(row.total).quantize(CENT),
        status="pending",
    )
