"""Compensating transactions: time that changed after it was invoiced is put right with a new
document, never by editing the posted invoice (DESIGN §4, flow 4).

For a time entry already on an invoice, the hours the customer has been billed for it are the
invoiced hours, plus its invoiced adjustments, minus its credit notes. What it is worth now is its
current hours (none once it is deleted, unapproved or made non-billable), at the rate it was
invoiced at. The difference becomes:

- down: a credit note (Xero ACCRECCREDIT) for the difference against the original invoice's
  contact, delivered through the outbox and allocated to that invoice there;
- up: an adjustment, a billing event of kind ``adjustment`` dated today, so that it lands as its
  own line on the contract's next invoice;
- an adjustment still waiting for its invoice has posted nothing yet, so it is revised in place
  (or withdrawn) instead of being compensated in turn.

A compensation's id comes from (invoice, entry, version), the version counting the entry's
compensations. It is written in one transaction with its outbox row or billing event, its
business event and the resolution of the entry's ``edited_after_invoiced`` exception: a second
run finds nothing left to compensate, and a crash leaves all or nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import delete, false, or_, select, update
from sqlalchemy.orm import Session

from collectors.entities import canonical_id
from sync.flows.context import FlowContext, FlowResult
from sync.store.db import transaction
from sync.store.repo import Problem, now, resolve_problems
from sync.store.tables import (
    BillingEventRow,
    CompensationRow,
    InvoiceRow,
    OutboxRow,
    TimeEntryRow,
)
from sync.telemetry import record_events, tracer

CREDIT_NOTE = "credit_note"
ADJUSTMENT = "adjustment"
OUTBOX_KIND = "xero.credit_note.create"
EDITED_FLOW = "billable"  # the flow that reports ``edited_after_invoiced``
CENT = Decimal("0.01")
HOURS = Decimal("0.0001")
MAX_HOURS = Decimal(24)
PAGE = 200


@dataclass(frozen=True)
class Case:
    """An invoiced time entry as it is now, with what it was invoiced at."""

    entry_id: str
    source_id: str
    event: BillingEventRow
    hours_now: Decimal
    gone: str | None  # why the entry is worth nothing now, if it is not


@dataclass(frozen=True)
class Plan:
    """What an entry still needs: ``want`` hours on a pending adjustment (> 0) or on a new
    credit note (< 0); ``pending`` is the adjustment already waiting for an invoice."""

    case: Case
    want: Decimal
    pending: CompensationRow | None
    version: int

    @property
    def settled(self) -> bool:
        return self.want == (self.pending.quantity if self.pending else Decimal(0))


def run(ctx: FlowContext) -> FlowResult:
    """Compensate every invoiced entry whose value changed, a page of entries per transaction."""
    with ctx.sessions() as session:
        entry_ids = _changed_entries(session)
    result = FlowResult()
    for start in range(0, len(entry_ids), PAGE):
        page = entry_ids[start : start + PAGE]
        with (
            tracer.start_as_current_span("compensation page", attributes={"records": len(page)}),
            transaction(ctx.sessions) as session,
        ):
            plans = [p for p in plan(session, page) if not p.settled]
            for p in plans:
                _compensate(session, ctx, p)
            result.records_in += len(page)
            result.records_out += len(plans)
    return result


def uncompensated(session: Session, problems: Sequence[Problem]) -> list[Problem]:
    """The ``edited_after_invoiced`` problems whose entry is not compensated yet (an entry whose
    difference already has its credit note or adjustment is not reported again)."""
    if not problems:
        return []
    plans = {p.case.entry_id: p for p in plan(session, [p.entity_id or "" for p in problems])}
    return [p for p in problems if p.entity_id not in plans or not plans[p.entity_id].settled]


def _changed_entries(session: Session) -> list[str]:
    """Invoiced time entries that are gone or whose hours differ from the invoiced hours (the
    database narrows history down to these; compensated ones drop out in ``plan``)."""
    entry = TimeEntryRow
    return list(
        session.scalars(
            select(entry.id)
            .join(BillingEventRow, BillingEventRow.source_record_id == entry.id)
            .where(
                BillingEventRow.kind == "time",
                BillingEventRow.invoice_id.is_not(None),
                or_(
                    entry.deleted_at.is_not(None),
                    entry.status != "approved",
                    entry.billable.is_(None),
                    entry.billable == false(),
                    entry.hours != BillingEventRow.quantity,
                ),
            )
            .order_by(entry.id)
        )
    )


def plan(session: Session, entry_ids: Sequence[str]) -> list[Plan]:
    """What each invoiced entry among ``entry_ids`` still needs, from the store as it is."""
    rows = session.execute(
        select(BillingEventRow, TimeEntryRow)
        .join(TimeEntryRow, TimeEntryRow.id == BillingEventRow.source_record_id)
        .where(
            BillingEventRow.source_record_id.in_(entry_ids),
            BillingEventRow.kind == "time",
            BillingEventRow.invoice_id.is_not(None),
        )
    ).all()
    done = _compensations(session, [te.id for _, te in rows])
    plans = []
    for event, entry in rows:
        case = _case(event, entry)
        if case is None:
            continue
        billed, pending, count = Decimal(event.quantity), None, 0
        for row, invoiced in done.get(entry.id, []):
            count += 1
            if row.status == "withdrawn":  # still a version, no longer hours
                continue
            if row.kind == CREDIT_NOTE:
                billed -= row.quantity
            elif invoiced:
                billed += row.quantity
            else:
                pending = row
        want = (case.hours_now - billed).quantize(HOURS)
        plans.append(Plan(case, want, pending, count + 1))
    return plans


def _case(event: BillingEventRow, entry: TimeEntryRow) -> Case | None:
    gone = (
        "deleted in Harvest"
        if entry.deleted_at is not None
        else "no longer approved"
        if entry.status != "approved"
        else "made non-billable"
        if not entry.billable
        else None
    )
    hours = Decimal(0) if gone else Decimal(entry.hours) if entry.hours is not None else None
    if hours is None or not Decimal(0) <= hours <= MAX_HOURS:
        return None  # not a valid value yet: the entry's own exception says why
    return Case(entry.id, entry.source_id, event, hours.quantize(HOURS), gone)


def _compensations(
    session: Session, entry_ids: list[str]
) -> dict[str, list[tuple[CompensationRow, bool]]]:
    """Each entry's compensations in version order, with whether an adjustment is invoiced."""
    found: dict[str, list[tuple[CompensationRow, bool]]] = defaultdict(list)
    rows = session.execute(
        select(CompensationRow, BillingEventRow.invoice_id)
        .outerjoin(BillingEventRow, BillingEventRow.id == CompensationRow.billing_event_id)
        .where(CompensationRow.time_entry_id.in_(entry_ids))
        .order_by(CompensationRow.version)
    ).all()
    for row, invoice_id in rows:
        found[row.time_entry_id].append((row, invoice_id is not None))
    return found


def _compensate(session: Session, ctx: FlowContext, p: Plan) -> None:
    if p.pending is not None:
        if p.want > 0:
            _revise(session, ctx, p, p.pending)
            return
        _withdraw(session, ctx, p.pending)
        if p.want == 0:
            _resolve(session, p, f"withdrawing the pending adjustment {p.pending.id}")
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
    event, hours = p.case.event, -p.want
    invoice_number = _invoice_number(session, event)
    rate = Decimal(event.rate)
    key = f"{event.invoice_id}:{p.case.entry_id}:{p.version}"
    row = CompensationRow(
        id=canonical_id("plan2cash", CREDIT_NOTE, key),
        kind=CREDIT_NOTE,
        number=f"CN-{invoice_number}-{p.case.source_id}-{p.version}",
        reason=_why(p, invoice_number),
        quantity=hours,
        rate=rate,
        amount=_amount(hours, rate),
        issue_date=ctx.today(),
        status="pending",
        **_common(p, ctx.clock()),
    )
    session.add(row)
    moment = now()  # the outbox runs on the wall clock
    session.add(
        OutboxRow(
            kind=OUTBOX_KIND,
            system="xero",
            aggregate_id=row.id,
            idempotency_key=f"p2c-{row.id}",
            payload={"credit_note_id": row.id, "invoice_id": event.invoice_id},
            status="pending",
            attempts=0,
            next_attempt_at=moment,
            created_at=moment,
        )
    )
    _done(session, ctx, p, "credit_note.created", row, f"credit note {row.number}")


def _adjust(session: Session, ctx: FlowContext, p: Plan) -> None:
    event, hours = p.case.event, p.want
    invoice_number = _invoice_number(session, event)
    rate = Decimal(event.rate)
    source = f"{p.case.entry_id}:adjustment:{p.version}"
    row = CompensationRow(
        id=canonical_id("plan2cash", ADJUSTMENT, f"{event.invoice_id}:{source}"),
        kind=ADJUSTMENT,
        number=None,
        billing_event_id=canonical_id("plan2cash", "billing_event", source),
        reason=_why(p, invoice_number),
        quantity=hours,
        rate=rate,
        amount=_amount(hours, rate),
        issue_date=ctx.today(),
        status="pending",
        **_common(p, ctx.clock()),
    )
    session.add(row)
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
            created_at=now(),  # billing events are stamped on the billable flow's clock
            updated_at=now(),
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
        .values(quantity=p.want, amount=amount, updated_at=now())
    )
    _resolve(session, p, f"the pending adjustment {pending.id}, revised to {amount}")


def _withdraw(session: Session, ctx: FlowContext, pending: CompensationRow) -> None:
    session.execute(
        delete(BillingEventRow).where(
            BillingEventRow.id == pending.billing_event_id, BillingEventRow.invoice_id.is_(None)
        )
    )
    session.execute(
        update(CompensationRow)
        .where(CompensationRow.id == pending.id)
        .values(status="withdrawn", updated_at=ctx.clock())
    )


def _common(p: Plan, moment: datetime) -> dict[str, object]:
    event = p.case.event
    return {
        "time_entry_id": p.case.entry_id,
        "invoice_id": event.invoice_id,
        "customer_id": event.customer_id,
        "contract_id": event.contract_id,
        "version": p.version,
        "currency": event.currency,
        "created_at": moment,
        "updated_at": moment,
        "posted_at": None,
    }


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
    _resolve(session, p, f"{what} for {row.amount:.2f} {row.currency} ({row.id})")


def _resolve(session: Session, p: Plan, what: str) -> None:
    resolve_problems(
        session, EDITED_FLOW, [f"be:{p.case.source_id}"], note=f"Compensated by {what}."
    )
