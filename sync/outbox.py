"""Outbox delivery: every side effect on a vendor, posted at most once, to the right books.

Each due item is first routed to the Xero organisation (tenant) of its legal entity
(``sync.tenancy``): an invoice to its customer's, a credit note to the one its invoice went to.
The tenant is kept in the item's payload, so it is resolved once; an item whose customer has no
resolvable organisation is refused as ``no_legal_entity`` with its value at risk, never posted to
the wrong books. Credit notes are delivered by ``sync.outbox_credit_notes``.

Due invoices are delivered per tenant in batches of up to 50 (one ``PUT /Invoices`` each, with
``summarizeErrors=false``, so a refused invoice does not hold back the rest of its batch). Items
are marked as attempted (attempts + 1, committed) *before* they are sent. So if the process dies
after Xero accepted a batch but before we recorded it, the next delivery sees attempted items and
first looks them up by number; the batch's ``Idempotency-Key`` (derived from its invoices' keys)
covers the same gap inside Xero. A refusal (validation) becomes an exception with the value at
risk; a transient failure is retried later with backoff; after too many attempts the item is
dead-lettered.

Batches start at one invoice and double after every batch that got a definite reply (1, 2, 4 … 50),
falling back to one after a batch whose fate is unknown: a lost reply then leaves as few invoices
as possible waiting on a look-up.

Two clocks: what happens to a document (``posted_at``, ``updated_at``, its business events) is
stamped with the engine's clock (``ctx.clock``: the sandbox's simulated time in the demo), so
cycle times are the firm's; the outbox's own machinery (due times, backoff, ``delivered_at``)
runs on the wall clock, as retries and leases do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import httpx
from sqlalchemy import select, update

from collectors.errors import FatalError, RecordError, RetryableError, SchemaDriftError
from collectors.xero import MAX_BATCH, PostedInvoice, XeroConnector, invoice_body
from sync import outbox_credit_notes
from sync.flows.compensation import OUTBOX_KIND as CREDIT_NOTE_KIND
from sync.flows.context import FlowContext, FlowResult
from sync.flows.invoicing import OUTBOX_KIND as INVOICE_KIND
from sync.flows.invoicing import invoice_from_row
from sync.outbox_outcomes import FLOW, Document, describe, key, refused, retry_later, unmark
from sync.store.db import transaction
from sync.store.repo import link, now, resolve_problems
from sync.store.tables import CompensationRow, CustomerRow, InvoiceRow, OutboxRow
from sync.telemetry import record_events, tracer
from sync.tenancy import Tenancy, contact_in

DUE = ("pending", "retrying")
KINDS = (INVOICE_KIND, CREDIT_NOTE_KIND)
FIRST_BATCH = 1
__all__ = ["FLOW", "deliver", "deliver_batch", "run"]


def run(ctx: FlowContext, *, limit: int = 500) -> FlowResult:
    result = FlowResult()
    with ctx.sessions() as session:
        items = list(
            session.scalars(
                select(OutboxRow)
                .where(
                    OutboxRow.kind.in_(KINDS),
                    OutboxRow.status.in_(DUE),
                    OutboxRow.next_attempt_at <= now(),
                )
                .order_by(OutboxRow.id)
                .limit(limit)
            )
        )
    if not items:
        return result
    with ctx.xero.client() as client:
        for tenant, group in _route(ctx, Tenancy(ctx, client), items, result).items():
            invoices = [item for item in group if item.kind == INVOICE_KIND]
            notes = [item for item in group if item.kind == CREDIT_NOTE_KIND]
            if invoices:
                result.add(_deliver_tenant(ctx, client, tenant, invoices))
            if notes:
                result.add(outbox_credit_notes.deliver(ctx, client, tenant, notes))
    return result


def _route(
    ctx: FlowContext, tenancy: Tenancy, items: list[OutboxRow], result: FlowResult
) -> dict[str, list[OutboxRow]]:
    """Items by the tenant they go to; the tenants found are kept in the items' payloads."""
    routes: dict[str, list[OutboxRow]] = {}
    found: dict[int, str] = {}
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
            found[item.id] = tenant
        routes.setdefault(str(tenant), []).append(item)
    if found:
        with transaction(ctx.sessions) as session:
            for item in items:
                if item.id in found:
                    item.payload = {**(item.payload or {}), "tenant_id": found[item.id]}
                    session.execute(
                        update(OutboxRow)
                        .where(OutboxRow.id == item.id)
                        .values(payload=item.payload)
                    )
    return routes


def _resolve(ctx: FlowContext, tenancy: Tenancy, item: OutboxRow) -> str | None:
    """The tenant of one item, or ``None`` once it has been refused."""
    with ctx.sessions() as session:
        document: Document | None = (
            session.get(InvoiceRow, item.aggregate_id)
            if item.kind == INVOICE_KIND
            else session.get(CompensationRow, item.aggregate_id)
        )
        customer = session.get(CustomerRow, document.customer_id) if document else None
        if isinstance(document, CompensationRow):  # a credit note goes where its invoice went
            posted_to = session.scalar(
                select(OutboxRow.payload).where(
                    OutboxRow.kind == INVOICE_KIND, OutboxRow.aggregate_id == document.invoice_id
                )
            )
            if isinstance(posted_to, dict) and posted_to.get("tenant_id"):
                return str(posted_to["tenant_id"])
    if document is None or customer is None:
        refused(
            ctx,
            item,
            "missing_reference",
            f"Document {item.aggregate_id} or its customer is missing from the store.",
        )
        return None
    resolution = tenancy.for_customer(customer, document.contract_id)
    if resolution.tenant_id is None:
        refused(
            ctx,
            item,
            "no_legal_entity",
            f"{describe(document).capitalize()} was not posted: {resolution.reason}",
            document,
        )
    return resolution.tenant_id


def _deliver_tenant(
    ctx: FlowContext, client: httpx.Client, tenant: str, items: list[OutboxRow]
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
            delivered, certain = deliver_batch(ctx, client, tenant, batch)
        size = min(ceiling, size * 2) if certain else FIRST_BATCH
        result.records_in += len(batch)
        result.records_out += delivered
        result.exceptions += len(batch) - delivered
    return result


def deliver(ctx: FlowContext, client: httpx.Client, tenant: str, item: OutboxRow) -> bool:
    """Deliver one item; ``True`` when the vendor holds the document afterwards."""
    return deliver_batch(ctx, client, tenant, [item])[0] == 1


@dataclass
class _Pending:
    item: OutboxRow
    invoice: InvoiceRow
    customer: CustomerRow


def deliver_batch(
    ctx: FlowContext, client: httpx.Client, tenant: str, items: Sequence[OutboxRow]
) -> tuple[int, bool]:
    """Deliver up to 50 items to one tenant in one request (plus look-ups and contacts).

    Returns how many the vendor holds afterwards, and whether every outcome is certain.
    """
    pending = _mark_attempted(ctx, items)
    unsettled = {p.item.id: p for p in pending}
    try:
        delivered, certain = _settle(ctx, client, tenant, pending, unsettled)
    except FatalError:
        unmark(ctx, list(unsettled))
        raise
    return delivered, certain


def _mark_attempted(ctx: FlowContext, items: Sequence[OutboxRow]) -> list[_Pending]:
    pending: list[_Pending] = []
    missing: list[OutboxRow] = []
    with transaction(ctx.sessions) as session:
        session.execute(
            update(OutboxRow)
            .where(OutboxRow.id.in_([item.id for item in items]))
            .values(attempts=OutboxRow.attempts + 1)
        )
        for item in items:
            row = session.get(InvoiceRow, item.aggregate_id)
            customer = session.get(CustomerRow, row.customer_id) if row else None
            if row is None or customer is None:
                missing.append(item)
            else:
                pending.append(_Pending(item, row, customer))
    for item in missing:
        refused(
            ctx,
            item,
            "missing_reference",
            f"Invoice {item.aggregate_id} or its customer is missing from the store.",
        )
    return pending


def _settle(
    ctx: FlowContext,
    client: httpx.Client,
    tenant: str,
    pending: list[_Pending],
    unsettled: dict[int, _Pending],
) -> tuple[int, bool]:
    xero: XeroConnector = ctx.xero
    delivered = 0
    # an earlier attempt may have reached Xero: look before posting
    earlier = [p for p in pending if p.item.attempts > 0]
    if earlier:
        try:
            found = xero.find_invoices(client, tenant, [p.invoice.number for p in earlier])
        except RetryableError as exc:
            _all_retry_later(ctx, list(unsettled.values()), str(exc), unsettled)
            return 0, False
        for p in earlier:
            if p.invoice.number in found:
                _posted(ctx, p.item, p.invoice, found[p.invoice.number])
                unsettled.pop(p.item.id)
                delivered += 1
    sendable: list[tuple[_Pending, dict[str, object]]] = []
    for p in list(unsettled.values()):
        try:
            contact_id = contact_in(ctx, client, tenant, p.customer)
        except RecordError as exc:
            _rejected(ctx, p, exc)
            unsettled.pop(p.item.id)
            continue
        except RetryableError as exc:
            retry_later(ctx, p.item, p.item.attempts + 1, str(exc), p.invoice)
            unsettled.pop(p.item.id)
            continue
        body = invoice_body(
            invoice_from_row(p.invoice),
            contact_id=contact_id,
            account_code=ctx.settings.xero.sales_account_code,
        )
        sendable.append((p, body))
    if not sendable:
        return delivered, True
    try:
        outcomes = xero.post_invoices(
            client, tenant, [(p.item.idempotency_key, body) for p, body in sendable]
        )
    except RetryableError as exc:
        _all_retry_later(ctx, [p for p, _ in sendable], str(exc), unsettled)
        return delivered, False
    certain = True
    for (p, _), outcome in zip(sendable, outcomes, strict=True):
        unsettled.pop(p.item.id)
        if isinstance(outcome, PostedInvoice):
            _posted(ctx, p.item, p.invoice, outcome)
            delivered += 1
        elif isinstance(outcome, SchemaDriftError):  # fate unknown: look it up next time
            certain = False
            retry_later(ctx, p.item, p.item.attempts + 1, str(outcome), p.invoice)
        else:
            _rejected(ctx, p, outcome)
    return delivered, certain


def _all_retry_later(
    ctx: FlowContext, items: list[_Pending], error: str, unsettled: dict[int, _Pending]
) -> None:
    for p in items:
        retry_later(ctx, p.item, p.item.attempts + 1, error, p.invoice)
        unsettled.pop(p.item.id, None)


def _rejected(ctx: FlowContext, p: _Pending, exc: RecordError) -> bool:
    return refused(
        ctx,
        p.item,
        "erp_rejected",
        f"Xero refused invoice {p.invoice.number}: {exc.details or exc}. Fix the data and replay.",
        p.invoice,
    )


def _posted(ctx: FlowContext, item: OutboxRow, row: InvoiceRow, posted: PostedInvoice) -> None:
    moment = ctx.clock()  # business time (the engine's clock); the outbox keeps the wall clock's
    with transaction(ctx.sessions) as session:
        session.execute(
            update(OutboxRow)
            .where(OutboxRow.id == item.id)
            .values(
                status="delivered",
                delivered_at=now(),
                external_id=posted.invoice_id,
                last_error=None,
            )
        )
        session.execute(
            update(InvoiceRow)
            .where(InvoiceRow.id == row.id)
            .values(
                status="posted", posted_at=moment, updated_at=moment, amount_due=posted.amount_due
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
