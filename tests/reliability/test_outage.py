"""An ERP is down for hours: its invoices wait in the outbox, then post once each.

The firm's legal entities keep their books in four ERPs. The scenario ``outage:<erp>:3h`` makes
one of them (Xero, or Dynamics 365, which has no idempotency header) answer 503 for three hours
of simulated time from its first call. The engine keeps running every few simulated minutes, as
the scheduler would. While the ERP is down, its invoices wait in the outbox (retrying, with the
error that holds them) while the other ERPs get theirs, the failed runs say why, and nothing is
given up on; once it is back everything drains: each legal entity's ERP holds exactly the
expected invoices, each posted once.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import func, select

from sandbox.faults import TOKEN_PATHS
from sync.store.db import session_factory
from sync.store.tables import ExceptionRow, InvoiceRow, OutboxRow, SyncRunRow
from tests.conftest import migrated_sqlite
from tests.reliability.sandboxed import START, Rig, erp_invoices, quiet, rig
from tests.sandbox.books import assert_each_erp_holds_the_truth

OUTAGE = timedelta(hours=3)
STEP = timedelta(minutes=5)
# Xero's identity service (tokens, connections) lives on its own host, as Entra ID does for
# Dynamics 365: an outage of the accounting API leaves it up, so invoices are routed to their
# books and then wait
IDENTITY = {"xero": (*TOKEN_PATHS, "/connections"), "dynamics365": TOKEN_PATHS}


def outbox_states(r: Rig) -> dict[str, int]:
    with session_factory(r.store)() as s:
        return dict(
            s.execute(select(OutboxRow.status, func.count()).group_by(OutboxRow.status)).all()
        )


@pytest.mark.parametrize("down", ["xero", "dynamics365"])
def test_invoices_wait_out_a_three_hour_erp_outage_and_post_once(down: str, tmp_path: Path) -> None:
    store = migrated_sqlite(tmp_path / "store.db")
    r = rig(store, f"outage:{down}:3h", time_scale=1.0)  # the outage lasts 3 simulated hours
    r.box.fault_plans[down].exempt_paths = IDENTITY[down]
    expected = r.box.firm.expected_invoices()
    try:
        with time_machine.travel(START, tick=True) as clock:
            first = {report.flow: report for report in r.engine.run_once()}
            assert first["invoicing"].result.records_out == len(expected) > 0
            assert first["outbox"].status == "failed" or first["outbox"].result.records_out < len(
                expected
            )
            for _ in range(OUTAGE // STEP - 1):  # the scheduler keeps going while it is down
                clock.shift(STEP)
                reports = [r.engine.run_flow(flow) for flow in ("outbox", "status_back")]
                states = outbox_states(r)
                assert "dead" not in states and "failed" not in states, states
                assert r.box.emulators[down].receivables() == []
                assert all(report.status == "failed" or report.result.records_out == 0
                           for report in reports)  # fmt: skip
            waiting = _waiting(r)
            assert waiting and all(w.status in ("pending", "retrying") for w in waiting)
            entity = next(e.id for e in r.box.world.legal_entities if e.erp == down)
            held_back = [i for i in expected if i["legal_entity_id"] == entity]
            assert len(waiting) == len(held_back) > 0  # the other ERPs got theirs meanwhile
            assert (
                entity not in {e for e, _ in r.box.books()} and len(r.box.world.legal_entities) > 1
            )
            assert all(w.last_error and "503" in w.last_error for w in waiting)
            if down == "xero":  # routed to their organisation, retried all along, never given up
                assert max(w.attempts for w in waiting) > 5
            else:  # its companies cannot be listed: unrouted, waiting without spending attempts
                assert {w.attempts for w in waiting} == {0}
            with session_factory(store)() as s:
                failed_runs = s.scalars(
                    select(SyncRunRow.error).where(
                        SyncRunRow.flow == "status_back", SyncRunRow.status == "failed"
                    )
                ).all()
            # the runs that failed on the ERP that is down say why (another ERP's emulator may
            # refuse a run as well: its rate windows count real seconds, which the test compresses)
            on_down = [error for error in failed_runs if (error or "").startswith(f"{down} ")]
            assert on_down and all("503" in error for error in on_down if error)
            for _ in range(30):  # the ERP is back: the backlog drains within hours
                clock.shift(timedelta(minutes=30))
                if quiet(r.engine.run_once(), store):
                    break
        invoices = erp_invoices(r.box)
        numbers = [number for _, number, _ in invoices]
        assert len(numbers) == len(set(numbers)) == len(expected)
        assert sum(total for _, _, total in invoices) == sum(e["total"] for e in expected)
        assert_each_erp_holds_the_truth(r.box, note=f"after the {down} outage")
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
