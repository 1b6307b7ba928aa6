"""Xero is down for hours: invoices wait in the outbox, then post once each.

The scenario ``outage:xero:3h`` makes Xero answer 503 for three hours of simulated time from the
first call. The engine keeps running every few simulated minutes, as the scheduler would. While
Xero is down, the invoices wait in the outbox (retrying, with the error that holds them), the
failed runs say why, and nothing is given up on; once Xero is back everything drains: exactly the
expected invoices, each posted once.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import time_machine
from sqlalchemy import func, select

from sandbox.faults import TOKEN_PATHS
from sync.store.db import session_factory
from sync.store.tables import ExceptionRow, InvoiceRow, OutboxRow, SyncRunRow
from tests.conftest import migrated_sqlite
from tests.reliability.sandboxed import START, Rig, quiet, rig, xero_invoices

OUTAGE = timedelta(hours=3)
STEP = timedelta(minutes=5)


def outbox_states(r: Rig) -> dict[str, int]:
    with session_factory(r.store)() as s:
        return dict(
            s.execute(select(OutboxRow.status, func.count()).group_by(OutboxRow.status)).all()
        )


def test_invoices_wait_out_a_three_hour_xero_outage_and_post_once(tmp_path: Path) -> None:
    store = migrated_sqlite(tmp_path / "store.db")
    r = rig(store, "outage:xero:3h", time_scale=1.0)  # the outage lasts 3 simulated hours
    # Xero's identity service (tokens, connections) lives on its own host: an outage of the
    # accounting API leaves it up, so invoices are routed to their organisation and then wait
    r.box.fault_plans["xero"].exempt_paths = (*TOKEN_PATHS, "/connections")
    expected = r.box.firm.expected_invoices()
    try:
        with time_machine.travel(START, tick=True) as clock:
            first = {report.flow: report for report in r.engine.run_once()}
            assert first["invoicing"].result.records_out == len(expected) > 0
            assert first["outbox"].status == "failed" or first["outbox"].result.records_out == 0
            for _ in range(OUTAGE // STEP - 1):  # the scheduler keeps going while Xero is down
                clock.shift(STEP)
                reports = [r.engine.run_flow(flow) for flow in ("outbox", "status_back")]
                states = outbox_states(r)
                assert "dead" not in states and "failed" not in states, states
                assert r.box.xero.invoices() == []
                assert all(report.status == "failed" or report.result.records_out == 0
                           for report in reports)  # fmt: skip
            waiting = _waiting(r)
            assert waiting and all(w.status in ("pending", "retrying") for w in waiting)
            assert any(w.last_error and "503" in w.last_error for w in waiting)
            assert max(w.attempts for w in waiting) > 5  # retried all along, never given up
            with session_factory(store)() as s:
                failed_runs = s.scalars(
                    select(SyncRunRow.error).where(
                        SyncRunRow.flow == "status_back", SyncRunRow.status == "failed"
                    )
                ).all()
            assert failed_runs and all("503" in (error or "") for error in failed_runs)
            for _ in range(30):  # Xero is back: the backlog drains within hours
                clock.shift(timedelta(minutes=30))
                if quiet(r.engine.run_once(), store):
                    break
        invoices = xero_invoices(r.box)
        numbers = [number for number, _ in invoices]
        assert len(numbers) == len(set(numbers)) == len(expected)
        assert sum(total for _, total in invoices) == sum(e["total"] for e in expected)
        assert outbox_states(r) == {"delivered": len(expected)}
        with session_factory(store)() as s:
            assert set(s.scalars(select(InvoiceRow.status))) == {"posted"}
            assert not s.scalars(
                select(ExceptionRow.id).where(
                    ExceptionRow.flow == "outbox", ExceptionRow.status == "open"
                )
            ).all()
    finally:
        r.box.stop()
        store.dispose()


def _waiting(r: Rig) -> list[OutboxRow]:
    with session_factory(r.store)() as s:
        return list(s.scalars(select(OutboxRow).where(OutboxRow.status != "delivered")))
