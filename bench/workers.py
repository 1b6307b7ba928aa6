"""Scale-out benchmark (issue 5): one vs two worker processes on PostgreSQL.

What two workers can parallelise: a job is one flow run, and a flow never runs twice at
once (DESIGN §5), so one flow-3 backfill is one job and takes one worker however many there are.
What they do share out is a queue of *different* flows — what the scheduler enqueues on a busy
tick. So the workload here is the queue of a first sync of the ``medium`` firm once its reference
data is in (untimed): flow 3's backfill (~200,000 entries), status back from Xero, and customers
and people from the CRM and HR systems — flows that do not read each other's output, so each does
the same work whichever order the workers take them in (the deletion reconciliation, which reads
flow 3's output, is left out for that reason). Each flow run is a procrastinate job deferred as
the schedule defers it (``sync.queue.defer_flow``); the queue is drained by 1 worker, then (on a
fresh schema) by 2 worker processes that run procrastinate's worker as ``plan2cash worker`` does
(stopping once the queue is empty). Printed: the drain time of each, the speed-up, each flow's
own seconds (from its ``sync_runs`` row) and the floor (the longest single flow).

Each worker process runs the sandbox's emulators in-process (its own copy of the same seeded
firm), so these figures include the emulators' time; the machine has two cores, which PostgreSQL
shares with the workers.

    python -m bench.workers [--size medium] [--url postgresql+psycopg://…]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date

from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, select, text

from sandbox.server import Sandbox
from sync.engine import Engine as SyncEngine
from sync.queue import build_app, defer_flow, run_workers
from sync.settings import Settings
from sync.store.db import make_engine, session_factory
from sync.store.migrate import upgrade
from sync.store.tables import SyncRunRow

console = Console(width=110)
TODAY = date(2026, 11, 25)
SEED = 7
WORKLOAD = ("billable", "status_back", "customers", "people")
DEFAULT_URL = os.environ.get(
    "PLAN2CASH_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--size", default="medium", choices=["tiny", "small", "medium", "large"])
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--worker", nargs=2, metavar=("SCHEMA", "SIZE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.url, *args.worker)
        return
    figures = {count: trial(args.url, args.size, count) for count in (1, 2)}
    report(args.size, figures)


def trial(url: str, size: str, workers: int) -> tuple[float, dict[str, float]]:
    """Drain the workload with ``workers`` processes on a fresh schema: seconds from deferring
    the flow runs (every worker registered and waiting) to the last run finished, and each
    flow's seconds."""
    with scratch_schema(url) as (store, schema):
        with console.status(f"{workers} worker(s): reference data for the {size} firm…"):
            prepare(store, size)
        processes = [_spawn(url, schema, size) for _ in range(workers)]
        try:
            _wait_for(lambda: _count(store, REGISTERED) == workers, processes)
            with (
                build_app(store).open() as queue,
                console.status(f"{workers} worker(s) draining {len(WORKLOAD)} flow runs…"),
            ):
                prepared = _count(store, LAST_RUN)
                started = time.perf_counter()
                for flow in WORKLOAD:
                    assert defer_flow(queue, flow)
                _wait_for(lambda: _count(store, UNFINISHED) == 0, processes)
                drained = time.perf_counter() - started
        finally:
            for process in processes:
                assert process.stdin is not None
                process.stdin.close()  # the worker stops
            for process in processes:
                if process.wait() != 0:
                    raise RuntimeError(f"a worker failed with exit code {process.returncode}")
        return drained, _flow_seconds(store, after=prepared)


REGISTERED = "SELECT count(*) FROM procrastinate_workers"
UNFINISHED = (
    "SELECT count(*) FROM procrastinate_jobs "
    "WHERE task_name = 'plan2cash.flow' AND status IN ('todo', 'doing')"
)


def _count(store: Engine, query: str) -> int:
    with store.connect() as connection:
        return int(connection.execute(text(query)).scalar() or 0)


def _wait_for(condition: Callable[[], bool], processes: list[subprocess.Popen[str]]) -> None:
    while not condition():
        if any(p.poll() is not None for p in processes):
            raise RuntimeError("a worker stopped early")
        time.sleep(0.02)


def prepare(store: Engine, size: str) -> None:
    """Reference data, and the first reads billable waits for (``sync.queue.FIRST_READ_BEFORE``);
    then the customers' and people's cursors are dropped, so that the workload reads them in full
    again, as a first run does."""
    with Sandbox(seed=SEED, today=TODAY, size=size) as box:
        engine = SyncEngine(Settings(database_url=_url(store)), store, transports=box.transports())
        for flow in ("reference", "customers", "people"):
            report = engine.run_flow(flow)
            assert report.status == "succeeded", report.error
    with store.begin() as connection:
        connection.execute(text(FORGET_CURSORS))


FORGET_CURSORS = "DELETE FROM cursors WHERE system IN ('salesforce', 'bamboohr')"
LAST_RUN = "SELECT coalesce(max(id), 0) FROM sync_runs"


def _flow_seconds(store: Engine, *, after: int) -> dict[str, float]:
    """Each workload flow's seconds, from the runs after run ``after`` (the preparation's)."""
    with session_factory(store)() as session:
        workload = SyncRunRow.flow.in_(WORKLOAD) & (SyncRunRow.id > after)
        runs = session.scalars(select(SyncRunRow).where(workload)).all()
    failed = [f"{r.flow}: {r.error}" for r in runs if r.status != "succeeded"]
    if failed or len(runs) != len(WORKLOAD):
        raise RuntimeError(f"flow runs failed or missing ({len(runs)} ran): " + "; ".join(failed))
    return {r.flow: (r.finished_at - r.started_at).total_seconds() for r in runs if r.finished_at}


def worker(url: str, schema: str, size: str) -> None:
    """One worker process: build the sandbox and engine, then run queued flow runs (as
    ``plan2cash worker`` does) until its standard input closes."""
    store = _engine(url, schema)
    with Sandbox(seed=SEED, today=TODAY, size=size) as box:
        engine = SyncEngine(Settings(database_url=_url(store)), store, transports=box.transports())
        stop = threading.Event()
        threading.Thread(target=_stop_at_end_of_input, args=(stop,), daemon=True).start()
        run_workers(build_app(store, run_flow=engine.run_flow), idle_seconds=0.05, stop=stop)


def _stop_at_end_of_input(stop: threading.Event) -> None:
    sys.stdin.read()
    stop.set()


@contextmanager
def scratch_schema(url: str) -> Iterator[tuple[Engine, str]]:
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = make_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    store = _engine(url, schema)
    upgrade(store)
    try:
        yield store, schema
    finally:
        store.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _engine(url: str, schema: str) -> Engine:
    return make_engine(url, connect_args={"options": f"-csearch_path={schema}"})


def _url(store: Engine) -> str:
    return store.url.render_as_string(hide_password=False)


def _spawn(url: str, schema: str, size: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bench.workers", "--url", url, "--worker", schema, size],
        stdin=subprocess.PIPE,
        text=True,
    )


def report(size: str, figures: dict[int, tuple[float, dict[str, float]]]) -> None:
    one, two = figures[1][0], figures[2][0]
    table = Table(
        title=f"Workers on PostgreSQL — first sync of the {size} firm ({len(WORKLOAD)} flows)"
    )
    table.add_column("measure")
    table.add_column("1 worker", justify="right")
    table.add_column("2 workers", justify="right")
    table.add_row("queue drained in", f"{one:.2f} s", f"{two:.2f} s")
    table.add_row(
        "flow runs per minute", f"{len(WORKLOAD) / one * 60:.1f}", f"{len(WORKLOAD) / two * 60:.1f}"
    )
    for flow in WORKLOAD:
        table.add_row(
            f"  {flow}",
            f"{figures[1][1].get(flow, 0):.2f} s",
            f"{figures[2][1].get(flow, 0):.2f} s",
        )
    longest = max(figures[2][1].values())
    table.add_row("speed-up", "", f"{one / two:.2f}×")
    table.add_row("floor: the longest single flow", "", f"{longest:.2f} s")
    console.print(table)
    console.print(
        "One flow run is one job: flow 3's backfill is never split, so two workers cut "
        "the drain time only by running the other flows beside it."
    )


if __name__ == "__main__":
    main()
