"""Scale-out on procrastinate: one run per flow at a time, coalesced triggers, no lease to outlive,
stalled workers' runs retried elsewhere, the schedule deferred once per tick by any number."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from procrastinate import App
from sqlalchemy import Engine, inspect, select, text

from sandbox.server import Sandbox
from sync.engine import FLOWS
from sync.queue import add_periodic, build_app, cron_for, defer_flow, flow_lock, run_workers
from sync.settings import Schedule
from sync.store.db import session_factory
from sync.store.tables import SyncRunRow
from tests.sync.sandboxed import engine_for

ROOT = Path(__file__).resolve().parents[2]
OLD_LEASE_SECONDS = 2.0  # stands in for the lease the home-made queue gave a run (30 min)


class Runs:
    """Fake flow runs that record who ran what and whether a flow ever ran twice at once."""

    def __init__(self, seconds: float = 0.0) -> None:
        self.seconds = seconds
        self.lock = threading.Lock()
        self.running: set[str] = set()
        self.done: list[tuple[str, str]] = []
        self.overlaps: list[str] = []

    def runner(self, label: str) -> Callable[[str], str]:
        def run(flow: str) -> str:
            with self.lock:
                if flow in self.running:
                    self.overlaps.append(flow)
                self.running.add(flow)
            time.sleep(self.seconds)
            with self.lock:
                self.running.discard(flow)
                self.done.append((label, flow))
            return "succeeded"

        return run


def fast_app(
    store: Engine, run_flow: Callable[[str], object], schedule: Schedule | None = None
) -> App:
    """A worker's app that heartbeats every 0.2 s and calls a worker silent for 1 s stalled."""
    return build_app(
        store,
        schedule=schedule,
        run_flow=run_flow,
        heartbeat_seconds=0.2,
        stalled_after_seconds=1.0,
    )


@contextmanager
def workers(apps: list[App]) -> Iterator[None]:
    """Each app's worker in a thread until the block ends."""
    stop = threading.Event()
    threads = [
        threading.Thread(
            target=run_workers, args=(app,), kwargs={"idle_seconds": 0.05, "stop": stop}
        )
        for app in apps
    ]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)


def jobs(store: Engine, task: str = "plan2cash.flow") -> list[tuple[str, str, int]]:
    with store.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT args->>'flow', status::text, attempts FROM procrastinate_jobs "
                "WHERE task_name = :task ORDER BY id"
            ),
            {"task": task},
        ).all()
    return [(r[0], r[1], r[2]) for r in rows]


def wait_until(condition: Callable[[], bool], seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def drained(store: Engine) -> bool:
    return all(status not in ("todo", "doing") for _, status, _ in jobs(store))


def test_migrations_give_postgresql_the_queue_and_sqlite_none(
    postgres_store: Engine, sqlite_store: Engine
) -> None:
    on_postgres = set(inspect(postgres_store).get_table_names())
    assert {"procrastinate_jobs", "procrastinate_workers"} <= on_postgres
    assert "work_items" not in on_postgres
    on_sqlite = set(inspect(sqlite_store).get_table_names())
    assert not {t for t in on_sqlite if t.startswith("procrastinate_")}
    assert "work_items" not in on_sqlite


@pytest.mark.parametrize(
    ("seconds", "cron", "every"),
    [
        (1, "* * * * * */1", 1),
        (7, "* * * * * */6", 6),
        (30, "* * * * * */30", 30),
        (45, "* * * * * */30", 30),
        (60, "*/1 * * * * 0", 60),
        (300, "*/5 * * * * 0", 300),
        (3600, "0 */1 * * * 0", 3600),
        (5400, "0 */1 * * * 0", 3600),
        (86400, "0 0 * * * 0", 86400),
        (3 * 86400, "0 0 * * * 0", 86400),
    ],
)
def test_an_interval_becomes_the_longest_cron_grid_not_over_it(
    seconds: int, cron: str, every: int
) -> None:
    assert cron_for(seconds) == (cron, every)


def test_a_second_trigger_while_a_run_waits_is_refused(postgres_store: Engine) -> None:
    with build_app(postgres_store).open() as app:
        assert defer_flow(app, "billable") is True
        assert defer_flow(app, "billable") is False
        assert defer_flow(app, "outbox") is True
    assert [(flow, status) for flow, status, _ in jobs(postgres_store)] == [
        ("billable", "todo"),
        ("outbox", "todo"),
    ]


def test_time_is_priced_only_after_contracts_people_and_reference_were_read_once(
    postgres_store: Engine,
) -> None:
    """On a new store a billable run waits (its job ends, nothing runs) until customers, people
    and reference have each succeeded once: priced earlier, time could pass a cap not yet read."""
    runs = Runs()
    with (
        build_app(postgres_store).open() as deferrer,
        workers([fast_app(postgres_store, runs.runner("w"))]),
    ):
        assert defer_flow(deferrer, "billable")
        wait_until(lambda: drained(postgres_store))
        assert runs.done == []
        with session_factory(postgres_store).begin() as s:
            for flow in ("customers", "people", "reference"):
                now = datetime.now(UTC)
                s.add(SyncRunRow(flow=flow, started_at=now, finished_at=now, status="succeeded"))
        assert defer_flow(deferrer, "billable")
        wait_until(lambda: drained(postgres_store) and len(runs.done) == 1)
    assert runs.done == [("w", "billable")]


def test_a_run_slower_than_the_old_lease_runs_once_and_coalesces_triggers(
    postgres_store: Engine,
) -> None:
    # the run outlives the old lease, many heartbeats and several stalled sweeps; a second
    # worker is idle the whole time and triggers keep coming
    runs = Runs(seconds=OLD_LEASE_SECONDS * 2)
    apps = [fast_app(postgres_store, runs.runner(f"w{i}")) for i in (1, 2)]
    with build_app(postgres_store).open() as deferrer, workers(apps):
        assert defer_flow(deferrer, "reconcile")
        wait_until(lambda: "reconcile" in runs.running)
        outcomes = []
        for _ in range(int(OLD_LEASE_SECONDS * 10)):
            outcomes.append(defer_flow(deferrer, "reconcile"))
            time.sleep(0.1)
        wait_until(lambda: drained(postgres_store) and len(runs.done) >= 2)
    assert outcomes[0] is True and not any(outcomes[1:])  # one waits; the rest coalesce
    assert runs.overlaps == []
    assert [flow for _, flow in runs.done] == ["reconcile", "reconcile"]
    assert jobs(postgres_store) == [("reconcile", "succeeded", 1)] * 2  # never retried
    # a sweep the periodic deferrer queued just before the workers stopped is still "todo"
    sweeps = [s for _, s, _ in jobs(postgres_store, task="plan2cash.retry_stalled") if s != "todo"]
    assert sweeps and all(status == "succeeded" for status in sweeps), sweeps


def test_a_killed_workers_run_is_retried_by_another_worker(postgres_store: Engine) -> None:
    url = postgres_store.url.render_as_string(hide_password=False)
    with postgres_store.connect() as connection:
        schema = connection.execute(text("SELECT current_schema()")).scalar()
    with build_app(postgres_store).open() as deferrer:
        assert defer_flow(deferrer, "reconcile")
    hung = subprocess.Popen(
        [sys.executable, "-m", "tests.sync.hung_worker", url, str(schema)],
        cwd=ROOT,
        env=os.environ | {"PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert hung.stdout is not None and hung.stdout.readline().strip() == "running reconcile"
        assert jobs(postgres_store) == [("reconcile", "doing", 0)]
    finally:
        hung.kill()  # SIGKILL mid-run: no heartbeat again, no cleanup
        hung.wait(10)
    runs = Runs()
    with workers([fast_app(postgres_store, runs.runner("survivor"))]):
        wait_until(lambda: runs.done == [("survivor", "reconcile")] and drained(postgres_store))
    assert jobs(postgres_store) == [("reconcile", "succeeded", 2)]  # killed once, run once


def test_two_workers_never_run_a_flow_twice_at_once(
    postgres_store: Engine, sandbox: Sandbox
) -> None:
    ran: list[tuple[str, str]] = []

    def runner(label: str) -> Callable[[str], object]:
        engine = engine_for(sandbox, postgres_store)

        def run(flow: str) -> object:
            ran.append((label, flow))
            return engine.run_flow(flow)

        return run

    apps = [fast_app(postgres_store, runner(label)) for label in ("a", "b")]
    with build_app(postgres_store).open() as deferrer, workers(apps):
        # the schedule keeps deferring every flow (a round or more after the last invoice:
        # nothing may be posted twice); a run that fails is run again by a later round
        expected = len(sandbox.firm.expected_invoices())
        deadline = time.monotonic() + 60
        rounds_after = 0
        while rounds_after < 6 and time.monotonic() < deadline:
            for flow in FLOWS:
                defer_flow(deferrer, flow)
            time.sleep(0.15)
            rounds_after += len(sandbox.xero.invoices()) >= expected
        wait_until(lambda: drained(postgres_store))
    with session_factory(postgres_store)() as s:
        runs = s.scalars(select(SyncRunRow).order_by(SyncRunRow.started_at)).all()
    assert {status for _, status, _ in jobs(postgres_store)} == {"succeeded"}
    assert {label for label, _ in ran} == {"a", "b"}  # both workers took work
    for flow in FLOWS:
        spans = [(r.started_at, r.finished_at) for r in runs if r.flow == flow]
        for (_, end), (start, _) in itertools.pairwise(spans):
            assert end is not None and end <= start, f"{flow} ran twice at once"
    numbers = [i["InvoiceNumber"] for i in sandbox.xero.invoices()]
    assert len(numbers) == len(set(numbers)) == len(sandbox.firm.expected_invoices())
    assert sum(Decimal(str(i["Total"])) for i in sandbox.xero.invoices()) == sum(
        e["total"] for e in sandbox.firm.expected_invoices()
    )


def test_the_schedule_is_deferred_once_per_tick_by_any_number_of_workers(
    postgres_store: Engine,
) -> None:
    schedule = Schedule(people_seconds=1)  # the other flows' first ticks are deferred at start
    runs = Runs(seconds=0.3)
    apps = [fast_app(postgres_store, runs.runner(f"w{i}"), schedule) for i in (1, 2, 3)]
    with workers(apps):
        wait_until(lambda: sum(flow == "people" for _, flow in runs.done) >= 3)
    with postgres_store.connect() as connection:
        ticks = (
            connection.execute(
                text(
                    "SELECT args->>'timestamp' FROM procrastinate_jobs "
                    "WHERE task_name = 'plan2cash.flow' AND args->>'flow' = 'people'"
                )
            )
            .scalars()
            .all()
        )
    assert len(ticks) >= 3 and len(ticks) == len(set(ticks))  # each tick deferred once
    assert runs.overlaps == []
    assert {flow for _, flow in runs.done} >= {"people", "customers", "reconcile"}
    assert flow_lock("people") == "flow:people"


def test_a_periodic_job_runs_once_per_tick_across_workers_never_twice_at_once(
    postgres_store: Engine,
) -> None:
    lock = threading.Lock()
    running, overlaps, done = [0], [0], [0]

    def evaluate() -> str:
        with lock:
            running[0] += 1
            overlaps[0] += running[0] > 1
        time.sleep(0.3)
        with lock:
            running[0] -= 1
            done[0] += 1
        return "evaluated"

    apps = [fast_app(postgres_store, Runs().runner(f"w{i}")) for i in (1, 2, 3)]
    for app in apps:
        add_periodic(app, "alerts", 1, evaluate)
    with workers(apps):
        wait_until(lambda: done[0] >= 3)
    with postgres_store.connect() as connection:
        ticks = (
            connection.execute(
                text(
                    "SELECT args->>'timestamp' FROM procrastinate_jobs "
                    "WHERE task_name = 'plan2cash.alerts'"
                )
            )
            .scalars()
            .all()
        )
    assert len(ticks) >= 3 and len(ticks) == len(set(ticks))  # each tick deferred once
    assert overlaps[0] == 0
