"""Crash anywhere: SIGKILL the engine at seeded random points during backfill and invoicing.

The firm's four legal entities keep their books in four ERPs (Xero, Dynamics 365, Oracle Fusion,
NetSuite). A crash lands after a database commit, after a response from Harvest or any ERP, or
after a response from one chosen ERP (so that each ERP's own writes are cut short, whatever the
others do). After each crash the engine is started again (as an operator or a supervisor would)
until a run completes. Then each legal entity's ERP must hold exactly its expected invoices —
none missing, none twice, no half-made document, totals to the cent — and the store every source
record. Trials: PLAN2CASH_CRASH_TRIALS (default 30), each with its own seed.

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
from pathlib import Path

import pytest
from sqlalchemy import func, select

from sandbox.server import Sandbox
from sandbox.world.catalog import ERPS
from sync.store.db import make_engine
from sync.store.tables import TimeEntryRow
from tests.conftest import migrated_sqlite
from tests.reliability import crashy_engine
from tests.sandbox.books import assert_each_erp_holds_the_truth

TRIALS = int(os.environ.get("PLAN2CASH_CRASH_TRIALS", "30"))
RUN_TIMEOUT_SECONDS = 120
FORKS = multiprocessing.get_context("forkserver")
FORKS.set_forkserver_preload(["tests.reliability.crashy_engine"])
# where a crash may land, and how many such points a clean run of the sandbox firm passes (≈84
# commits; ≈89 responses: Harvest 12, Xero 9, Dynamics 365 37, Fusion 15, NetSuite 16): every
# point drawn lies inside the first run, so each trial crashes at least once
POINTS = {
    "commit": 60,
    "call": 80,
    "call:xero": 8,
    "call:dynamics365": 34,
    "call:oracle_fusion": 14,
    "call:netsuite": 15,
}


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
    box = Sandbox(seed=7, entities=4, erps=ERPS).serve(free_ports=True)
    db = tmp_path / "store.db"
    migrated_sqlite(db).dispose()
    crashes, kinds = 0, []
    try:
        for _ in range(2):  # crashes at two random points, then a clean run
            kind = rng.choice(sorted(POINTS))
            point = rng.randint(1, POINTS[kind])
            code = run_engine(box, db, kind, point)
            if code == 0:
                break  # finished before reaching the crash point
            assert code == -9, f"engine failed instead of crashing (exit {code}):\n{engine_log(db)}"
            crashes += 1
            kinds.append(f"{kind} {point}")
        assert crashes >= 1
        assert run_engine(box, db, "none", 0) == 0, engine_log(db)
        expected = box.firm.expected_invoices()
        invoices = [invoice for _, invoice in box.books()]
        assert len(invoices) == len(expected), f"after crashes at {kinds}"
        assert sum(i.total for i in invoices) == sum(e["total"] for e in expected)
        assert_each_erp_holds_the_truth(box, note=f"after crashes at {kinds}")
        store = make_engine(f"sqlite:///{db}")
        with store.connect() as conn:
            stored = conn.scalar(select(func.count()).select_from(TimeEntryRow))
        store.dispose()
        assert stored == len(box.harvest.entries())
    finally:
        box.stop()
