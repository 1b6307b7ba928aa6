"""Scale-out on PostgreSQL: each flow run is a procrastinate job; any number of workers run them.

What holds, and which part of procrastinate makes it hold:

- **A flow never runs twice at once.** Every run of flow ``f`` is a job with ``lock="flow:f"``;
  a worker does not fetch a job while another job with its lock is running, and the database
  refuses a second running job with the same lock (a unique index over running jobs).
- **Triggers coalesce.** The same string is the job's ``queueing_lock``: while a run of ``f``
  waits, a second one is refused (``defer_flow`` returns ``False``), so a slow flow has at most
  one run waiting behind the one running.
- **No lease, so no timeout.** A run may take as long as it takes: nothing takes it over while
  its worker is alive. Workers heartbeat; the stalled sweep (a periodic job) retries the running
  jobs of workers whose heartbeat is older than ``stalled_after_seconds`` (a worker that was
  killed or lost its database), so another worker picks the run up.
- **The schedule is deferred by every worker, each tick once.** Each flow is a periodic task on
  a cron grid matching its ``settings.schedule`` interval; procrastinate records each
  (task, flow, tick) once, so any number of processes defer without a leader.

Other periodic work (the alert evaluation, registered by the application layer) is added with
:func:`add_periodic`: deferred on its cron grid once per tick across every process, with its own
lock (never two at once) and queueing lock (at most one waiting).

On SQLite there is no queue: ``plan2cash run`` runs every flow in one process (``scheduler``).
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Any

from procrastinate import App, JobContext, PsycopgConnector, exceptions
from procrastinate.jobs import Status
from procrastinate.periodic import PeriodicDeferrer
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from sync.scheduler import intervals
from sync.settings import Schedule
from sync.store.repo import never_succeeded
from sync.store.vocabulary import Flow

log = logging.getLogger("plan2cash.queue")

FLOW_TASK = "plan2cash.flow"
SWEEP_TASK = "plan2cash.retry_stalled"
HOUSEKEEPING_TASK = "plan2cash.remove_old_jobs"
KEEP_FINISHED_HOURS = 72  # finished jobs (and their events) stay this long, for inspection
RunFlow = Callable[[str], object]
# Workers run flows in any order. Time is priced only once the CRM's contract terms (caps), the
# people and the reference data have each been read once: priced before, it could be billed past
# a cap nobody had read yet. After the first sync the order no longer matters.
FIRST_READ_BEFORE: dict[str, tuple[Flow, ...]] = {  # a Flow key is its text
    Flow.BILLABLE: (Flow.CUSTOMERS, Flow.PEOPLE, Flow.REFERENCE),
}


def flow_lock(flow: str) -> str:
    """The lock and queueing lock of every run of ``flow``."""
    return f"flow:{flow}"


def cron_for(seconds: int) -> tuple[str, int]:
    """A cron expression (seconds in the sixth column) firing every ``seconds`` on the clock's
    grid, and the interval it fires at: the longest grid interval not over ``seconds`` (a cron
    grid divides a minute, an hour or a day evenly; a day at most)."""
    for unit, span, template in (
        (86400, 1, "0 0 * * * 0"),
        (3600, 24, "0 */{n} * * * 0"),
        (60, 60, "*/{n} * * * * 0"),
        (1, 60, "* * * * * */{n}"),
    ):
        if seconds >= unit:
            n = max(d for d in range(1, span + 1) if span % d == 0 and d * unit <= seconds)
            return template.format(n=n), n * unit
    return "* * * * * *", 1


def build_app(
    store: Engine,
    *,
    schedule: Schedule | None = None,
    run_flow: RunFlow | None = None,
    heartbeat_seconds: float = 10.0,
    stalled_after_seconds: float = 30.0,
    max_connections: int = 8,
) -> App:
    """A procrastinate app on the store's database and schema, with the flow task, the stalled
    sweep and housekeeping; with ``schedule``, each flow is deferred on its interval. An app
    without ``run_flow`` only defers (it runs no worker)."""
    connector = PsycopgConnector(
        conninfo=_conninfo(store),
        kwargs={"options": f"-csearch_path={_escaped(_search_path(store))}"},
        min_size=1,
        max_size=max_connections,
    )
    app = App(
        connector=connector,
        worker_defaults={
            "update_heartbeat_interval": heartbeat_seconds,
            "stalled_worker_timeout": stalled_after_seconds,
            "name": "plan2cash",
        },
        # at start, a flow whose last tick was not deferred yet is deferred now (the first runs
        # do not wait for the slowest interval)
        periodic_defaults={"max_delay": 86400},
    )
    _register_flow(app, store, run_flow, schedule)
    _register_sweep(app, stalled_after_seconds)
    return app


def add_periodic(app: App, name: str, seconds: int, run: Callable[[], object]) -> None:
    """Run ``run`` every ``seconds`` (on the cron grid, see :func:`cron_for`) as the task
    ``plan2cash.<name>``, once per tick across every worker, never twice at once. Register it in
    every process of the app (those that defer and those that run workers)."""
    task_name, lock = f"plan2cash.{name}", f"periodic:{name}"

    def periodic(timestamp: int) -> str:
        return str(run())

    cron, every = cron_for(seconds)
    if every != seconds:
        log.warning("%s: %s s is not on a cron grid; deferred every %s s", name, seconds, every)
    task = app.task(name=task_name, retry=False)(periodic)
    app.periodic(cron=cron, periodic_id=name, lock=lock, queueing_lock=lock)(task)


def waiting_for(store: Engine, flow: str) -> list[str]:
    """The flows that must have run once before ``flow`` may (:data:`FIRST_READ_BEFORE`)."""
    before = FIRST_READ_BEFORE.get(flow, ())
    if not before:
        return []
    with Session(store) as session:
        return never_succeeded(session, before)


def _register_flow(
    app: App, store: Engine, run_flow: RunFlow | None, schedule: Schedule | None
) -> None:
    def run(timestamp: int, flow: str) -> str:
        """One run of ``flow``, asked for at ``timestamp`` (a periodic tick, or a trigger);
        a flow whose inputs were never read yet waits for a later tick."""
        if run_flow is None:
            raise RuntimeError("this process only defers flow runs")
        waiting = waiting_for(store, flow)
        if waiting:
            log.info("flow %s waits for the first run of %s", flow, ", ".join(waiting))
            return f"{flow} waiting for {', '.join(waiting)}"
        report = run_flow(flow)
        return f"{flow} {getattr(report, 'status', 'ran')}"

    task = app.task(name=FLOW_TASK, retry=False)(run)
    for flow, seconds in intervals(schedule).items() if schedule else ():
        cron, every = cron_for(seconds)
        if every != seconds:
            log.warning(
                "flow %s: %s s is not on a cron grid; deferred every %s s", flow, seconds, every
            )
        lock = flow_lock(flow)
        app.periodic(
            cron=cron, periodic_id=flow, lock=lock, queueing_lock=lock, task_kwargs={"flow": flow}
        )(task)


def _register_sweep(app: App, stalled_after_seconds: float) -> None:
    async def sweep(context: JobContext, timestamp: int) -> int:
        return await retry_stalled(context.app, stalled_after_seconds=stalled_after_seconds)

    async def housekeeping(context: JobContext, timestamp: int) -> None:
        await context.app.job_manager.delete_old_jobs(
            nb_hours=KEEP_FINISHED_HOURS, include_failed=True, include_aborted=True
        )

    # no ``lock``: a sweep whose worker died must not keep the next sweeps from running
    cron, _ = cron_for(max(1, math.ceil(stalled_after_seconds / 2)))
    app.periodic(cron=cron, periodic_id="sweep", queueing_lock=SWEEP_TASK)(
        app.task(name=SWEEP_TASK, pass_context=True, retry=False)(sweep)
    )
    app.periodic(cron="0 3 * * * 0", periodic_id="daily", queueing_lock=HOUSEKEEPING_TASK)(
        app.task(name=HOUSEKEEPING_TASK, pass_context=True, retry=False)(housekeeping)
    )


async def retry_stalled(app: App, *, stalled_after_seconds: float) -> int:
    """Put the running jobs of workers silent for ``stalled_after_seconds`` back in the queue;
    returns how many. A stalled run whose flow already has a run waiting is ended as failed
    instead (the waiting run covers it: triggers coalesce)."""
    stalled = await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=stalled_after_seconds)
    retried = 0
    for job in stalled:
        try:
            await app.job_manager.retry_job(job)
        except exceptions.UniqueViolation:
            await app.job_manager.finish_job(job, status=Status.FAILED, delete_job=False)
            log.warning("stalled job %s (%s) ended: a run of it already waits", job.id, job.lock)
            continue
        except exceptions.ConnectorException:
            continue  # no longer running: a sweep beside this one took it
        log.warning("stalled job %s (%s) retried: its worker stopped", job.id, job.lock)
        retried += 1
    return retried


def defer_flow(app: App, flow: str) -> bool:
    """Queue a run of ``flow`` (the app open synchronously); ``False`` when one already waits."""
    lock = flow_lock(flow)
    try:
        deferrer = app.configure_task(FLOW_TASK, lock=lock, queueing_lock=lock)
        deferrer.defer(timestamp=int(time.time()), flow=flow)
    except exceptions.AlreadyEnqueued:
        return False
    return True


def run_workers(
    app: App,
    *,
    concurrency: int = 1,
    idle_seconds: float = 1.0,
    wait: bool = True,
    stop: threading.Event | None = None,
) -> None:
    """Run a worker taking up to ``concurrency`` jobs at once (each in a thread) until stopped:
    by SIGINT/SIGTERM in the main thread (running jobs finish first), by ``stop``, or — with
    ``wait=False`` — as soon as the queue is empty. It also defers the periodic tasks."""
    options: dict[str, Any] = {
        "concurrency": concurrency,
        "fetch_job_polling_interval": idle_seconds,
        "wait": wait,
        "install_signal_handlers": threading.current_thread() is threading.main_thread(),
    }
    asyncio.run(_work(app, options, stop))


def defer_on_schedule(app: App) -> None:
    """Defer the app's periodic tasks on their ticks until interrupted; runs no job."""

    async def defer() -> None:
        async with app.open_async():
            await PeriodicDeferrer(app.periodic_registry, **app.periodic_defaults).worker()

    asyncio.run(defer())


async def _work(app: App, options: dict[str, Any], stop: threading.Event | None) -> None:
    async with app.open_async():
        worker = asyncio.create_task(app.run_worker_async(**options))
        if stop is not None:
            while not stop.is_set() and not worker.done():
                await asyncio.sleep(0.05)
            worker.cancel()  # procrastinate stops gracefully: running jobs finish first
        try:
            await worker
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise  # this coroutine itself is being cancelled


def _search_path(store: Engine) -> str:
    with store.connect() as connection:
        return str(connection.execute(text("SELECT current_setting('search_path')")).scalar())


def _escaped(option: str) -> str:
    """A value inside libpq's ``options`` (spaces and backslashes escaped)."""
    return option.replace("\\", "\\\\").replace(" ", "\\ ")


def _conninfo(store: Engine) -> str:
    return store.url.set(drivername="postgresql").render_as_string(hide_password=False)
