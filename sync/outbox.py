"""Outbox delivery: every side effect on a vendor, posted at most once, to the right books.

Each due item is first routed to the Xero organisation (tenant) of its legal entity
(``sync.tenancy``): an invoice to its customer's, a credit note to the one its invoice went to.
The tenant is kept in the item's payload, so it is resolved once; an item whose customer has no
resolvable organisation is refused as ``no_legal_entity`` with its value at risk, never posted to
the wrong books. Credit notes are delivered by ``sync.outbox_credit_notes``.

Due invoices are delivered per tenant in batches of up to 50 (one ``PUT /Invoices`` each, with
``summarizeErrors=false``, so a refused invoice does not hold back the rest of its batch). Items
are marked as attempted (attempts + 1, committed) *before* they are sent, so an attempted item
whose outcome was never recorded is first looked up by number; the batch's ``Idempotency-Key``
(derived from its invoices' keys) covers the same gap inside Xero. A refusal (validation) is an
exception with the value at risk; a transient failure is retried later with backoff; after too
many attempts the item is dead-lettered. A fatal error (credentials, configuration) takes back
the attempts of the items it left unsettled.

Batches start at one invoice and double after every batch that got a definite reply (1, 2, 4 … 50),
falling back to one after a batch whose fate is unknown, so a lost reply leaves as few invoices
as possible waiting on a look-up.

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
from collectors.errors import FatalError, RecordError, RetryableError, SchemaDriftError
from collectors.xero import MAX_BATCH, PostedInvoice, invoice_body
from sync import outbox_credit_notes
from sync.flows.context import FlowContext, FlowResult
from sync.outbox_outcomes import FLOW, Document, describe, key, refused, retry_later
from sync.store import outbox as queue
from sync.store.db import transaction
from sync.store.repo import link, resolve_problems
from sync.store.tables import CompensationRow, CustomerRow, InvoiceRow, OutboxRow
from sync.store.vocabulary import ExceptionCategory, InvoiceStatus, OutboxKind
from sync.telemetry import record_events, tracer
from sync.tenancy import Contact, Tenancy, remember

FIRST_BATCH = 1
CENT = Decimal("0.01")
__all__ = ["FLOW", "deliver_batch", "run"]


def run(ctx: FlowContext, *, limit: int = 500) -> FlowResult:
    result = FlowResult()
    with ctx.sessions() as session:
        items = queue.due(session, limit=limit)
    if not items:
        return result
    with ctx.xero.client() as client:
        tenancy = Tenancy(ctx.xero, client, ctx.settings.xero, ctx.sessions)
        for tenant, group in _route(ctx, tenancy, items, result).items():
            invoices = [item for item in group if item.kind == OutboxKind.INVOICE_CREATE]
            notes = [item for item in group if item.kind == OutboxKind.CREDIT_NOTE_CREATE]
            if invoices:
                result.add(_deliver_tenant(ctx, tenancy, tenant, invoices))
            if notes:
                result.add(outbox_credit_notes.deliver(ctx, tenancy, tenant, notes))
    return result


def _route(
    ctx: FlowContext, tenancy: Tenancy, items: list[OutboxRow], result: FlowResult
) -> dict[str, list[OutboxRow]]:
    """Items by the tenant they go to; the tenants found are kept in the items' payloads."""
    routes: dict[str, list[OutboxRow]] = {}
    found: list[tuple[OutboxRow, str]] = []
    busy = False
    for item in items:
        tenant = (item.payload or {}).get("tenant_id")
        if not tenant:
            if busy:
                continue
            try:
                tenant = _resolve(ctx, tenancy, item)
            except RetryableError:
                busy = True  # Xero is busy: route the rest next time, no attempt spent
                continue
            if tenant is None:
                result.exceptions += 1
                continue
            found.append((item, tenant))
        routes.setdefault(str(tenant), []).append(item)
    if found:
        with transaction(ctx.sessions) as session:
            for item, tenant in found:
                queue.route(session, item, tenant)
    return routes


def _resolve(ctx: FlowContext, tenancy: Tenancy, item: OutboxRow) -> str | None:
    """The tenant of one item, or ``None`` once it has been refused."""
    with ctx.sessions() as session:
        document: Document | None = (
            session.get(InvoiceRow, item.aggregate_id)
            if item.kind == OutboxKind.INVOICE_CREATE
            else session.get(CompensationRow, item.aggregate_id)
        )
        customer = session.get(CustomerRow, document.customer_id) if document else None
        if isinstance(document, CompensationRow):  # a credit note goes where its invoice went
            posted_to = queue.invoice_tenant(session, document.invoice_id)
            if posted_to is not None:
                return posted_to
    if document is None or customer is None:
        with transaction(ctx.sessions) as session:
            refused(
                session,
                item,
                ExceptionCategory.MISSING_REFERENCE,
                f"Document {item.aggregate_id} or its customer is missing from the store.",
                moment=ctx.clock(),
            )
        return None
    resolution = tenancy.for_customer(customer, document.contract_id)
    if resolution.tenant_id is None:
        with transaction(ctx.sessions) as session:
            refused(
                session,
                item,
                ExceptionCategory.NO_LEGAL_ENTITY,
                f"{describe(document).capitalize()} was not posted: {resolution.reason}",
                document,
                moment=ctx.clock(),
            )
    return resolution.tenant_id


def _deliver_tenant(
    ctx: FlowContext, tenancy: Tenancy, tenant: str, items: list[OutboxRow]
) -> FlowResult:
    result = FlowResult()
    size = FIRST_BATCH
    ceiling = max(1, min(ctx.settings.xero.batch_size, MAX_BATCH))
    while items:
        batch, items = items[:size], items[size:]
        with tracer.start_as_current_span(
            "outbox deliver",
            attributes={
                "outbox.ids": [item.id for item in batch],
                "kind": batch[0].kind,
                "batch.size": len(batch),
                "attempt": max(item.attempts for item in batch) + 1,
            },
        ):
            delivered, certain = deliver_batch(ctx, tenancy, tenant, batch)
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
    ctx: FlowContext, tenancy: Tenancy, tenant: str, items: Sequence[OutboxRow]
) -> tuple[int, bool]:
    """Deliver up to 50 items to one tenant in one request (plus look-ups and contacts).

    Returns how many the vendor holds afterwards, and whether every outcome is certain.
    """
    pending = _mark_attempted(ctx, items)
    unsettled = {p.item.id: p for p in pending}
    try:
        return _settle(ctx, tenancy, tenant, pending, unsettled)
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
    tenancy: Tenancy,
    tenant: str,
    pending: list[_Pending],
    unsettled: dict[int, _Pending],
) -> tuple[int, bool]:
    delivered = 0
    # an earlier attempt may have reached Xero: look before posting
    earlier = [p for p in pending if p.item.attempts > 0]
    if earlier:
        try:
            found = ctx.xero.find_invoices(
                tenancy.client, tenant, [p.invoice.number for p in earlier]
            )
        except RetryableError as exc:
            _settled(ctx, list(unsettled.values()), unsettled, retry=str(exc))
            return 0, False
        for p in earlier:
            if p.invoice.number in found:
                _settled(ctx, [p], unsettled, posted=found[p.invoice.number])
                delivered += 1
    sendable = _bodies(ctx, tenancy, tenant, unsettled)
    if not sendable:
        return delivered, True
    try:
        outcomes = ctx.xero.post_invoices(
            tenancy.client, tenant, [(p.item.idempotency_key, body) for p, body in sendable]
        )
    except RetryableError as exc:
        _settled(ctx, [p for p, _ in sendable], unsettled, retry=str(exc))
        return delivered, False
    certain = True
    for (p, _), outcome in zip(sendable, outcomes, strict=True):
        if isinstance(outcome, PostedInvoice):
            _settled(ctx, [p], unsettled, posted=outcome)
            delivered += 1
        elif isinstance(outcome, SchemaDriftError):  # fate unknown: look it up next time
            certain = False
            _settled(ctx, [p], unsettled, retry=str(outcome))
        else:
            _settled(ctx, [p], unsettled, rejected=outcome)
    return delivered, certain


def _bodies(
    ctx: FlowContext, tenancy: Tenancy, tenant: str, unsettled: dict[int, _Pending]
) -> list[tuple[_Pending, dict[str, object]]]:
    """The request body of every unsettled item whose customer has a contact in ``tenant``; the
    contacts found or created are remembered, and items that got none are settled."""
    sendable: list[tuple[_Pending, dict[str, object]]] = []
    found: list[tuple[str, Contact]] = []
    for p in list(unsettled.values()):
        try:
            contact = tenancy.contact(tenant, p.customer)
        except RecordError as exc:
            _settled(ctx, [p], unsettled, rejected=exc)
            continue
        except RetryableError as exc:
            _settled(ctx, [p], unsettled, retry=str(exc))
            continue
        if contact.new:
            found.append((p.customer.id, contact))
        body = invoice_body(
            invoice_from_row(p.invoice),
            contact_id=contact.contact_id,
            account_code=ctx.settings.xero.sales_account_code,
        )
        sendable.append((p, body))
    if found:
        with transaction(ctx.sessions) as session:
            for customer_id, contact in found:
                remember(session, customer_id, contact, moment=ctx.clock())
    return sendable


def _settled(
    ctx: FlowContext,
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
                _posted(session, ctx, p.item, p.invoice, posted)
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
                    f"Xero refused invoice {p.invoice.number}: {rejected.details or rejected}. "
                    "Fix the data and replay.",
                    p.invoice,
                    moment=ctx.clock(),
                )


def _posted(
    session: Session, ctx: FlowContext, item: OutboxRow, row: InvoiceRow, posted: PostedInvoice
) -> None:
    """Xero holds the invoice: the item is delivered, the invoice posted, linked and announced."""
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
    link(session, "invoice", [(row.id, "xero", posted.invoice_id)])
    resolve_problems(session, FLOW, [key(item)], note=f"posted as {posted.invoice_id}")
    record_events(
        session,
        "invoice.posted",
        "invoice",
        [(row.id, moment)],
        attributes={
            "number": row.number,
            "xero_invoice_id": posted.invoice_id,
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
