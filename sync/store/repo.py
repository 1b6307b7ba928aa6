"""Repository functions: session first, the caller owns the transaction.

What the store keeps of vendor data and of people's input — exception payloads and reasons, run
errors, audit details — is kept with secrets masked at any depth (``collectors.redaction``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, Select, case, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from collectors.redaction import redact, redact_text
from sync.store.db import upsert
from sync.store.tables import (
    AuditRow,
    CursorRow,
    ExceptionRow,
    SyncRunRow,
    TimeEntryRow,
    XrefRow,
)
from sync.store.vocabulary import OPEN_STATUSES, ExceptionStatus, RunStatus

CHUNK = 500  # keys per IN list


def now() -> datetime:
    return datetime.now(UTC)


# --- cursors --------------------------------------------------------------------------------


def get_cursor(session: Session, system: str, stream: str) -> str | None:
    row = session.get(CursorRow, (system, stream))
    return row.value if row else None


def set_cursor(session: Session, system: str, stream: str, value: str) -> None:
    upsert(
        session,
        CursorRow,
        [{"system": system, "stream": stream, "value": value, "updated_at": now()}],
        keys=["system", "stream"],
    )


# --- cross-references -----------------------------------------------------------------------


def link(session: Session, entity_type: str, pairs: Iterable[tuple[str, str, str]]) -> None:
    """Record ``(canonical_id, system, external_id)`` pairs; existing links are kept."""
    rows = [
        {
            "entity_type": entity_type,
            "canonical_id": cid,
            "system": system,
            "external_id": ext,
            "created_at": now(),
        }
        for cid, system, ext in pairs
    ]
    upsert(session, XrefRow, rows, keys=["entity_type", "system", "external_id"], update=[])


def external_id(session: Session, entity_type: str, canonical_id: str, system: str) -> str | None:
    return session.scalar(
        select(XrefRow.external_id).where(
            XrefRow.entity_type == entity_type,
            XrefRow.canonical_id == canonical_id,
            XrefRow.system == system,
        )
    )


# --- exceptions (dead letters) ------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One record that could not flow, as the engine reports it."""

    record_key: str
    stage: str
    category: str
    reason: str
    payload: dict[str, Any] | None = None
    entity_type: str | None = None
    entity_id: str | None = None
    value_at_risk: Decimal | None = None
    currency: str | None = None


def report_problems(
    session: Session, flow: str, problems: Sequence[Problem], *, trace_id: str | None
) -> int:
    """Open (or refresh) one exception per record: a record that keeps failing keeps one row.
    Payloads and reasons are stored with secrets masked."""
    if not problems:
        return 0
    moment = now()
    rows = [
        {
            "flow": flow,
            "record_key": p.record_key,
            "stage": p.stage,
            "category": p.category,
            "reason": redact_text(p.reason),
            "payload": redact(p.payload),
            "entity_type": p.entity_type,
            "entity_id": p.entity_id,
            "value_at_risk": p.value_at_risk,
            "currency": p.currency,
            "attempts": 1,
            "first_seen": moment,
            "last_seen": moment,
            "trace_id": trace_id,
            "status": ExceptionStatus.OPEN,
        }
        for p in {p.record_key: p for p in problems}.values()
    ]
    dialect = session.get_bind().dialect.name
    stmt = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(ExceptionRow)
    refreshed = (
        "stage",
        "category",
        "reason",
        "payload",
        "entity_type",
        "entity_id",
        "value_at_risk",
        "currency",
        "last_seen",
        "trace_id",
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["flow", "record_key"],
        set_={
            **{c: stmt.excluded[c] for c in refreshed},
            "attempts": ExceptionRow.attempts + 1,
            "status": case(
                (ExceptionRow.status == ExceptionStatus.IGNORED, ExceptionStatus.IGNORED.value),
                else_=ExceptionStatus.OPEN.value,
            ),
        },
    )
    session.execute(stmt, rows)
    return len(rows)


def resolve_problems(session: Session, flow: str, record_keys: Sequence[str], *, note: str) -> int:
    """Resolve open exceptions of records that have now gone through.

    Flow 3 calls this for every page of records it stores, and most pages hold none with an open
    exception: so the flow's open exceptions are looked up first and only those rows are updated.
    Up to one more than the keys given are read (by status); when the flow has fewer open, they
    are matched with the keys in memory, else the keys are looked up on the unique
    ``(flow, record_key)`` index. A flow with nothing open costs one short query, not a write."""
    if not record_keys:
        return 0
    wanted = set(record_keys)
    open_rows = session.execute(
        select(ExceptionRow.id, ExceptionRow.record_key)
        .where(ExceptionRow.flow == flow, ExceptionRow.status.in_(OPEN_STATUSES))
        .limit(len(wanted) + 1)
    ).all()
    if len(open_rows) <= len(wanted):
        ids = [row_id for row_id, key in open_rows if key in wanted]
    else:
        ids = _open_ids(session, flow, sorted(wanted))
    resolved = 0
    for start in range(0, len(ids), CHUNK):
        result = session.execute(
            update(ExceptionRow)
            .where(ExceptionRow.id.in_(ids[start : start + CHUNK]))
            .where(ExceptionRow.status.in_(OPEN_STATUSES))  # as read, in this transaction
            .values(status=ExceptionStatus.RESOLVED, notes=note, last_seen=now())
        )
        resolved += result.rowcount  # type: ignore[attr-defined]
    return resolved


def open_record_keys(session: Session, flow: str, *, category: str, prefix: str) -> list[str]:
    """Record keys of the flow's open exceptions of ``category`` that start with ``prefix``."""
    return list(
        session.scalars(
            select(ExceptionRow.record_key).where(
                ExceptionRow.flow == flow,
                ExceptionRow.category == category,
                ExceptionRow.status.in_(OPEN_STATUSES),
                ExceptionRow.record_key.startswith(prefix, autoescape=True),
            )
        )
    )


def _open_ids(session: Session, flow: str, record_keys: Sequence[str]) -> list[int]:
    ids: list[int] = []
    for start in range(0, len(record_keys), CHUNK):
        ids += session.scalars(
            select(ExceptionRow.id).where(
                ExceptionRow.flow == flow,
                ExceptionRow.record_key.in_(record_keys[start : start + CHUNK]),
                ExceptionRow.status.in_(OPEN_STATUSES),
            )
        )
    return ids


# --- runs and audit -------------------------------------------------------------------------


def never_succeeded(session: Session, flows: Sequence[str]) -> list[str]:
    """Those of ``flows`` that have no succeeded run in this store, in the order given."""
    done = set(
        session.scalars(
            select(SyncRunRow.flow)
            .where(SyncRunRow.flow.in_(flows), SyncRunRow.status == RunStatus.SUCCEEDED)
            .distinct()
        )
    )
    return [flow for flow in flows if flow not in done]


def start_run(session: Session, flow: str, trace_id: str | None) -> int:
    run = SyncRunRow(flow=flow, started_at=now(), status=RunStatus.RUNNING, trace_id=trace_id)
    session.add(run)
    session.flush()
    return run.id


def finish_run(
    session: Session,
    run_id: int,
    *,
    status: RunStatus,
    records_in: int = 0,
    records_out: int = 0,
    exceptions: int = 0,
    error: str | None = None,
) -> None:
    session.execute(
        update(SyncRunRow)
        .where(SyncRunRow.id == run_id)
        .values(
            finished_at=now(),
            status=status,
            records_in=records_in,
            records_out=records_out,
            exceptions=exceptions,
            error=None if error is None else redact_text(error),
        )
    )


def audit(session: Session, actor: str, action: str, target: str, **detail: Any) -> None:
    """One audit row; its detail is stored with secrets masked."""
    session.add(
        AuditRow(at=now(), actor=actor, action=action, target=target, detail=redact(detail))
    )


class likely(FunctionElement[bool]):  # named as the SQL function it becomes
    """A predicate that holds for nearly every row (``deleted_at IS NULL``). SQLite plans
    without table statistics here, so it takes an equality such as ``IS NULL`` on an indexed
    column for the most selective term and reads the whole table through that index; wrapped in
    SQLite's ``likely(…)`` it picks the selective index (a date range) instead. Elsewhere the
    predicate is rendered as it is."""

    type = Boolean()
    name = "likely"
    inherit_cache = True


@compiles(likely)
def _predicate(element: likely, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(likely, "sqlite")
def _likely(element: likely, compiler: SQLCompiler, **kw: Any) -> str:
    return f"likely({compiler.process(element.clauses, **kw)})"


def live_time_entries() -> Select[*tuple[Any, ...]]:
    """The time entries that are not deleted, in the columns the KPIs and rollups read (id,
    resource, project, day, hours, billable, status, submitted, approved, vendor rate); callers
    add their own ``where`` clauses (a day range keeps it on the date index)."""
    row = TimeEntryRow
    return select(
        row.id,
        row.resource_id,
        row.project_id,
        row.spent_date,
        row.hours,
        row.billable,
        row.status,
        row.submitted_at,
        row.approved_at,
        row.vendor_rate,
    ).where(likely(row.deleted_at.is_(None)))
