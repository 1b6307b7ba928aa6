"""Real processes on PostgreSQL: two deferring schedulers, two workers, exactly-once."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text

from sandbox.server import Sandbox
from sync.store.db import make_engine, session_factory
from sync.store.tables import SyncRunRow
from sync.store.vocabulary import Flow
from tests.conftest import POSTGRES_URL, sandbox_environment

ROOT = Path(__file__).resolve().parents[2]
POSTING = (Flow.INVOICING, Flow.OUTBOX)


@pytest.fixture
def schema(postgres_ok: bool) -> Iterator[str]:
    if not postgres_ok:
        pytest.skip("PostgreSQL not reachable")
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{name}"'))
    yield name
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
    admin.dispose()


def wait_until(condition: Callable[[], bool], *, seconds: float) -> bool:
    """Whether ``condition`` came true within ``seconds`` (looked at five times a second)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def finished_runs(store: Engine) -> Counter[str]:
    """How many runs of each posting flow have finished."""
    query = (
        select(SyncRunRow.flow, func.count())
        .where(SyncRunRow.flow.in_(POSTING), SyncRunRow.finished_at.is_not(None))
        .group_by(SyncRunRow.flow)
    )
    with store.connect() as connection:
        return Counter({flow: count for flow, count in connection.execute(query).all()})


def diagnosis(store: Engine, folder: Path) -> str:
    """What the runs and the processes said, for a failure to be read from the CI log alone."""
    with session_factory(store)() as session:
        runs = session.execute(
            select(SyncRunRow.flow, SyncRunRow.status, func.count(), func.max(SyncRunRow.error))
            .group_by(SyncRunRow.flow, SyncRunRow.status)
            .order_by(SyncRunRow.flow)
        ).all()
    said = "\n".join(f"{flow} {status} ×{n}: {error or ''}" for flow, status, n, error in runs)
    for log in sorted(folder.glob("*.log")):
        said += f"\n--- {log.name} (last lines)\n" + "\n".join(log.read_text().splitlines()[-15:])
    return said


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", *args],
        env=env,
        cwd=ROOT,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )


def test_scheduler_and_two_worker_processes_post_each_invoice_once(
    schema: str, tmp_path: Path
) -> None:
    box = Sandbox(seed=11).serve(free_ports=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLAN2CASH")} | {
        "PYTHONPATH": str(ROOT),
        "PGOPTIONS": f"-csearch_path={schema}",
        "PLAN2CASH__DATABASE_URL": POSTGRES_URL,
        **sandbox_environment(box),
        "PLAN2CASH__SCHEDULE__REFERENCE_SECONDS": "1",
        "PLAN2CASH__SCHEDULE__TIME_SECONDS": "1",
        "PLAN2CASH__SCHEDULE__INVOICING_SECONDS": "1",
        "PLAN2CASH__SCHEDULE__OUTBOX_SECONDS": "1",
        "PLAN2CASH__SCHEDULE__STATUS_BACK_SECONDS": "1",
    }
    subprocess.run(
        [sys.executable, "-m", "app.cli", "db", "upgrade"],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    processes = [
        start(["run"], env, tmp_path / "scheduler.log"),
        start(["run"], env, tmp_path / "standby.log"),
        start(["worker", "--idle-seconds", "0.1"], env, tmp_path / "worker1.log"),
        start(["worker", "--idle-seconds", "0.1"], env, tmp_path / "worker2.log"),
    ]
    expected = len(box.firm.expected_invoices())
    store = make_engine(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"})
    try:
        wait_until(lambda: len(box.xero.invoices()) >= expected, seconds=60)
        # more scheduled rounds of the flows that post: nothing may be posted twice
        before = finished_runs(store)
        more = wait_until(
            lambda: all(finished_runs(store)[flow] >= before[flow] + 2 for flow in POSTING),
            seconds=30,
        )
        assert more, f"the posting flows ran {finished_runs(store) - before} more times"
        numbers = [i["InvoiceNumber"] for i in box.xero.invoices()]
        assert len(numbers) == len(set(numbers)) == expected, diagnosis(store, tmp_path)
        logs = [(tmp_path / n).read_text() for n in ("scheduler.log", "standby.log")]
        assert all("Deferring flow runs on the schedule" in log for log in logs)
        with store.connect() as connection:
            ticks = connection.execute(
                text(
                    "SELECT args->>'flow', args->>'timestamp' FROM procrastinate_jobs "
                    "WHERE task_name = 'plan2cash.flow'"
                )
            ).all()
        with session_factory(store)() as session:
            runs = session.scalars(select(SyncRunRow).order_by(SyncRunRow.started_at)).all()
        assert ticks and len(ticks) == len(set(ticks))  # two schedulers: each tick deferred once
        for flow in {r.flow for r in runs}:
            spans = [(r.started_at, r.finished_at) for r in runs if r.flow == flow]
            for (_, end), (start_, _) in itertools.pairwise(spans):
                assert end is not None and end <= start_, f"{flow} ran twice at once"
    finally:
        for process in processes:
            process.send_signal(signal.SIGINT)
        for process in processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
        store.dispose()
        box.stop()
