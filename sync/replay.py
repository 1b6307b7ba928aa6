"""Triage of exceptions: find, replay, resolve, ignore, assign — each action audited.

Replay goes through the same idempotent path as the flows, so it cannot double-bill or
double-post:

- a held time entry is checked again by the billing rules, from the payload as received (or as
  edited by a person: only the fields its kind declares editable, checked and validated first by
  :mod:`sync.edits`), against today's reference data; the billing event made from an edited
  record carries the audit row of the edit (who, when, what changed);
- a refused or dead outbox delivery is put back in the queue and delivered by the outbox flow
  (whose look-up-before-post and idempotency key guard against a second invoice).

A dry run does the same work inside a transaction that is rolled back, and reports what would
change: for a time entry, its value before (at risk as held) and the billing event after. The
CLI and the dashboard call these functions; neither has logic of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session

from sync import edits
from sync.access import Action, Identity, require
from sync.edits import Edit
from sync.flows import billable_store
from sync.flows.context import FlowContext
from sync.rules import Reference
from sync.store.repo import audit, now
from sync.store.tables import AuditRow, BillingEventRow, ExceptionRow, OutboxRow
from sync.store.vocabulary import OPEN_STATUSES, ExceptionStatus, Flow, OutboxStatus

if TYPE_CHECKING:
    import polars as pl

STATUS_ACTION: dict[ExceptionStatus, Action] = {
    ExceptionStatus.RESOLVED: Action.RESOLVE,
    ExceptionStatus.IGNORED: Action.IGNORE,
    ExceptionStatus.OPEN: Action.REOPEN,
    ExceptionStatus.RETRYING: Action.REOPEN,
}


@dataclass(frozen=True)
class ExceptionFilter:
    """Which exceptions an action applies to; empty fields match everything."""

    ids: Sequence[int] = ()
    flow: str | None = None
    category: str | None = None
    statuses: Sequence[ExceptionStatus] = OPEN_STATUSES
    entity_id: str | None = None
    older_than_days: float | None = None

    def statement(self) -> Select[ExceptionRow]:
        query = select(ExceptionRow).order_by(ExceptionRow.id)
        if self.ids:
            query = query.where(ExceptionRow.id.in_(self.ids))
        if self.flow:
            query = query.where(ExceptionRow.flow == self.flow)
        if self.category:
            query = query.where(ExceptionRow.category == self.category)
        if self.statuses:
            query = query.where(ExceptionRow.status.in_(self.statuses))
        if self.entity_id:
            query = query.where(ExceptionRow.entity_id == self.entity_id)
        if self.older_than_days is not None:
            cutoff = now() - timedelta(days=self.older_than_days)
            query = query.where(ExceptionRow.first_seen <= cutoff)
        return query


@dataclass
class Outcome:
    """What happened (or, in a dry run, would happen) to one exception; for a time entry, its
    value before the replay and the billing event's amount after it, in ``currency``."""

    exception_id: int
    record_key: str
    result: Literal["resolved", "still failing", "queued", "skipped"]
    detail: str
    before: Decimal | None = None  # at risk as held (or hours × rate of the record as held)
    after: Decimal | None = None  # the billing event's amount; None: no billing event
    currency: str | None = None


@dataclass
class ReplayReport:
    dry_run: bool
    outcomes: list[Outcome] = field(default_factory=list)

    def count(self, result: str) -> int:
        return sum(1 for o in self.outcomes if o.result == result)


def find(
    session: Session, which: ExceptionFilter, *, limit: int | None = None
) -> list[ExceptionRow]:
    query = which.statement()
    return list(session.scalars(query.limit(limit) if limit else query))


def set_status(
    session: Session,
    which: ExceptionFilter,
    status: ExceptionStatus,
    *,
    actor: Identity,
    reason: str,
) -> int:
    """Resolve or ignore (or reopen) exceptions by filter, with who and why in the audit log;
    refused (and audited) unless ``actor``'s role allows it for that many records."""
    rows = find(session, which)
    require(session, actor, STATUS_ACTION[status], _targets(rows), count=len(rows))
    for row in rows:
        audit(
            session,
            actor.subject,
            f"exception.{status}",
            f"exception:{row.id}",
            reason=reason,
            previous=row.status,
            category=row.category,
        )
    session.execute(
        update(ExceptionRow)
        .where(ExceptionRow.id.in_([r.id for r in rows]))
        .values(status=status, notes=reason, last_seen=now())
    )
    return len(rows)


def assign(
    session: Session, which: ExceptionFilter, assignee: str, *, actor: Identity, reason: str = ""
) -> int:
    """Make ``assignee`` responsible for what ``which`` selects, audited; role-checked."""
    rows = find(session, which)
    require(session, actor, Action.ASSIGN, _targets(rows), count=len(rows))
    for row in rows:
        audit(
            session,
            actor.subject,
            "exception.assign",
            f"exception:{row.id}",
            assignee=assignee,
            **({"reason": reason} if reason else {}),
        )
    session.execute(
        update(ExceptionRow)
        .where(ExceptionRow.id.in_([r.id for r in rows]))
        .values(assignee=assignee)
    )
    return len(rows)


def replay(
    ctx: FlowContext,
    which: ExceptionFilter,
    *,
    actor: Identity,
    reason: str,
    dry_run: bool = False,
    edit: dict[str, Any] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ReplayReport:
    """Replay every exception the filter selects. ``edit`` changes the stored record of a single
    exception first: only the fields its kind may change (:mod:`sync.edits`), to values that
    pass their checks and leave a valid record, or :class:`~sync.edits.EditRefused` is raised
    and nothing changes; an accepted edit is written to the audit log before the replay, and
    the billing event it makes carries that row's id. Refused (and audited) unless ``actor``
    may replay that many records, or edit, by their role."""
    report = ReplayReport(dry_run=dry_run)
    with ctx.sessions() as session:
        rows = find(session, which)
        action = Action.EDIT if edit is not None else Action.REPLAY
        require(session, actor, action, _targets(rows), count=len(rows), dry_run=dry_run)
        reference = billable_store.reference_for(session, ctx.settings.billing)
    accepted = _accepted(ctx, rows, edit, reference) if edit is not None else None
    for row in rows:
        session = ctx.sessions()
        try:
            with session.begin() as transaction:
                edited = (
                    edits.record_edit(session, actor.subject, row, accepted, reason)
                    if accepted is not None
                    else None
                )
                outcome = (
                    _replay_time_entry(
                        session, row, reference, accepted, edited, ctx.clock(), dry_run=dry_run
                    )
                    if _is_time_entry(row)
                    else _replay_other(session, row)
                )
                audit(
                    session,
                    actor.subject,
                    "exception.replay" + (".dry_run" if dry_run else ""),
                    f"exception:{row.id}",
                    reason=reason,
                    edit=edit,
                    **({"edit_audit_id": edited.id} if edited is not None else {}),
                    result=outcome.result,
                    detail=outcome.detail,
                )
                if dry_run:
                    transaction.rollback()
        finally:
            session.close()
        report.outcomes.append(outcome)
        if progress is not None:
            progress(len(report.outcomes), len(rows))
    return report


def _accepted(
    ctx: FlowContext, rows: Sequence[ExceptionRow], edit: dict[str, Any], reference: Reference
) -> Edit:
    """The edit of the one exception ``rows`` holds, checked (:func:`sync.edits.checked`)."""
    if not rows:
        raise ValueError("no open exception matches; nothing to edit")
    if len(rows) > 1:
        raise ValueError("an edit applies to exactly one exception; narrow the filter to one id")
    with ctx.sessions() as session:
        books = edits.Books(session, ctx.today(), reference.closed_through)
        return edits.checked(session, rows[0], edit, books)


def _targets(rows: Sequence[ExceptionRow]) -> str:
    """The audit target of an action over ``rows``: one exception, or how many."""
    return f"exception:{rows[0].id}" if len(rows) == 1 else f"exceptions:{len(rows)}"


def _is_time_entry(row: ExceptionRow) -> bool:
    """Whether ``row`` holds a time entry flow 3 refused: replayed by checking it again."""
    return row.flow == billable_store.FLOW and row.entity_type == "time_entry" and bool(row.payload)


def _replay_other(session: Session, row: ExceptionRow) -> Outcome:
    """A failed outbox delivery is queued again; any other record is fixed at its source."""
    if row.flow == Flow.OUTBOX and row.payload and row.payload.get("outbox_id"):
        return _requeue(session, row)
    return Outcome(
        row.id,
        row.record_key,
        "skipped",
        f"no replay for {row.flow}/{row.category}; fix at the source and resolve",
    )


def _replay_time_entry(
    session: Session,
    row: ExceptionRow,
    reference: Reference,
    edit: Edit | None,
    edited: AuditRow | None,
    moment: datetime,
    *,
    dry_run: bool,
) -> Outcome:
    """Check the entry (as edited) again and store it as the flow would; the billing event made
    from an edited entry names the edit's audit row."""
    payload = edit.record if edit is not None else dict(row.payload or {})
    frame = billable_store.checked(session, [payload], reference)
    before = _held_value(session, row, reference, frame if edit is None else None)
    currency = frame["currency"][0] or row.currency
    billable_store.store_page(session, frame, [payload], moment=moment)
    session.flush()
    status = session.scalar(select(ExceptionRow.status).where(ExceptionRow.id == row.id))
    if status != ExceptionStatus.RESOLVED and frame["category"][0] is not None:
        return Outcome(
            row.id,
            row.record_key,
            "still failing",
            f"{frame['category'][0]}: {frame['reason'][0]}",
            before=before,
            currency=currency,
        )
    session.execute(
        update(ExceptionRow)
        .where(ExceptionRow.id == row.id)
        .values(status=ExceptionStatus.RESOLVED, notes="replayed")
    )
    return _billed(session, row, frame["id"][0], edited, before, currency, dry_run=dry_run)


def _billed(
    session: Session,
    row: ExceptionRow,
    entry_id: str,
    edited: AuditRow | None,
    before: Decimal | None,
    currency: str | None,
    *,
    dry_run: bool,
) -> Outcome:
    """The outcome of a replayed entry that passed: its billing event (marked as made from the
    edit ``edited``, unless already invoiced), or none when the entry is not billable."""
    event = session.execute(
        select(
            BillingEventRow.id,
            BillingEventRow.quantity,
            BillingEventRow.rate,
            BillingEventRow.amount,
            BillingEventRow.currency,
            BillingEventRow.invoice_id,
        ).where(BillingEventRow.source_record_id == entry_id)
    ).one_or_none()
    was = f" (was {before:.2f} at risk)" if before is not None else ""
    if event is None:
        detail = f"no billing event needed (not billable){was}"
        return Outcome(row.id, row.record_key, "resolved", detail, before, None, currency)
    if edited is not None and event.invoice_id is None:
        session.execute(
            update(BillingEventRow)
            .where(BillingEventRow.id == event.id)
            .values(edit_audit_id=edited.id)
        )
    detail = (
        f"{'would bill' if dry_run else 'billed'} {event.quantity:.2f} h × {event.rate:.2f}: "
        f"a billing event of {event.amount:.2f} {event.currency}{was}"
    )
    after = Decimal(event.amount).quantize(CENT)
    return Outcome(row.id, row.record_key, "resolved", detail, before, after, event.currency)


def _held_value(
    session: Session, row: ExceptionRow, reference: Reference, checked: pl.DataFrame | None
) -> Decimal | None:
    """The entry's value as held: its value at risk, else hours × rate of the stored record
    (negative for negative hours), else None. ``checked`` is the stored record's checked frame
    when the caller has it."""
    if row.value_at_risk is not None:
        return Decimal(row.value_at_risk).quantize(CENT)
    frame = (
        checked
        if checked is not None
        else billable_store.checked(session, [row.payload], reference)
    )
    amount = frame["amount"][0]
    return None if amount is None else Decimal(amount).quantize(CENT)


CENT = Decimal("0.01")


def _requeue(session: Session, row: ExceptionRow) -> Outcome:
    assert row.payload is not None
    item = session.get(OutboxRow, row.payload["outbox_id"])
    if item is None or item.status == OutboxStatus.DELIVERED:
        return Outcome(row.id, row.record_key, "skipped", "already delivered or no longer queued")
    # one attempt on record keeps the look-up-before-post; the rest of the budget is fresh
    session.execute(
        update(OutboxRow)
        .where(OutboxRow.id == item.id)
        .values(status=OutboxStatus.PENDING, next_attempt_at=now(), attempts=min(item.attempts, 1))
    )
    session.execute(
        update(ExceptionRow)
        .where(ExceptionRow.id == row.id)
        .values(status=ExceptionStatus.RETRYING)
    )
    return Outcome(
        row.id,
        row.record_key,
        "queued",
        f"invoice {item.aggregate_id} queued for delivery to {item.system}",
    )


def summary_since(session: Session, since: datetime) -> dict[str, int]:
    """Exceptions opened since ``since``, per category (for triage headlines)."""
    rows = session.execute(
        select(ExceptionRow.category, func.count())
        .where(ExceptionRow.first_seen >= since)
        .group_by(ExceptionRow.category)
    ).all()
    return {category: count for category, count in rows}
