"""Time to billable (flow 3): approved Harvest time → validated, priced billing events.

Pages of time entries changed since the cursor are read, checked by the rules a batch of pages
(~20,000 entries) at a time, and stored (``sync.flows.billable_store``): every entry as a time
entry row, every approved billable entry that passes as a billing event with a deterministic id,
every one that fails as one open exception (category and a plain reason, the payload as
received). Entries held for a reason a later change may cure are checked again on every run
(``recheck_waiting``). The cursor advances in the transaction of the last batch: Harvest sorts by
``spent_date``, not by ``updated_at``, so no earlier page boundary is safe.

Pages are read straight from the response body into frames (``harvest.time_entry_pages``; a record
is decoded only to become an exception's payload), ahead of the batch being stored
(``sync.pipeline.prefetched``), and a batch is checked and stored as one frame in one transaction:
the rules and the store's lookups cost per statement as much as per entry, so ten pages at once
cost little more than one.
Pages keep whole days (``whole_days``), so a batch does too.

A batch is checked while the one before is stored, by another thread (``sync.pipeline.Behind``):
a batch's rules read the stored entries of its own days, which the batch being stored does not
touch (it holds other days; should it share one, the check waits for it), and a contract's cap
counts what the batch being stored commits, so the cap is applied once that batch is committed
(``capped``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

import polars as pl

from collectors import harvest
from sync.flows import history
from sync.flows.billable_store import (
    FLOW,
    Writes,
    billable,
    billing_event_rows,
    checked,
    reference_for,
    store_page,
    time_entry_rows,
)
from sync.flows.context import FlowContext, FlowResult
from sync.pipeline import Behind, prefetched, with_last
from sync.rules import Reference, capped, judged
from sync.store import problems
from sync.store.db import transaction
from sync.store.repo import get_cursor, set_cursor
from sync.store.vocabulary import OPEN_STATUSES, ExceptionCategory
from sync.telemetry import tracer

T = TypeVar("T", bound=Sequence[Any])


# Entries held for these reasons may be cured by a later reference sync (a project or an
# assignment that arrived after the time), a change elsewhere (a corrected termination date or
# project currency, a raised cap, a reopened period, the twin deleted, another entry of the day
# corrected), so they are checked again on every run.
REFERENCE_CATEGORIES = (
    ExceptionCategory.UNKNOWN_PROJECT,
    ExceptionCategory.CLOSED_PROJECT,
    ExceptionCategory.INACTIVE_CONTRACT,
    ExceptionCategory.CURRENCY_MISMATCH,
    ExceptionCategory.TERMINATED_RESOURCE,
    ExceptionCategory.NO_ASSIGNMENT,
    ExceptionCategory.RATE_CARD_MISSING,
    ExceptionCategory.CLOSED_PERIOD,
    ExceptionCategory.DUPLICATE,
    ExceptionCategory.OVER_24H,
    ExceptionCategory.OVER_CAP,
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


def recheck_waiting(ctx: FlowContext, reference: Reference) -> FlowResult:
    """Check entries that wait on reference data again, from their stored payloads (the latest
    version seen), against the reference data as it is now."""
    with ctx.sessions() as session:
        waiting = problems.held_payloads(
            session, FLOW, OPEN_STATUSES, categories=REFERENCE_CATEGORIES
        )
    result = FlowResult()
    for start in range(0, len(waiting), PAGE):
        page = waiting[start : start + PAGE]
        with tracer.start_as_current_span("billable recheck", attributes={"records": len(page)}):
            with ctx.sessions() as session:
                frame = checked(session, page, reference)
            with transaction(ctx.sessions) as session:
                result.add(store_page(session, frame, page, moment=ctx.clock()))
    return result
