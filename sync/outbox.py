"""Outbox delivery: every side effect on a vendor, posted at most once.

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
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

import httpx
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from collectors.errors import FatalError, RecordError, RetryableError, SchemaDriftError
from collectors.xero import MAX_BATCH, PostedInvoice, XeroConnector, invoice_body
from sync.flows.context import FlowContext, FlowResult
from sync.flows.invoicing import invoice_from_row
from sync.store.db import transaction
from sync.store.repo import Problem, external_id, link, now, report_problems, resolve_problems
from sync.store.tables import CustomerRow, InvoiceRow, OutboxRow
from sync.telemetry import current_trace_id, record_events, tracer

FLOW = "outbox"
DUE = ("pending", "retrying")
FIRST_BATCH = 1


def run(ctx: FlowContext, *, limit: int = 500) -> FlowResult:
    result = FlowResult()
    with ctx.sessions() as session:
        items = list(
            session.scalars(
                select(OutboxRow)
                .where(OutboxRow.status.in_(DUE), OutboxRow.next_attempt_at <= now())
                .order_by(OutboxRow.id)
                .limit(limit)
            )
        )
    if not items:
        return result
    with ctx.xero.client() as client:
        default_tenant = ctx.xero.tenant_id(client)
        by_tenant: dict[str, list[OutboxRow]] = {}
        for item in items:
            tenant = str((item.payload or {}).get("tenant_id") or default_tenant)
            by_tenant.setdefault(tenant, []).append(item)
        for tenant, group in by_tenant.items():
            result.add(_deliver_tenant(ctx, client, tenant, group))
    return result


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
        _unmark(ctx, list(unsettled))
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
        _refused(
            ctx,
            item,
            "missing_reference",
            f"Invoice {item.aggregate_id} or its customer is missing from the store.",
        )
    return pending


def _unmark(ctx: FlowContext, ids: list[int]) -> None:
    """A fatal error (credentials, configuration) is not the items' fault: undo the attempt."""
    if not ids:
        return
    with transaction(ctx.sessions) as session:
        session.execute(
            update(OutboxRow).where(OutboxRow.id.in_(ids)).values(attempts=OutboxRow.attempts - 1)
        )


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
            contact_id = _contact(ctx, client, tenant, p.customer)
        except RecordError as exc:
            _rejected(ctx, p, exc)
            unsettled.pop(p.item.id)
            continue
        except RetryableError as exc:
            _retry_later(ctx, p.item, p.item.attempts + 1, str(exc), p.invoice)
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
            _retry_later(ctx, p.item, p.item.attempts + 1, str(outcome), p.invoice)
        else:
            _rejected(ctx, p, outcome)
    return delivered, certain


def _all_retry_later(
    ctx: FlowContext, items: list[_Pending], error: str, unsettled: dict[int, _Pending]
) -> None:
    for p in items:
        _retry_later(ctx, p.item, p.item.attempts + 1, error, p.invoice)
        unsettled.pop(p.item.id, None)


def _rejected(ctx: FlowContext, p: _Pending, exc: RecordError) -> bool:
    return _refused(
        ctx,
        p.item,
        "erp_rejected",
        f"Xero refused invoice {p.invoice.number}: {exc.details or exc}. Fix the data and replay.",
        p.invoice,
    )


def _contact(ctx: FlowContext, client: httpx.Client, tenant: str, customer: CustomerRow) -> str:
    with ctx.sessions() as session:
        known = external_id(session, "customer", customer.id, "xero")
    if known:
        return known
    contact_id = ctx.xero.find_contact(client, tenant, customer.name) or ctx.xero.create_contact(
        client,
        tenant,
        name=customer.name,
        currency=customer.currency,
        key=f"p2c-contact-{customer.id}",
    )
    with transaction(ctx.sessions) as session:
        link(session, "customer", [(customer.id, "xero", contact_id)])
        record_events(
            session,
            "customer.linked",
            "customer",
            [(customer.id, now())],
            attributes={"system": "xero", "external_id": contact_id},
        )
    return contact_id


def _posted(ctx: FlowContext, item: OutboxRow, row: InvoiceRow, posted: PostedInvoice) -> None:
    moment = now()
    with transaction(ctx.sessions) as session:
        session.execute(
            update(OutboxRow)
            .where(OutboxRow.id == item.id)
            .values(
                status="delivered",
                delivered_at=moment,
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
        resolve_problems(session, FLOW, [_key(item)], note=f"posted as {posted.invoice_id}")
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


def _refused(
    ctx: FlowContext,
    item: OutboxRow,
    category: str,
    reason: str,
    row: InvoiceRow | None = None,
    *,
    status: str = "failed",
) -> bool:
    with transaction(ctx.sessions) as session:
        session.execute(
            update(OutboxRow)
            .where(OutboxRow.id == item.id)
            .values(status=status, last_error=reason)
        )
        if row is not None:  # the invoice itself shows that it needs a person
            session.execute(
                update(InvoiceRow)
                .where(InvoiceRow.id == row.id)
                .values(status="failed", updated_at=now())
            )
        _fail(session, item, category, reason, row)
    return False


def _retry_later(
    ctx: FlowContext, item: OutboxRow, attempt: int, error: str, row: InvoiceRow
) -> bool:
    limit = ctx.settings.billing.max_delivery_attempts
    if attempt >= limit:
        return _refused(
            ctx,
            item,
            "delivery_failed",
            f"Gave up posting invoice {row.number} after {attempt} attempts: {error}",
            row,
            status="dead",
        )
    delay = min(3600.0, 30.0 * 2 ** (attempt - 1)) * random.uniform(0.75, 1.25)
    with transaction(ctx.sessions) as session:
        session.execute(
            update(OutboxRow)
            .where(OutboxRow.id == item.id)
            .values(
                status="retrying",
                last_error=error,
                next_attempt_at=now() + timedelta(seconds=delay),
            )
        )
    return False


def _fail(
    session: Session, item: OutboxRow, category: str, reason: str, row: InvoiceRow | None
) -> None:
    report_problems(
        session,
        FLOW,
        [
            Problem(
                record_key=_key(item),
                stage="deliver",
                category=category,
                reason=reason,
                payload={"outbox_id": item.id, "kind": item.kind, "invoice_id": item.aggregate_id},
                entity_type="invoice",
                entity_id=item.aggregate_id,
                value_at_risk=row.total if row else None,
                currency=row.currency if row else None,
            )
        ],
        trace_id=current_trace_id(),
    )


def _key(item: OutboxRow) -> str:
    return f"outbox:{item.kind}:{item.aggregate_id}"
