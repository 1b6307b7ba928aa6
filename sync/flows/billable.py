"""Time to billable: approved Harvest time → validated, priced billing events.

Pages of time entries changed since the cursor are read, checked by the rules a batch of pages
(~20,000 entries) at a time, and stored: every entry as a time entry row, every approved billable
entry that passes as a billing event with a deterministic id, every one that fails as one open
exception (category and a plain reason, the payload as received). The cursor advances in the
transaction of the last batch: Harvest sorts by ``spent_date``, not by ``updated_at``, so no
earlier page boundary is safe.

Pages are read straight from the response body into frames (``harvest.time_entry_pages``; a record
is decoded only to become an exception's payload), ahead of the batch being stored (``prefetched``),
and a batch is checked and stored as one frame in one transaction: the rules and the store's
lookups cost per statement as much as per entry, so ten pages at once cost little more than one.
Pages keep whole days (``whole_days``), so a batch does too.

A batch is checked while the one before is stored, by another thread (``Behind``): a batch's
rules read the stored entries of its own days, which the batch being stored does not touch (it
holds other days; should it share one, the check waits for it), and a contract's cap counts what
the batch being stored commits, so the cap is applied once that batch is committed (``capped``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import polars as pl
from sqlalchemy import Dialect, and_, delete, select
from sqlalchemy.orm import Session

from collectors import harvest
from collectors.entities import SCHEMA_VERSION, canonical_id
from sync.flows import compensation, history
from sync.flows.context import (
    Behind,
    FlowContext,
    FlowResult,
    prefetched,
    with_last,
)
from sync.flows.reference import load_reference
from sync.rules import MONEY, Reference, capped, check, judged
from sync.settings import Billing
from sync.store.db import FrameUpsert, among, transaction
from sync.store.repo import (
    OPEN_STATUSES,
    Problem,
    get_cursor,
    report_problems,
    resolve_problems,
    set_cursor,
)
from sync.store.tables import BillingEventRow, ExceptionRow, TimeEntryRow
from sync.telemetry import EVENT_KEYS, current_trace_id, record_event_frame, record_events, tracer

FLOW = "billable"
T = TypeVar("T", bound=Sequence[Any])
TIME_COLUMNS = (
    "id",
    "source_id",
    "resource_id",
    "project_id",
    "task",
    "spent_date",
    "hours",
    "billable",
    "status",
    "notes",
    "vendor_rate",
    "submitted_at",
    "approved_at",
    "updated_at",
    "is_billed",
)


# Entries held for these reasons may be cured by a later reference sync (a project or an
# assignment that arrived after the time), a change elsewhere (a corrected termination date or
# project currency, a raised cap, a reopened period, the twin deleted, another entry of the day
# corrected), so they are checked again on every run.
REFERENCE_CATEGORIES = (
    "unknown_project",
    "closed_project",
    "inactive_contract",
    "currency_mismatch",
    "terminated_resource",
    "no_assignment",
    "rate_card_missing",
    "closed_period",
    "duplicate",
    "over_24h",
    "over_cap",
)
PAGE = 2000


def run(ctx: FlowContext) -> FlowResult:
    with ctx.sessions() as session:
        reference = reference_for(session, ctx.settings.billing)
        cursor = get_cursor(session, "harvest", "time_entries")
        dialect = session.get_bind().dialect
    result = recheck_waiting(ctx, reference)
    parsed = harvest.parse_datetime(cursor)
    since = parsed - timedelta(seconds=ctx.settings.billing.cursor_lag_seconds) if parsed else None
    newest = parsed
    with (
        ctx.harvest.client() as client,
        prefetched(
            harvest.whole_days(ctx.harvest.time_entry_pages(client, since)), PREFETCH_PAGES
        ) as pages,
        Behind[FlowResult]("billable-store") as storing,
    ):
        before: frozenset[date] = frozenset()  # the days of the batch being stored
        for group, last in with_last(batches(pages, BATCH_RECORDS)):
            batch = harvest.concat_pages(group)
            with tracer.start_as_current_span("billable batch", attributes={"records": len(batch)}):
                entries = harvest.time_entries_frame(batch)
                entry_rows = time_entry_rows(dialect, entries)  # made here, written there
                days = frozenset(entries["spent_date"].drop_nulls().unique().to_list())
                if days & before:  # never in one run of whole days sorted by date; if it is,
                    storing.wait()  # that batch's entries of those days count here
                frame = _judged(ctx, entries, reference)
                storing.wait()  # a cap counts what the batch before commits
                frame = _capped(ctx, frame, entries, reference)
                newest = _newer(newest, frame["updated_at"].max())
                mark = harvest.iso(newest) if last and newest is not None else None
                moment = ctx.clock()
                writes = Writes(entry_rows, billing_event_rows(dialect, billable(frame), moment))
                storing.submit(_store_batch, ctx, frame, batch, writes, moment, mark)
                before = days
    for stored in storing.done:
        result.add(stored)
    return result


def _judged(ctx: FlowContext, entries: pl.DataFrame, reference: Reference) -> pl.DataFrame:
    with ctx.sessions() as session:
        return judged(entries, reference, history.stored_entries(session, entries))


def _capped(
    ctx: FlowContext, frame: pl.DataFrame, entries: pl.DataFrame, reference: Reference
) -> pl.DataFrame:
    with ctx.sessions() as session:
        return capped(frame, history.committed(session, entries, reference))


def _store_batch(
    ctx: FlowContext,
    frame: pl.DataFrame,
    batch: Sequence[Any],
    writes: Writes,
    moment: datetime,
    mark: str | None,
) -> FlowResult:
    """Store a checked batch in one transaction, with the cursor when it is the last."""
    with (
        transaction(ctx.sessions) as session,
        tracer.start_as_current_span("billable store", attributes={"records": len(batch)}),
    ):
        stored = store_page(session, frame, batch, moment=moment, writes=writes)
        if mark is not None:
            set_cursor(session, "harvest", "time_entries", mark)
    return stored


# Pages checked and stored together, in one transaction: a commit (and the WAL checkpoint it
# triggers) costs as much as storing a few thousand entries, and each rule and lookup a fixed
# overhead per frame, so a backfill works ~20,000 entries at a time, not a page.
# The cursor moves only with the last page anyway (see the module docstring), so a crash costs
# at most the uncommitted batch, which the next run stores again (idempotently).
BATCH_RECORDS = 20_000
# Pages read ahead while a batch is stored (``prefetched``): a batch's worth, so that the next
# batch is ready when this one commits (~2 MB of response body a page at Harvest's 2,000).
PREFETCH_PAGES = 10


def batches(pages: Iterable[T], records: int = BATCH_RECORDS) -> Iterator[list[T]]:
    """Consecutive pages grouped until they hold at least ``records`` records."""
    group: list[T] = []
    size = 0
    for page in pages:
        group.append(page)
        size += len(page)
        if size >= records:
            yield group
            group, size = [], 0
    if group:
        yield group


def _newer(newest: datetime | None, candidate: object) -> datetime | None:
    if isinstance(candidate, datetime) and (newest is None or candidate > newest):
        return candidate
    return newest


def reference_for(session: Session, billing: Billing) -> Reference:
    """The reference data of a run, with the books as configured."""
    return replace(
        load_reference(session),
        closed_through=billing.closed_through,
        close_grace_days=billing.close_grace_days,
    )


def checked(session: Session, page: Sequence[Any], reference: Reference) -> pl.DataFrame:
    """A page of Harvest entries checked by the rules, against what the store already holds."""
    entries = harvest.time_entries_frame(page)
    return check(entries, reference, history.load_history(session, entries, reference))


def recheck_waiting(ctx: FlowContext, reference: Reference) -> FlowResult:
    """Check entries that wait on reference data again, from their stored payloads (the latest
    version seen), against the reference data as it is now."""
    with ctx.sessions() as session:
        payloads = session.scalars(
            select(ExceptionRow.payload).where(
                ExceptionRow.flow == FLOW,
                ExceptionRow.status.in_(OPEN_STATUSES),
                ExceptionRow.category.in_(REFERENCE_CATEGORIES),
            )
        ).all()
    waiting: list[Any] = [p for p in payloads if isinstance(p, dict)]
    result = FlowResult()
    for start in range(0, len(waiting), PAGE):
        page = waiting[start : start + PAGE]
        with tracer.start_as_current_span("billable recheck", attributes={"records": len(page)}):
            with ctx.sessions() as session:
                frame = checked(session, page, reference)
            with transaction(ctx.sessions) as session:
                result.add(store_page(session, frame, page, moment=ctx.clock()))
    return result


def store_page(
    session: Session,
    frame: pl.DataFrame,
    page: Sequence[Any],
    *,
    moment: datetime,
    writes: Writes | None = None,
) -> FlowResult:
    """Store one checked page: time entries, billing events, exceptions, business events.

    ``moment`` is the engine's clock (``FlowContext.clock``): it stamps the billing events'
    ``created_at``/``updated_at`` and the rejections' ``occurred_at``, so those columns stay on
    the clock that invoicing and compensation stamp them with too (the rollups and the money
    reconciliation compare them with that clock). A billing event that arrives again unchanged
    keeps its stamp: ``updated_at`` is not one of the columns whose change is written.
    ``writes`` are the frame's upserts when already made (``Writes.of``)."""
    writes = writes or Writes.of(session.get_bind().dialect, frame, moment)
    writes.time_entries.run(session)
    good = billable(frame)
    bad = frame.filter(pl.col("category").is_not_null())
    settled = frame.filter(pl.col("category").is_null())
    existing = _existing_events(session, frame["id"].drop_nulls().to_list())
    created, edited = _billing_events(session, good, existing, writes.billing_events, moment)
    edited = compensation.uncompensated(session, edited)
    problems = _problems(bad, page) + edited
    _withdraw(
        session, frame.filter(~pl.col("billing") | pl.col("category").is_not_null()), existing
    )
    trace_id = current_trace_id()
    fresh = _fresh_problems(session, problems)
    report_problems(session, FLOW, problems, trace_id=trace_id)
    still_edited = {p.record_key for p in edited}
    resolve_problems(
        session,
        FLOW,
        [f"harvest:time_entry:{s}" for s in settled["source_id"] if f"be:{s}" not in still_edited],
        note="entry now billable or no longer billable",
    )
    record_event_frame(session, "billing_event.created", "billing_event", created)
    record_events(
        session,
        "billing_event.rejected",
        "time_entry",
        [(p.entity_id or p.record_key, moment) for p in fresh],
    )
    return FlowResult(records_in=len(page), records_out=created.height, exceptions=len(problems))


@dataclass(frozen=True)
class Writes:
    """A checked batch's upserts, made (its rows converted for the driver) before the batch's
    transaction: flow 3 makes them while the batch before is being written."""

    time_entries: FrameUpsert
    billing_events: FrameUpsert

    @classmethod
    def of(cls, dialect: Dialect, frame: pl.DataFrame, moment: datetime) -> Writes:
        return cls(
            time_entry_rows(dialect, frame), billing_event_rows(dialect, billable(frame), moment)
        )


def billable(frame: pl.DataFrame) -> pl.DataFrame:
    """The checked entries to bill: approved, billable, and breaking no rule."""
    return frame.filter(pl.col("billing") & pl.col("category").is_null())


def time_entry_rows(dialect: Dialect, frame: pl.DataFrame) -> FrameUpsert:
    """The upsert of a checked frame's readable entries as time entry rows; a row that arrives
    again unchanged is not rewritten."""
    readable = frame.filter(pl.col("id").is_not_null() & pl.col("updated_at").is_not_null())
    rows = readable.select(TIME_COLUMNS).with_columns(
        source=pl.lit("harvest"),
        schema_version=pl.lit(SCHEMA_VERSION),
        deleted_at=pl.lit(None, dtype=pl.Datetime("us", "UTC")),
    )
    unchanged_unless = [c for c in rows.columns if c != "id"]
    return FrameUpsert.of(dialect, TimeEntryRow, rows, keys=["id"], when_changed=unchanged_unless)


def _existing_events(session: Session, entry_ids: list[str]) -> pl.DataFrame:
    rows = session.execute(
        select(
            BillingEventRow.source_record_id, BillingEventRow.amount, BillingEventRow.invoice_id
        ).where(among(session, BillingEventRow.source_record_id, entry_ids))
    ).all()
    return pl.DataFrame(
        [tuple(r) for r in rows],
        schema={"id": pl.String, "billed_amount": MONEY, "invoice_id": pl.String},
        orient="row",
    )


EVENT_UPDATES = (
    "quantity",
    "rate",
    "amount",
    "occurred_on",
    "description",
    "updated_at",
    "approved_at",
    "resource_id",
)


def _billing_events(
    session: Session,
    good: pl.DataFrame,
    existing: pl.DataFrame,
    rows: FrameUpsert,
    moment: datetime,
) -> tuple[pl.DataFrame, list[Problem]]:
    """Upsert the billing events of ``good`` entries (``rows``: ``billing_event_rows``). Events
    already invoiced are never changed: one whose entry now has a different value is reported
    for compensation. Returns the new events (``EVENT_KEYS``: id, approval), and those reports."""
    joined = good.join(existing, on="id", how="left")
    invoiced = joined.filter(pl.col("invoice_id").is_not_null())
    edited = [
        _edited_after_invoice(e)
        for e in invoiced.filter(pl.col("billed_amount") != pl.col("amount")).iter_rows(named=True)
    ]
    fresh = joined.filter(pl.col("invoice_id").is_null() & pl.col("billed_amount").is_null())
    created = pl.DataFrame(
        {
            "entity_id": [canonical_id("plan2cash", "billing_event", te) for te in fresh["id"]],
            "occurred_at": fresh["approved_at"].fill_null(moment),
        },
        schema=EVENT_KEYS,
    )
    rows.run(session)
    return created, edited


def billing_event_rows(dialect: Dialect, good: pl.DataFrame, moment: datetime) -> FrameUpsert:
    """The upsert of the billing events of ``good`` entries, stamped ``moment``. An event already
    on an invoice is left as it is (``unless_set``), and one that arrives again unchanged is not
    rewritten."""
    rows = good.select(
        pl.col("id").alias("source_record_id"),
        "contract_id",
        "project_id",
        "customer_id",
        "resource_id",
        pl.lit("time").alias("kind"),
        pl.col("spent_date").alias("occurred_on"),
        pl.col("hours").alias("quantity"),
        "rate",
        "amount",
        "currency",
        "approved_at",
        pl.format(
            "{} — {}",
            pl.col("task").fill_null("Services"),
            pl.col("resource_name").fill_null(pl.col("resource_id")),
        ).alias("description"),
    )
    ids = [canonical_id("plan2cash", "billing_event", te) for te in rows["source_record_id"]]
    rows = rows.with_columns(
        id=pl.Series(ids, dtype=pl.String),
        created_at=pl.lit(moment),
        updated_at=pl.lit(moment),
        invoice_id=pl.lit(None, dtype=pl.String),
    )
    return FrameUpsert.of(
        dialect,
        BillingEventRow,
        rows,
        keys=["id"],
        update=EVENT_UPDATES,
        unless_set="invoice_id",
        when_changed=[c for c in EVENT_UPDATES if c != "updated_at"],
    )


def _edited_after_invoice(e: dict[str, Any]) -> Problem:
    billed, amount = Decimal(e["billed_amount"]), Decimal(e["amount"])
    return Problem(
        record_key=f"be:{e['source_id']}",
        stage="invoice",
        category="edited_after_invoiced",
        reason=(
            f"Harvest entry {e['source_id']} changed after it was invoiced: billed "
            f"{billed:.2f}, now worth {amount:.2f} {e['currency']}. "
            "A credit note or adjustment is needed."
        ),
        entity_type="time_entry",
        entity_id=e["id"],
        value_at_risk=abs(amount - billed),
        currency=e["currency"],
    )


def _problems(bad: pl.DataFrame, page: Sequence[Any]) -> list[Problem]:
    return [
        Problem(
            record_key=f"harvest:time_entry:{e['source_id'] or 'row' + str(e['row'])}",
            stage="validate",
            category=e["category"],
            reason=e["reason"],
            payload=page[e["row"]]
            if isinstance(page[e["row"]], dict)
            else {"raw": repr(page[e["row"]])[:2000]},
            entity_type="time_entry",
            entity_id=e["id"],
            value_at_risk=_at_risk(e),
            currency=e.get("currency"),
        )
        for e in bad.iter_rows(named=True)
    ]


def _at_risk(e: dict[str, Any]) -> Decimal | None:
    if e.get("at_risk") is not None:  # a rule's own valuation (the part over a cap)
        return Decimal(e["at_risk"]).quantize(Decimal("0.01"))
    hours, rate = e.get("hours"), e.get("rate") or e.get("vendor_rate")
    if hours is None or rate is None or hours <= 0:
        return None
    return (Decimal(hours) * Decimal(rate)).quantize(Decimal("0.01"))


def _withdraw(session: Session, frame: pl.DataFrame, existing: pl.DataFrame) -> None:
    """Entries no longer billable (unapproved, made non-billable, now failing a rule) lose their
    billing event, unless it is already invoiced (then it is a compensation case). ``existing``
    are the page's stored events (read in this transaction): only those are looked for."""
    pending = existing.filter(pl.col("invoice_id").is_null())["id"]
    ids = frame.filter(pl.col("id").is_in(pending.implode()))["id"].to_list()
    if ids:
        session.execute(
            delete(BillingEventRow).where(
                and_(
                    among(session, BillingEventRow.source_record_id, ids),
                    BillingEventRow.invoice_id.is_(None),
                )
            )
        )


def _fresh_problems(session: Session, problems: list[Problem]) -> list[Problem]:
    keys = [p.record_key for p in problems]
    if not keys:
        return []
    known = set(
        session.scalars(
            select(ExceptionRow.record_key).where(
                ExceptionRow.flow == FLOW,
                among(session, ExceptionRow.record_key, keys),
                ExceptionRow.status.in_(("open", "retrying", "ignored")),
            )
        )
    )
    return [p for p in problems if p.record_key not in known]
