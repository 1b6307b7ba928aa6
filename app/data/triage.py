"""Exceptions: the headline, the filtered list and one exception in full (cached), and the
triage actions (replay, resolve, ignore, reopen, assign) through :mod:`sync.replay`, the functions
the CLI uses: audited, never cached, and each forgets every cached result when it is done."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
import streamlit as st

from app import frames, labels
from app.data.store import TTL_SECONDS, engine, refresh, settings
from metrics import health, load
from sync import edit_input, replay
from sync.access import Identity
from sync.engine import Engine as SyncEngine
from sync.replay import ExceptionFilter
from sync.store import (
    ExceptionRow,
    ExceptionStatus,
    journeys,
    session_factory,
    transaction,
    triage,
)


@dataclass(frozen=True)
class ExceptionHeadline:
    """Triage headlines over every exception in the store (filters do not apply)."""

    fetched_at: datetime
    total: int  # exceptions of any status, ever
    open: int  # open or retrying
    value_at_risk: pl.DataFrame  # currency, amount, count (open exceptions with a value)
    oldest_open_days: float | None
    opened_last_day: int  # first seen in the last 24 h, whatever their status now
    by_category: pl.DataFrame  # category, open, oldest_days
    at_risk_by_category: pl.DataFrame  # category, currency, amount, count


@dataclass(frozen=True)
class ExceptionList:
    """The exceptions a filter selects (``rows`` capped at the limit; ``matching`` is all)."""

    rows: pl.DataFrame  # sync.store.triage.EXCEPTION_COLUMNS + age_days
    matching: int


@dataclass(frozen=True)
class ExceptionDetail:
    """One exception with its payload as received, audit history and the record's journey."""

    exception: dict[str, Any]  # sync.store.triage.EXCEPTION_COLUMNS + age_days
    payload: dict[str, Any] | None
    history: pl.DataFrame  # at, actor, action, reason, detail
    journey: pl.DataFrame  # occurred_at, event, entity_type, entity_id, trace_id, detail

    @property
    def replayable_with_edit(self) -> bool:
        """Only a held time entry can be edited before it is replayed."""
        ex = self.exception
        return ex["flow"] == "billable" and ex["entity_type"] == "time_entry" and bool(self.payload)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def exception_headline() -> ExceptionHeadline:
    """Open count, value at risk per currency, oldest open age, opened in the last 24 h."""
    now = datetime.now(UTC)
    with engine().connect() as connection:
        open_exceptions = health.open_exceptions(load.exceptions(connection), now=now)
        oldest = triage.oldest_open(connection)
        total = triage.total_count(connection)
        open_now = triage.open_count(connection)
        at_risk = triage.value_at_risk(connection)
    with session_factory(engine())() as session:
        opened = replay.summary_since(session, now - timedelta(days=1))
    return ExceptionHeadline(
        fetched_at=now,
        total=total,
        open=open_now,
        value_at_risk=at_risk,
        oldest_open_days=(now - oldest).total_seconds() / 86_400 if oldest else None,
        opened_last_day=sum(opened.values()),
        by_category=frames.open_by_category(open_exceptions),
        at_risk_by_category=frames.at_risk_by_category(open_exceptions),
    )


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def exception_choices() -> tuple[list[str], list[str]]:
    """Flows and categories to filter by: those in the store plus every known category."""
    with engine().connect() as connection:
        pairs = triage.flows_and_categories(connection)
    flows = sorted(set(pairs["flow"].to_list()))
    categories = sorted(set(pairs["category"].to_list()) | set(labels.CATEGORIES))
    return flows, categories


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def exceptions(which: ExceptionFilter, limit: int = 500) -> ExceptionList:
    """The exceptions ``which`` selects, oldest id first, at most ``limit`` of them."""
    with session_factory(engine())() as session:
        frame = triage.exception_frame(replay.find(session, which, limit=limit))
        matching = triage.matching(session, which.statement())
    return ExceptionList(frames.with_age(frame, now=datetime.now(UTC)), matching)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def exception_detail(exception_id: int) -> ExceptionDetail | None:
    """One exception in full, or ``None`` if it does not exist (any more)."""
    with session_factory(engine())() as session:
        row = session.get(ExceptionRow, exception_id)
        if row is None:
            return None
        frame = triage.exception_frame([row])
        payload = row.payload
        related = journeys.related_ids(row)
        edits = journeys.billing_event_edits(session, related)
        history = [
            (entry.at, entry.actor, entry.action, *labels.audit_detail(entry.detail))
            for entry in triage.audit_history(session, exception_id)
        ]
    exception = frames.with_age(frame, now=datetime.now(UTC)).row(0, named=True)
    return ExceptionDetail(
        exception=exception,
        payload=payload,
        history=pl.DataFrame(
            history,
            schema={
                "at": pl.Datetime("us", "UTC"),
                "actor": pl.String,
                "action": pl.String,
                "reason": pl.String,
                "detail": pl.String,
            },
            orient="row",
        ),
        journey=_journey(related, edits),
    )


def _journey(entity_ids: list[str], edits: list[journeys.BillingEventEdit]) -> pl.DataFrame:
    """The records' business events in time order, with the edit a billing event was made from
    as a step of its own (``detail``: who changed what, and the audit row)."""
    with engine().connect() as connection:
        events = triage.journey(connection, entity_ids)
    events = events.with_columns(detail=pl.lit(None, dtype=pl.String))
    steps = pl.DataFrame(
        [
            (e.at, journeys.EDITED, "billing_event", e.billing_event_id, None, e.summary)
            for e in edits
        ],
        schema=events.schema,
        orient="row",
    )
    return pl.concat([events, steps]).sort("occurred_at", maintain_order=True)


def parse_edit(text: str) -> dict[str, Any] | None:
    """The JSON object a person typed to change a time entry before replaying it (blank: no
    edit); a :class:`ValueError` with a message for a person otherwise."""
    return edit_input.parse_edit(text)


def replay_exceptions(
    which: ExceptionFilter,
    *,
    actor: Identity,
    reason: str,
    dry_run: bool,
    edit: dict[str, Any] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> pl.DataFrame:
    """Replay (or dry-run) what ``which`` selects; one outcome row per exception."""
    context = SyncEngine(settings(), engine()).context
    report = replay.replay(
        context, which, actor=actor, reason=reason, dry_run=dry_run, edit=edit, progress=progress
    )
    if not dry_run:
        refresh()
    return pl.DataFrame(
        [
            (o.exception_id, o.record_key, o.result, o.before, o.after, o.currency, o.detail)
            for o in report.outcomes
        ],
        schema={
            "id": pl.Int64,
            "record_key": pl.String,
            "result": pl.String,
            "before": pl.Decimal(18, 2),
            "after": pl.Decimal(18, 2),
            "currency": pl.String,
            "detail": pl.String,
        },
        orient="row",
    )


def set_exception_status(
    which: ExceptionFilter,
    status: ExceptionStatus,
    *,
    actor: Identity,
    reason: str,
) -> int:
    """Resolve, ignore or reopen what ``which`` selects, audited; how many changed."""
    with transaction(session_factory(engine())) as session:
        changed = replay.set_status(session, which, status, actor=actor, reason=reason)
    refresh()
    return changed


def assign_exceptions(which: ExceptionFilter, assignee: str, *, actor: Identity) -> int:
    """Assign what ``which`` selects to ``assignee``, audited; how many changed."""
    with transaction(session_factory(engine())) as session:
        changed = replay.assign(session, which, assignee, actor=actor)
    refresh()
    return changed
