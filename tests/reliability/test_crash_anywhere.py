"""Crash anywhere: SIGKILL the engine at seeded random points during backfill and invoicing.

After each crash the engine is started again (as an operator or a supervisor would) until a run
completes. Then the Xero emulator must hold exactly the expected invoices — none missing, none
twice, totals to the cent — and the store every source record. Trials: PLAN2CASH_CRASH_TRIALS
(default 30), each with its own seed.

Each run of the engine is a process of its own, killed with SIGKILL where the seed says; the
processes are forked from a server that has imported the engine once (``forkserver``), so a run
starts at the engine's first step instead of at the interpreter's. A trial's store starts as a
copy of a freshly migrated one; every run still migrates it first, as the engine's start does.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from sandbox.server import Sandbox
from sync.store.db import make_engine
from sync.store.tables import TimeEntryRow
from tests.conftest import migrated_sqlite
from tests.reliability import crashy_engine

TRIALS = int(os.environ.get("PLAN2CASH_CRASH_TRIALS", "30"))
RUN_TIMEOUT_SECONDS = 120
FORKS = multiprocessing.get_context("forkserver")
FORKS.set_forkserver_preload(["tests.reliability.crashy_engine"])


def run_engine(box: Sandbox, db: Path, kind: str, n: int) -> int:
    """Runs the engine in a new process until it finishes or kills itself; its exit code."""
    argv = [f"sqlite:///{db}", json.dumps(box.connections()), kind, str(n)]
    log = db.with_name("engine.log")
    process = FORKS.Process(target=crashy_engine.run_logged, args=(argv, str(log)))
    process.start()
    process.join(RUN_TIMEOUT_SECONDS)
    if process.exitcode is None:
        process.kill()
        process.join()
        pytest.fail(f"engine still running after {RUN_TIMEOUT_SECONDS} s:\n{log.read_text()}")
    return process.exitcode


def engine_log(db: Path) -> str:
    return db.with_name("engine.log").read_text()


@pytest.mark.parametrize("trial", range(TRIALS))
def test_crash_anywhere_then_restart_converges(trial: int, tmp_path: Path) -> None:
    rng = random.Random(trial)
    box = Sandbox(seed=7).serve(free_ports=True)
    db = tmp_path / "store.db"
    migrated_sqlite(db).dispose()
    crashes = 0
    try:
        for _ in range(2):  # crashes at two random points, then a clean run
            kind = rng.choice(["commit", "call"])
            # a clean run of the sandbox firm makes ≈60 commits and ≈20 vendor calls: every
            # point drawn here lies inside a run, so each trial crashes at least once
            point = rng.randint(1, 30 if kind == "commit" else 15)
            code = run_engine(box, db, kind, point)
            if code == 0:
                break  # finished before reaching the crash point
            assert code == -9, f"engine failed instead of crashing (exit {code}):\n{engine_log(db)}"
            crashes += 1
        assert crashes >= 1
        assert run_engine(box, db, "none", 0) == 0, engine_log(db)
        expected = box.firm.expected_invoices()
        invoices = box.xero.invoices()
        numbers = [i["InvoiceNumber"] for i in invoices]
        assert len(numbers) == len(set(numbers)) == len(expected), f"after {crashes} crashes"
        assert sum(Decimal(str(i["Total"])) for i in invoices) == sum(e["total"] for e in expected)
        store = make_engine(f"sqlite:///{db}")
        with store.connect() as conn:
            stored = conn.scalar(select(func.count()).select_from(TimeEntryRow))
        store.dispose()
        assert stored == len(box.harvest.entries())
    finally:
        box.stop()
