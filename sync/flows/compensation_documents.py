"""The documents that put an invoiced entry right, written in the caller's transaction: a credit
note (with the outbox item that delivers it) for what went down, an adjustment (a billing event of
kind ``adjustment`` dated today, a line of its own on the contract's next invoice) for what went
up; an adjustment still waiting for its invoice is revised in place, or withdrawn, instead.

A compensation's id comes from (invoice, entry, version). Each is written with its business event
and the resolution of the entry's ``edited_after_invoiced`` exception. Documents are stamped with
the engine's clock; the outbox item keeps the wall clock's.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from collectors.entities import canonical_id
from sync.flows.compensation_plan import ADJUSTMENT, CREDIT_NOTE, Plan
from sync.flows.context import FlowContext
from sync.flows.record_keys import BILLABLE_FLOW, edited_entry
from sync.store import outbox
from sync.store.repo import resolve_problems
from sync.store.tables import BillingEventRow, CompensationRow, InvoiceRow
from sync.store.vocabulary import CompensationKind, CompensationStatus, OutboxKind
from sync.telemetry import record_events

CENT = Decimal("0.01")


def compensate(session: Session, ctx: FlowContext, p: Plan) -> None:
    if p.pending is not None:
        if p.want > 0:
            _revise(session, ctx, p, p.pending)
            return
        _withdraw(session, ctx, p.pending)
        if p.want == 0:
            resolve(session, p, f"withdrawing the pending adjustment {p.pending.id}")
    if p.want > 0:
        _adjust(session, ctx, p)
    elif p.want < 0:
        _credit(session, ctx, p)


def _amount(hours: Decimal, rate: Decimal) -> Decimal:
    """Hours × rate rounded as the ERP rounds a line."""
    return (hours * rate).quantize(CENT, rounding=ROUND_HALF_UP)


def _invoice_number(session: Session, event: BillingEventRow) -> str:
    invoice = session.get(InvoiceRow, event.invoice_id)
    return invoice.number if invoice else str(event.invoice_id)


def _credit(session: Session, ctx: FlowContext, p: Plan) -> None:
    event = p.case.event
    invoice_number = _invoice_number(session, event)
    row = _document(
        session,
        ctx,
        p,
        CREDIT_NOTE,
        f"{event.invoice_id}:{p.case.entry_id}:{p.version}",
        -p.want,
        invoice_number,
        number=f"CN-{invoice_number}-{p.case.source_id}-{p.version}",
    )
    outbox.enqueue(
        session,
        OutboxKind.CREDIT_NOTE_CREATE,
        row.id,
        {"credit_note_id": row.id, "invoice_id": event.invoice_id},
        system=ctx.settings.erp.default,
    )
    _done(session, ctx, p, "credit_note.created", row, f"credit note {row.number}")


def _adjust(session: Session, ctx: FlowContext, p: Plan) -> None:
    event, hours = p.case.event, p.want
    invoice_number = _invoice_number(session, event)
    source = f"{p.case.entry_id}:adjustment:{p.version}"
    row = _document(
        session,
        ctx,
        p,
        ADJUSTMENT,
        f"{event.invoice_id}:{source}",
        hours,
        invoice_number,
        billing_event_id=canonical_id("plan2cash", "billing_event", source),
    )
    rate = Decimal(row.rate)
    session.add(
        BillingEventRow(
            id=row.billing_event_id,
            contract_id=event.contract_id,
            project_id=event.project_id,
            customer_id=event.customer_id,
            resource_id=event.resource_id,
            kind=ADJUSTMENT,
            source_record_id=source,
            occurred_on=ctx.today(),
            quantity=hours,
            rate=rate,
            amount=row.amount,
            currency=event.currency,
            description=_line(p, hours, invoice_number),
            approved_at=None,
            created_at=row.created_at,  # billing events are stamped on the engine's clock
            updated_at=row.updated_at,
            invoice_id=None,
        )
    )
    _done(session, ctx, p, "adjustment.created", row, "an adjustment on the next invoice")


def _revise(session: Session, ctx: FlowContext, p: Plan, pending: CompensationRow) -> None:
    """An adjustment not yet invoiced takes the new difference: nothing was posted for it."""
    amount = _amount(p.want, Decimal(pending.rate))
    session.execute(
        update(CompensationRow)
        .where(CompensationRow.id == pending.id)
        .values(
            quantity=p.want,
            amount=amount,
            reason=_why(p, _invoice_number(session, p.case.event)),
            updated_at=ctx.clock(),
        )
    )
    session.execute(
        update(BillingEventRow)
        .where(BillingEventRow.id == pending.billing_event_id, BillingEventRow.invoice_id.is_(None))
        .values(quantity=p.want, amount=amount, updated_at=ctx.clock())
    )
    resolve(session, p, f"the pending adjustment {pending.id}, revised to {amount}")


def _withdraw(session: Session, ctx: FlowContext, pending: CompensationRow) -> None:
    session.execute(
        delete(BillingEventRow).where(
            BillingEventRow.id == pending.billing_event_id, BillingEventRow.invoice_id.is_(None)
        )
    )
    session.execute(
        update(CompensationRow)
        .where(CompensationRow.id == pending.id)
        .values(status=CompensationStatus.WITHDRAWN, updated_at=ctx.clock())
    )


def _document(
    session: Session,
    ctx: FlowContext,
    p: Plan,
    kind: CompensationKind,
    key: str,
    hours: Decimal,
    invoice_number: str,
    *,
    number: str | None = None,
    billing_event_id: str | None = None,
) -> CompensationRow:
    """A new pending compensation of ``kind`` for ``hours`` at the invoiced rate, added to the
    session; its id comes from ``key``."""
    event = p.case.event
    rate = Decimal(event.rate)
    moment = ctx.clock()
    row = CompensationRow(
        id=canonical_id("plan2cash", kind, key),
        kind=kind,
        number=number,
        billing_event_id=billing_event_id,
        reason=_why(p, invoice_number),
        quantity=hours,
        rate=rate,
        amount=_amount(hours, rate),
        issue_date=ctx.today(),
        status=CompensationStatus.PENDING,
        time_entry_id=p.case.entry_id,
        invoice_id=event.invoice_id,
        customer_id=event.customer_id,
        contract_id=event.contract_id,
        version=p.version,
        currency=event.currency,
        created_at=moment,
        updated_at=moment,
        posted_at=None,
    )
    session.add(row)
    return row


def _why(p: Plan, invoice_number: str) -> str:
    change = p.case.gone or f"now {p.case.hours_now.normalize():f} h"
    return (
        f"Harvest entry {p.case.source_id} of {p.case.event.occurred_on} {change} "
        f"after invoice {invoice_number}"
    )


def _line(p: Plan, hours: Decimal, invoice_number: str) -> str:
    day: date = p.case.event.occurred_on
    return (
        f"Adjustment — {p.case.event.description}, {day}: +{hours.normalize():f} h "
        f"(time corrected after invoice {invoice_number})"
    )


def _done(
    session: Session, ctx: FlowContext, p: Plan, event_name: str, row: CompensationRow, what: str
) -> None:
    record_events(
        session,
        event_name,
        row.kind,
        [(row.id, ctx.clock())],
        attributes={
            "time_entry_id": p.case.entry_id,
            "invoice_id": row.invoice_id,
            "number": row.number,
            "amount": str(row.amount),
            "currency": row.currency,
        },
    )
    resolve(session, p, f"{what} for {row.amount:.2f} {row.currency} ({row.id})")


def resolve(session: Session, p: Plan, what: str) -> None:
    resolve_problems(
        session, BILLABLE_FLOW, [edited_entry(p.case.source_id)], note=f"Compensated by {what}."
    )
