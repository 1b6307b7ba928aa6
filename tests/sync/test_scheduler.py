from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine

from sync.engine import FLOWS
from sync.engine import Engine as SyncEngine
from sync.scheduler import ScheduledJob, build_scheduler
from sync.settings import Schedule, Settings


def test_every_flow_runs_once_in_order_then_on_its_own_interval(sqlite_store: Engine) -> None:
    engine = SyncEngine(Settings(), sqlite_store)
    schedule = Schedule(
        reference_seconds=600,
        time_seconds=60,
        invoicing_seconds=120,
        outbox_seconds=30,
        status_back_seconds=240,
    )
    scheduler = build_scheduler(engine, schedule, blocking=False)
    scheduler.start(paused=True)
    try:
        jobs = {job.id: job for job in scheduler.get_jobs()}
        assert set(jobs) == {"startup", *FLOWS}
        assert jobs["startup"].func == engine.run_once
        now = datetime.now(UTC)
        for name, seconds in (
            ("reference", 600),
            ("billable", 60),
            ("invoicing", 120),
            ("outbox", 30),
            ("status_back", 240),
        ):
            job = jobs[name]
            assert job.trigger.interval.total_seconds() == seconds
            assert job.coalesce and job.max_instances == 1
            assert 0 < (job.next_run_time - now).total_seconds() <= seconds
            assert job.args == (name,)
    finally:
        scheduler.shutdown(wait=False)


def test_an_extra_job_runs_on_its_own_interval_one_at_a_time(sqlite_store: Engine) -> None:
    engine = SyncEngine(Settings(), sqlite_store)
    ran: list[str] = []
    extra = ScheduledJob("alerts", "alert evaluation", 60, lambda: ran.append("x"))
    scheduler = build_scheduler(engine, Schedule(), blocking=False, extra_jobs=[extra])
    scheduler.start(paused=True)
    try:
        job = scheduler.get_job("alerts")
        assert job is not None and job.name == "alert evaluation"
        assert job.trigger.interval.total_seconds() == 60
        assert job.coalesce and job.max_instances == 1
        assert 0 < (job.next_run_time - datetime.now(UTC)).total_seconds() <= 60
        job.func()
        assert ran == ["x"]
    finally:
        scheduler.shutdown(wait=False)
