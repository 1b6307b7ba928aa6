"""Invoicing: billing events of a closed period become one invoice per contract and period.

A calendar month is closed once it has ended. Its un-invoiced billing events, grouped by contract,
become an invoice with a deterministic id and number; billing events that arrive later for a period
already invoiced go onto a supplementary invoice (sequence 2, 3 …), never into a posted one. The
invoice, the billing events' link to it and the outbox row that will post it are written in one
transaction, so an invoice is never created without its delivery, nor delivered twice.

Each run first compensates time that changed after it was invoiced (``compensation``): credit
notes for what went down, adjustment billing events for what went up. An adjustment is dated the
day it is made, so it goes on the contract's next invoice as a line of its own.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from collectors.entities import Invoice, InvoiceLine, canonical_id
from sync.flows import compensation
from sync.flows.compensation_plan import ADJUSTMENT
from sync.flows.context import FlowContext, FlowResult
from sync.flows.months import month_end
from sync.store import outbox
from sync.store.db import transaction
from sync.store.tables import (
    BillingEventRow,
    CustomerRow,
    InvoiceRow,
    ProjectRow,
    ResourceRow,
)
from sync.store.vocabulary import Flow, InvoiceStatus, OutboxKind
from sync.telemetry import record_events, tracer

FLOW = Flow.INVOICING
CENT = Decimal("0.01")


def run(ctx: FlowContext) -> FlowResult:
    result = FlowResult()
    compensated = compensation.run(ctx)
    if compensated.records_out:
        result.notes.append(f"{compensated.records_out} compensations")
    period_open = ctx.today().replace(day=1)
    with ctx.sessions() as session:
        groups = _pending_groups(session, period_open)
    for (contract_id, period_start), events in sorted(groups.items()):
        with (
            tracer.start_as_current_span(
                "invoice compose", attributes={"contract": contract_id, "events": len(events)}
            ),
            transaction(ctx.sessions) as session,
        ):
            invoice = compose(session, ctx, contract_id, period_start, events)
            result.records_in += len(events)
            if invoice is not None:
                result.records_out += 1
    return result


def _pending_groups(
    session: Session, before: date
) -> dict[tuple[str, date], list[BillingEventRow]]:
    groups: dict[tuple[str, date], list[BillingEventRow]] = defaultdict(list)
    rows = session.scalars(
        select(BillingEventRow)
        .where(BillingEventRow.invoice_id.is_(None), BillingEventRow.occurred_on < before)
        .order_by(BillingEventRow.occurred_on, BillingEventRow.id)
    )
    for row in rows:
        groups[(row.contract_id, row.occurred_on.replace(day=1))].append(row)
    return groups


def compose(
    session: Session,
    ctx: FlowContext,
    contract_id: str,
    period_start: date,
    events: list[BillingEventRow],
) -> Invoice | None:
    """Build, store and enqueue the invoice for one contract and period."""
    ids = [e.id for e in events]
    still_pending = set(
        session.scalars(
            select(BillingEventRow.id).where(
                BillingEventRow.id.in_(ids), BillingEventRow.invoice_id.is_(None)
            )
        )
    )
    events = [e for e in events if e.id in still_pending]
    if not events:
        return None
    sequence = 1 + (
        session.scalar(
            select(func.max(InvoiceRow.sequence)).where(
                InvoiceRow.contract_id == contract_id, InvoiceRow.period_start == period_start
            )
        )
        or 0
    )
    invoice = _invoice(session, ctx, contract_id, period_start, sequence, events)
    moment = ctx.clock()  # business time: when the invoice was raised
    session.add(
        InvoiceRow(
            id=invoice.id,
            number=invoice.number,
            customer_id=invoice.customer_id,
            contract_id=contract_id,
            currency=invoice.currency,
            period_start=period_start,
            period_end=invoice.period_end,
            sequence=sequence,
            issue_date=invoice.issue_date,
            due_date=invoice.due_date,
            total=invoice.total,
            amount_due=invoice.total,
            status=InvoiceStatus.PENDING,
            lines=[line.model_dump(mode="json") for line in invoice.lines],
            created_at=moment,
            posted_at=None,
            updated_at=moment,
        )
    )
    session.execute(
        update(BillingEventRow)
        .where(BillingEventRow.id.in_([e.id for e in events]))
        # billing events are stamped on the engine's clock, by every flow that writes them
        .values(invoice_id=invoice.id, updated_at=moment)
    )
    outbox.enqueue(
        session,
        OutboxKind.INVOICE_CREATE,
        invoice.id,
        {"invoice_id": invoice.id},
        system=ctx.settings.erp.default,
    )
    record_events(
        session,
        "invoice.created",
        "invoice",
        [(invoice.id, moment)],
        attributes={
            "number": invoice.number,
            "total": str(invoice.total),
            "currency": invoice.currency,
        },
    )
    return invoice


def _invoice(
    session: Session,
    ctx: FlowContext,
    contract_id: str,
    period_start: date,
    sequence: int,
    events: list[BillingEventRow],
) -> Invoice:
    first = events[0]
    customer = session.get(CustomerRow, first.customer_id)
    project = session.get(ProjectRow, first.project_id)
    terms = customer.payment_terms_days if customer else ctx.settings.billing.payment_terms_days
    period_end = month_end(period_start)
    issued = max(period_end + timedelta(days=1), ctx.today())
    lines = _lines(session, events)
    code = (project.code if project and project.code else contract_id[-6:]).upper()
    suffix = f"-{sequence}" if sequence > 1 else ""
    return Invoice(
        id=canonical_id("plan2cash", "invoice", f"{contract_id}:{period_start}:{sequence}"),
        number=f"{ctx.settings.billing.invoice_prefix}-{period_start:%Y%m}-{code}{suffix}",
        source="plan2cash",
        source_id=f"{contract_id}:{period_start}:{sequence}",
        updated_at=ctx.clock(),
        customer_id=first.customer_id,
        contract_id=contract_id,
        currency=first.currency,
        period_start=period_start,
        period_end=period_end,
        issue_date=issued,
        due_date=issued + timedelta(days=terms),
        lines=tuple(lines),
        total=sum((line.amount for line in lines), Decimal(0)),
        status=InvoiceStatus.PENDING,
    )


def _lines(session: Session, events: list[BillingEventRow]) -> list[InvoiceLine]:
    """One line per person and rate: hours × rate, rounded as the ERP rounds a line; then one
    line per adjustment (time corrected after an earlier invoice), so it reads as such."""
    names = dict(
        session.execute(
            select(ResourceRow.id, ResourceRow.name).where(
                ResourceRow.id.in_({e.resource_id for e in events if e.resource_id})
            )
        ).all()
    )
    grouped: dict[tuple[str, Decimal], list[BillingEventRow]] = defaultdict(list)
    adjustments = [e for e in events if e.kind == ADJUSTMENT]
    for e in events:
        if e.kind != ADJUSTMENT:
            grouped[(e.resource_id or "", Decimal(e.rate))].append(e)
    lines = []
    for (resource_id, rate), items in sorted(
        grouped.items(), key=lambda kv: (names.get(kv[0][0], ""), kv[0][1])
    ):
        hours = sum((Decimal(e.quantity) for e in items), Decimal(0))
        who = names.get(resource_id, "Consulting")
        lines.append(
            InvoiceLine(
                description=f"Professional services — {who}, {hours.normalize():f} h",
                quantity=hours,
                unit_amount=rate,
                amount=(hours * rate).quantize(CENT, rounding=ROUND_HALF_UP),
                billing_event_ids=tuple(e.id for e in items),
            )
        )
    for e in adjustments:
        hours, rate = Decimal(e.quantity), Decimal(e.rate)
        lines.append(
            InvoiceLine(
                description=e.description,
                quantity=hours,
                unit_amount=rate,
                amount=(hours * rate).quantize(CENT, rounding=ROUND_HALF_UP),
                billing_event_ids=(e.id,),
            )
        )
    return lines
