"""Outbox delivery: every side effect on a vendor, posted at most once.

An item is marked as attempted (attempts + 1, committed) *before* it is sent. So if the process
dies after Xero accepted an invoice but before we recorded it, the next delivery sees an attempted
item and first looks the invoice up by number; the ``Idempotency-Key`` (derived from the invoice's
identity) covers the same gap inside Xero. A refusal (validation) becomes an exception with the
value at risk; a transient failure is retried later with backoff; after too many attempts the item
is dead-lettered.
"""

from __future__ import annotations

import random
from datetime import timedelta

import httpx
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from collectors.errors import FatalError, RecordError, RetryableError
from collectors.xero import PostedInvoice, XeroConnector, invoice_body
from sync.flows.context import FlowContext, FlowResult
from sync.flows.invoicing import invoice_from_row
from sync.store.db import transaction
from sync.store.repo import Problem, external_id, link, now, report_problems, resolve_problems
from sync.store.tables import CustomerRow, InvoiceRow, OutboxRow
from sync.telemetry import current_trace_id, record_events, tracer

FLOW = "outbox"
DUE = ("pending", "retrying")


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
        tenant = ctx.xero.tenant_id(client)
        for item in items:
            with tracer.start_as_current_span(
                "outbox deliver",
                attributes={"outbox.id": item.id, "kind": item.kind, "attempt": item.attempts + 1},
            ):
                delivered = deliver(ctx, client, tenant, item)
            result.records_in += 1
            result.records_out += int(delivered)
            result.exceptions += int(not delivered)
    return result


def deliver(ctx: FlowContext, client: httpx.Client, tenant: str, item: OutboxRow) -> bool:
    """Deliver one item; ``True`` when the vendor holds the document afterwards."""
    with transaction(ctx.sessions) as session:
        session.execute(
            update(OutboxRow).where(OutboxRow.id == item.id).values(attempts=OutboxRow.attempts + 1)
        )
        invoice_row = session.get(InvoiceRow, item.aggregate_id)
        customer = session.get(CustomerRow, invoice_row.customer_id) if invoice_row else None
    attempt = item.attempts + 1
    if invoice_row is None or customer is None:
        return _refused(
            ctx,
            item,
            "missing_reference",
            f"Invoice {item.aggregate_id} or its customer is missing from the store.",
        )
    try:
        posted = _send(ctx, client, tenant, item, invoice_row, customer)
    except RecordError as exc:
        return _refused(
            ctx,
            item,
            "erp_rejected",
            f"Xero refused invoice {invoice_row.number}: "
            f"{exc.details or exc}. Fix the data and replay.",
            invoice_row,
        )
    except RetryableError as exc:
        return _retry_later(ctx, item, attempt, str(exc), invoice_row)
    except FatalError:
        with transaction(ctx.sessions) as session:
            session.execute(
                update(OutboxRow)
                .where(OutboxRow.id == item.id)
                .values(attempts=OutboxRow.attempts - 1)
            )
        raise
    _posted(ctx, item, invoice_row, posted)
    return True


def _send(
    ctx: FlowContext,
    client: httpx.Client,
    tenant: str,
    item: OutboxRow,
    invoice_row: InvoiceRow,
    customer: CustomerRow,
) -> PostedInvoice:
    xero: XeroConnector = ctx.xero
    if item.attempts > 0:  # an earlier attempt may have reached Xero: look before posting
        found = xero.find_invoice(client, tenant, invoice_row.number)
        if found is not None:
            return found
    contact_id = _contact(ctx, client, tenant, customer)
    body = invoice_body(
        invoice_from_row(invoice_row),
        contact_id=contact_id,
        account_code=ctx.settings.xero.sales_account_code,
    )
    return xero.post_invoice(client, tenant, body, key=item.idempotency_key)


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
