"""Scale-out on PostgreSQL: one scheduler enqueues flow runs, any number of workers run them.

- The scheduler is a leader: it holds a PostgreSQL session advisory lock for as long as it lives;
  a second scheduler waits on the lock and takes over when the first one's connection goes.
  APScheduler's in-memory job store lives only in the leader (it is never shared).
- ``enqueue(flow)`` inserts a work item unless one for that flow is already queued or running
  (a partial unique index), so a slow flow's runs coalesce instead of piling up, and a flow
  never runs twice at once across processes.
- Workers claim items with ``SELECT … FOR UPDATE SKIP LOCKED``, hold a lease while they run, and
  mark the item done or failed. An item whose lease ran out (its worker died) is queued again.

On SQLite the same functions work in one process (there is no ``SKIP LOCKED``; one worker).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import Engine, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from sync.store.repo import now
from sync.store.tables import ACTIVE_WORK_ITEM, WorkItemRow

log = logging.getLogger("plan2cash.workqueue")

LEADER_LOCK_KEY = 0x706C616E32636173  # "plan2cas": one scheduler per database


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def enqueue(session: Session, flow: str) -> bool:
    """Queue a run of ``flow``; ``False`` when one is already queued or running."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(WorkItemRow)
        .values(flow=flow, status="queued", enqueued_at=now(), attempts=0)
        .on_conflict_do_nothing(index_elements=["flow"], index_where=text(ACTIVE_WORK_ITEM))
        .returning(WorkItemRow.id)
    )
    return session.execute(statement).scalar() is not None


def claim(session: Session, *, worker: str, lease: timedelta) -> WorkItemRow | None:
    """Take the oldest queued item, skipping items other workers are claiming right now."""
    query = (
        select(WorkItemRow)
        .where(WorkItemRow.status == "queued")
        .order_by(WorkItemRow.enqueued_at, WorkItemRow.id)
        .limit(1)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    item = session.scalars(query).first()
    if item is None:
        return None
    moment = now()
    item.status, item.claimed_at, item.claimed_by = "running", moment, worker
    item.lease_until, item.attempts = moment + lease, item.attempts + 1
    return item


def finish(session: Session, item_id: int, *, error: str | None = None) -> None:
    session.execute(
        update(WorkItemRow)
        .where(WorkItemRow.id == item_id)
        .values(status="failed" if error else "done", finished_at=now(), error=error)
    )


def requeue_expired(session: Session) -> int:
    """Queue again the running items whose worker's lease ran out (it crashed or hung)."""
    expired = session.scalars(
        select(WorkItemRow).where(WorkItemRow.status == "running", WorkItemRow.lease_until < now())
    ).all()
    for item in expired:
        log.warning(
            "work item %s (%s) of %s lost its lease; queued again",
            item.id,
            item.flow,
            item.claimed_by,
        )
        item.status, item.claimed_by, item.lease_until = "queued", None, None
    return len(expired)


def work(
    sessions: sessionmaker[Session],
    run_flow: Callable[[str], object],
    *,
    lease: timedelta = timedelta(minutes=30),
    idle_seconds: float = 1.0,
    stop: threading.Event | None = None,
    max_items: int | None = None,
) -> int:
    """Claim and run items until ``stop`` is set (or ``max_items`` ran); returns items run."""
    name, done = worker_name(), 0
    while not (stop and stop.is_set()) and (max_items is None or done < max_items):
        with sessions() as session, session.begin():
            item = claim(session, worker=name, lease=lease)
            claimed = (item.id, item.flow) if item else None
        if claimed is None:
            time.sleep(idle_seconds)
            continue
        error = _run(run_flow, claimed[1])
        with sessions() as session, session.begin():
            finish(session, claimed[0], error=error)
        done += 1
    return done


def _run(run_flow: Callable[[str], object], flow: str) -> str | None:
    try:
        report = run_flow(flow)
    except Exception as exc:  # a worker survives any one flow's failure
        log.exception("flow %s failed in a worker", flow)
        return f"{type(exc).__name__}: {exc}"
    return getattr(report, "error", None) if getattr(report, "status", "") == "failed" else None


@contextmanager
def leadership(
    engine: Engine, *, poll_seconds: float = 5.0, stop: threading.Event | None = None
) -> Iterator[bool]:
    """Hold the scheduler's advisory lock while the block runs (PostgreSQL); wait for it if
    another scheduler has it. Yields ``False`` only when ``stop`` was set while waiting."""
    if engine.dialect.name != "postgresql":
        yield True
        return
    with engine.connect() as connection:
        while not connection.execute(
            text("SELECT pg_try_advisory_lock(:key)"), {"key": LEADER_LOCK_KEY}
        ).scalar():
            connection.rollback()
            if stop is not None and stop.wait(poll_seconds):
                yield False
                return
            if stop is None:
                time.sleep(poll_seconds)
        connection.commit()
        log.info("this process is the scheduler (leader)")
        try:
            yield True
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LEADER_LOCK_KEY})
            connection.commit()
