"""Reconciliation: what incremental reads cannot see, found by comparing whole windows.

Harvest reports no deletions, and an incremental read that lost a record (a page cut short, a
record left out) never learns it did. So, month by month of ``spent_date``, the ids Harvest holds
are compared with the time entries the store holds, page by page:

- a stored entry Harvest no longer lists is a *candidate*; it is deleted only when the window's
  listing was complete (every page read, the distinct ids adding up to the ``total_entries``
  Harvest reported) **and** Harvest answers 404 for the entry itself (an entry moved to another
  month is still there). A deleted entry keeps its row with ``deleted_at`` set; its pending billing
  event is withdrawn; one already invoiced stays and becomes an exception (``deleted_after_
  invoiced``) until compensation has credited it;
- an entry Harvest lists that the store lacks, or holds in an older version, goes through the same
  checks and store as the billable flow (``sync.flows.billable_store.store_page``).

A listing that fails or comes back incomplete concludes nothing for its window: the next run tries
again. Then the money is reconciled (``sync.flows.reconcile_money``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx
import polars as pl
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from collectors import harvest
from collectors.errors import RetryableError
from sync.flows import billable_store, reconcile_money
from sync.flows.compensation_plan import CREDIT_NOTE
from sync.flows.context import FlowContext, FlowResult
from sync.flows.months import months
from sync.flows.record_keys import edited_entry, held_entry
from sync.rules import Reference
from sync.store.db import transaction
from sync.store.repo import OPEN_STATUSES, Problem, now, report_problems, resolve_problems
from sync.store.tables import (
    BillingEventRow,
    CompensationRow,
    ExceptionRow,
    InvoiceRow,
    TimeEntryRow,
)
from sync.store.vocabulary import Flow
from sync.telemetry import current_trace_id, record_events, tracer

FLOW = Flow.RECONCILE
DELETED_AFTER_INVOICED = "deleted_after_invoiced"
# Look-ups of deletion candidates per run: a mass deletion is confirmed over several runs.
CONFIRM_PER_RUN = 500
UTC_TIME = pl.Datetime("us", "UTC")


def run(ctx: FlowContext) -> FlowResult:
    result = reconcile_deletions(ctx)
    with transaction(ctx.sessions) as session:
        resolve_credited(session)
    result.add(reconcile_money.run(ctx))
    return result


def resolve_credited(session: Session) -> int:
    """Deletions after invoicing that compensation has credited no longer need anyone."""
    credited = (
        select(CompensationRow.time_entry_id)
        .where(CompensationRow.kind == CREDIT_NOTE, CompensationRow.status != "withdrawn")
        .scalar_subquery()
    )
    keys = session.scalars(
        select(ExceptionRow.record_key).where(
            ExceptionRow.flow == FLOW,
            ExceptionRow.category == DELETED_AFTER_INVOICED,
            ExceptionRow.status.in_(OPEN_STATUSES),
            ExceptionRow.entity_id.in_(credited),
        )
    ).all()
    return resolve_problems(session, FLOW, list(keys), note="credited by a credit note")


def reconcile_deletions(ctx: FlowContext) -> FlowResult:
    """Compare every month from the oldest stored entry to today with Harvest, newest first."""
    with ctx.sessions() as session:
        oldest = session.scalar(
            select(func.min(TimeEntryRow.spent_date)).where(TimeEntryRow.source == "harvest")
        )
        reference = billable_store.reference_for(session, ctx.settings.billing)
    result = FlowResult()
    if oldest is None:
        return result
    budget = [CONFIRM_PER_RUN]
    with ctx.harvest.client() as client:
        for start, end in reversed(list(months(oldest, max(ctx.today(), oldest)))):
            with tracer.start_as_current_span(
                "reconcile window", attributes={"window": f"{start:%Y-%m}"}
            ) as span:
                try:
                    window = _reconcile_window(ctx, client, reference, start, end, budget)
                except RetryableError as exc:  # the vendor is struggling: try again next run
                    result.notes.append(f"{start:%Y-%m}: listing failed, nothing concluded: {exc}")
                    span.set_attribute("complete", False)
                    break
                span.set_attribute("complete", window.complete)
                result.add(window.result)
                if not window.complete:
                    result.notes.append(f"{start:%Y-%m}: listing incomplete, nothing concluded")
    return result


@dataclass
class _Window:
    complete: bool
    result: FlowResult = field(default_factory=FlowResult)


def _reconcile_window(
    ctx: FlowContext,
    client: httpx.Client,
    reference: Reference,
    start: date,
    end: date,
    budget: list[int],
) -> _Window:
    with ctx.sessions() as session:
        stored = _stored(session, start, end)
    live = stored.filter(pl.col("deleted_at").is_null())
    known = dict(zip(live["source_id"], live["updated_at"], strict=True))
    listed: set[str] = set()
    totals: set[int] = set()
    window = _Window(complete=True)
    for page in ctx.harvest.window_pages(client, start, end):
        totals.add(page.total_entries)
        frame = harvest.time_entries_frame(page.records)
        listed.update(frame["source_id"].drop_nulls())
        fresh = [
            page.records[row]
            for row, source_id, updated in frame.select("row", "source_id", "updated_at").rows()
            if source_id is not None and _newer(updated, known.get(source_id, _ABSENT))
        ]
        window.result.add(_store(ctx, reference, fresh))
    if len(totals) != 1 or len(listed) != totals.pop():
        window.complete = False
        return window
    candidates = live.filter(~pl.col("source_id").is_in(list(listed)))
    deleted, moved = _confirm(ctx, client, candidates["source_id"].to_list(), budget)
    window.result.add(_store(ctx, reference, moved))
    if deleted:
        gone = candidates.filter(pl.col("source_id").is_in(deleted))
        with transaction(ctx.sessions) as session:
            window.result.add(mark_deleted(session, gone, ctx.clock()))
    return window


_ABSENT = datetime.min.replace(tzinfo=UTC)


def _newer(updated: datetime | None, stored: datetime) -> bool:
    """Whether a listed entry is missing from the store (or marked deleted there: Harvest lists
    it again) or newer than the version the store holds."""
    return stored is _ABSENT or (updated is not None and updated > stored)


def _stored(session: Session, start: date, end: date) -> pl.DataFrame:
    rows = session.execute(
        select(
            TimeEntryRow.id,
            TimeEntryRow.source_id,
            TimeEntryRow.updated_at,
            TimeEntryRow.deleted_at,
        ).where(
            TimeEntryRow.source == "harvest",
            TimeEntryRow.spent_date >= start,
            TimeEntryRow.spent_date <= end,
        )
    ).all()
    schema: dict[str, Any] = {
        "id": pl.String,
        "source_id": pl.String,
        "updated_at": UTC_TIME,
        "deleted_at": UTC_TIME,
    }
    return pl.DataFrame([tuple(r) for r in rows], schema=schema, orient="row")


def _confirm(
    ctx: FlowContext, client: httpx.Client, source_ids: list[str], budget: list[int]
) -> tuple[list[str], list[dict[str, Any]]]:
    """Look each candidate up: 404 means deleted; an entry found (moved to another month) is
    returned to be stored again. Look-ups that fail leave their entry for the next run."""
    deleted: list[str] = []
    moved: list[dict[str, Any]] = []
    for source_id in source_ids:
        if budget[0] <= 0:
            break
        budget[0] -= 1
        try:
            found = ctx.harvest.time_entry(client, source_id)
        except RetryableError:
            continue
        if found is None:
            deleted.append(source_id)
        else:
            moved.append(found)
    return deleted, moved


def _store(ctx: FlowContext, reference: Reference, records: list[Any]) -> FlowResult:
    """Entries the incremental read missed, through the billable flow's checks and store."""
    if not records:
        return FlowResult()
    with transaction(ctx.sessions) as session:
        frame = billable_store.checked(session, records, reference)
        stored = billable_store.store_page(session, frame, records, moment=ctx.clock())
    return FlowResult(records_in=len(records), records_out=stored.records_in)


def mark_deleted(session: Session, gone: pl.DataFrame, noticed: datetime) -> FlowResult:
    """Soft-delete entries (``id``, ``source_id``), withdraw their pending billing events and
    report the invoiced ones for compensation. ``noticed`` (the engine's clock) dates the business
    events; ``deleted_at`` is the store's own stamp (wall clock), which the rollups follow."""
    moment = now()
    ids = gone["id"].to_list()
    session.execute(
        update(TimeEntryRow)
        .where(TimeEntryRow.id.in_(ids), TimeEntryRow.deleted_at.is_(None))
        .values(deleted_at=moment)
    )
    events = session.execute(
        select(BillingEventRow, InvoiceRow.number)
        .outerjoin(InvoiceRow, InvoiceRow.id == BillingEventRow.invoice_id)
        .where(BillingEventRow.source_record_id.in_(ids))
    ).all()
    pending = [e.id for e, _ in events if e.invoice_id is None]
    if pending:
        session.execute(delete(BillingEventRow).where(BillingEventRow.id.in_(pending)))
    sources = dict(zip(gone["id"], gone["source_id"], strict=True))
    problems = [
        _invoiced_problem(e, number, sources[e.source_record_id])
        for e, number in events
        if e.invoice_id is not None
    ]
    report_problems(session, FLOW, problems, trace_id=current_trace_id())
    resolve_problems(
        session,
        billable_store.FLOW,
        [key(s) for s in sources.values() for key in (held_entry, edited_entry)],
        note="the entry was deleted in Harvest",
    )
    record_events(session, "time_entry.deleted", "time_entry", [(i, noticed) for i in ids])
    record_events(
        session, "billing_event.withdrawn", "billing_event", [(i, noticed) for i in pending]
    )
    return FlowResult(records_out=len(ids), exceptions=len(problems))


def deleted_key(source_id: str) -> str:
    return f"deleted:harvest:time_entry:{source_id}"


def _invoiced_problem(event: BillingEventRow, number: str | None, harvest_id: str) -> Problem:
    amount = Decimal(event.amount).quantize(Decimal("0.01"))
    return Problem(
        record_key=deleted_key(harvest_id),
        stage="reconcile",
        category=DELETED_AFTER_INVOICED,
        reason=(
            f"Harvest time entry {harvest_id} was deleted after it was invoiced on "
            f"{number or event.invoice_id}: {amount:.2f} {event.currency} billed for time that "
            "no longer exists. A credit note is needed."
        ),
        payload={
            "time_entry_id": event.source_record_id,
            "billing_event_id": event.id,
            "invoice_id": event.invoice_id,
            "invoice_number": number,
        },
        entity_type="time_entry",
        entity_id=event.source_record_id,
        value_at_risk=amount,
        currency=event.currency,
    )
