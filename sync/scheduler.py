"""The schedule: each flow on its own interval under APScheduler 3 (the embedded SQLite mode).

Jobs are coalesced (a backlog of missed runs becomes one run), one instance at a time, and a run
that misses its slot by less than one interval still runs. The job store is in memory: one
process, one scheduler (APScheduler's job store must never be shared by two schedulers). On
PostgreSQL the same intervals are procrastinate periodic tasks instead (``sync.queue``).

Other packages add their own periodic work as :class:`ScheduledJob` (the alert evaluation, added
by the application layer: ``sync`` knows nothing of alerts); such a job runs on the same terms.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger

from sync.engine import FLOWS, Engine
from sync.settings import Schedule


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


@dataclass(frozen=True)
class ScheduledJob:
    """Periodic work besides the flows: ``run`` every ``seconds``, one at a time, coalesced.
    ``run`` must not raise (a job logs its own failure; the scheduler would only log it)."""

    id: str
    name: str
    seconds: int
    run: Callable[[], object]


def build_scheduler(
    engine: Engine,
    schedule: Schedule,
    *,
    blocking: bool,
    extra_jobs: Sequence[ScheduledJob] = (),
) -> BaseScheduler:
    """A scheduler with one job per flow. At start every flow runs once, in dependency order,
    as one job (so the first invoices do not wait for the slowest interval); then each flow
    runs on its own interval. Each of ``extra_jobs`` runs on its own interval from its first
    interval on."""
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
    for job in extra_jobs:
        scheduler.add_job(
            job.run,
            IntervalTrigger(seconds=job.seconds, timezone=UTC),
            id=job.id,
            name=job.name,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=job.seconds,
            next_run_time=start + timedelta(seconds=job.seconds),
            replace_existing=True,
        )
    return scheduler
