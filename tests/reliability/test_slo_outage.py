"""The invoice-posting SLO pages during a Xero outage and resolves after it.

The scenario ``outage:xero:2h`` makes Xero answer 503 for two simulated hours from its first
call. The engine runs every five simulated minutes and the alerts are evaluated after each run,
with the shipped ``slo-posted-page`` rule (99.5 % of invoices posted within 1 h; page on a burn
rate of 14.4× over 1 h and 5 min, or 6× over 6 h and 30 min). The invoices made as Xero goes down
miss their hour while it is still down: the page fires during the outage. Once Xero is back the
backlog posts and no new invoice is late: the page resolves.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import time_machine
from sqlalchemy import select

import alerts
from alerts.rules import default_tables
from sandbox.faults import TOKEN_PATHS
from sync.settings import Settings
from sync.store import AlertRow, AlertState
from sync.store.db import make_engine, session_factory
from sync.store.migrate import upgrade
from tests.reliability.sandboxed import START, quiet, rig

OUTAGE = timedelta(hours=2)
STEP = timedelta(minutes=5)
RULE = "slo-posted-page"


def state(store: object) -> AlertState | None:
    with session_factory(store)() as session:  # type: ignore[arg-type]
        row = session.scalars(select(AlertRow).where(AlertRow.rule == RULE)).first()
        return row.state if row is not None else None


def test_the_posting_slo_pages_during_a_xero_outage_and_resolves_after(tmp_path: Path) -> None:
    store = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    upgrade(store)
    r = rig(store, "outage:xero:2h", time_scale=1.0)
    r.box.fault_plans["xero"].exempt_paths = (*TOKEN_PATHS, "/connections")
    invoices = len(r.box.firm.expected_invoices())
    table = next(t for t in default_tables() if t["name"] == RULE)
    rules = alerts.load_rules([{**table, "min_events": min(10, invoices)}])
    settings = Settings(database_url=str(store.url))

    def evaluate() -> alerts.PassReport:
        return alerts.evaluate_and_notify(store, settings, datetime.now(UTC), rules=rules)

    seen: list[AlertState | None] = []
    try:
        with time_machine.travel(START, tick=True) as clock:
            r.engine.run_flow("outbox")  # the engine is live before the first invoice is made
            clock.shift(timedelta(minutes=1))
            r.engine.run_once()
            while datetime.now(UTC) < START + OUTAGE - STEP:  # Xero is down
                clock.shift(STEP)
                for flow in ("outbox", "status_back"):
                    r.engine.run_flow(flow)
                evaluate()
                seen.append(state(store))
            assert AlertState.FIRING in seen, seen
            assert seen[: seen.index(AlertState.FIRING)] == [None] * seen.index(AlertState.FIRING)
            for _ in range(12):  # Xero is back: the backlog drains, then time moves on
                clock.shift(timedelta(minutes=30))
                drained = quiet(r.engine.run_once(), store)
                evaluate()
                if drained:
                    break
            clock.shift(timedelta(hours=1))
            report = evaluate()
        assert invoices >= 1
        assert state(store) is AlertState.RESOLVED
        assert report.kept == []  # the SLI was read and judged on every pass
    finally:
        r.box.stop()
        store.dispose()
