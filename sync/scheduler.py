"""The schedule: each flow on its own interval under APScheduler 3.

Jobs are coalesced (a backlog of missed runs becomes one run), one instance at a time, and a run
that misses its slot by less than one interval still runs. The job store is in memory: one
process, one scheduler (APScheduler's job store must never be shared by two schedulers).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.orm import Session, sessionmaker

from sync.engine import FLOWS, Engine
from sync.settings import Schedule
from sync.workqueue import enqueue, requeue_expired


def intervals(schedule: Schedule) -> dict[str, int]:
    return {
        "customers": schedule.customers_seconds,
        "people": schedule.people_seconds,
        "reference": schedule.reference_seconds,
        "billable": schedule.time_seconds,
        "invoicing": schedule.invoicing_seconds,
        "outbox": schedule.outbox_seconds,
        "status_back": schedule.status_back_seconds,
        "reconcile": schedule.reconcile_seconds,
        "rollups": schedule.rollups_seconds,
    }


def build_scheduler(engine: Engine, schedule: Schedule, *, blocking: bool) -> BaseScheduler:
    """A scheduler with one job per flow. At start every flow runs once, in dependency order,
    as one job (so the first invoices do not wait for the slowest interval); then each flow
    runs on its own interval."""
    scheduler: BaseScheduler = (
        BlockingScheduler(timezone=UTC) if blocking else BackgroundScheduler(timezone=UTC)
    )
    start = datetime.now(UTC)
    scheduler.add_job(
        engine.run_once,
        "date",
        run_date=start,
        id="startup",
        name="every flow once, in order",
        misfire_grace_time=None,
    )
    for name, seconds in intervals(schedule).items():
        assert name in FLOWS
        scheduler.add_job(
            engine.run_flow,
            IntervalTrigger(seconds=seconds, timezone=UTC),
            args=[name],
            id=name,
            name=f"flow {name}",
            coalesce=True,
            max_instances=1,
            misfire_grace_time=seconds,
            next_run_time=start + timedelta(seconds=seconds),
            replace_existing=True,
        )
    return scheduler


def build_enqueuer(
    sessions: sessionmaker[Session], schedule: Schedule, *, blocking: bool
) -> BaseScheduler:
    """The leader's scheduler on PostgreSQL: it only enqueues work items (workers run them) and
    takes back the items of workers that died."""
    scheduler: BaseScheduler = (
        BlockingScheduler(timezone=UTC) if blocking else BackgroundScheduler(timezone=UTC)
    )
    start = datetime.now(UTC)
    for name, seconds in intervals(schedule).items():
        scheduler.add_job(
            _enqueue,
            IntervalTrigger(seconds=seconds, timezone=UTC),
            args=[sessions, name],
            id=name,
            name=f"enqueue {name}",
            coalesce=True,
            max_instances=1,
            misfire_grace_time=seconds,
            next_run_time=start,
            replace_existing=True,
        )
    scheduler.add_job(
        _requeue,
        IntervalTrigger(seconds=60, timezone=UTC),
        args=[sessions],
        id="leases",
        name="take back expired leases",
        coalesce=True,
        max_instances=1,
        next_run_time=start,
    )
    return scheduler


def _enqueue(sessions: sessionmaker[Session], flow: str) -> None:
    with sessions() as session, session.begin():
        enqueue(session, flow)


def _requeue(sessions: sessionmaker[Session]) -> None:
    with sessions() as session, session.begin():
        requeue_expired(session)
