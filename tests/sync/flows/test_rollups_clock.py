"""The rollups miss no late commit, whatever the engine's clock does beside the wall clock.

A late commit is a transaction that began before a rollups run and committed after it: its rows
carry a stamp older than the newest one that run saw. Here the seeded store's clock is the
engine's, and it runs a year behind the wall clock, a year ahead of it, or 1,440 times as fast
(the demo's accelerated firm: a real minute is a simulated day). After rounds of changes, each
followed by a run and a late commit, the rollups kept incrementally equal a rebuild.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select, update

from sync.flows import rollups
from sync.store.db import session_factory, transaction
from sync.store.tables import BillingEventRow, InvoiceRow, TimeEntryRow
from tests.metrics.seeded import TODAY, Firm, change, seed
from tests.sync.flows.test_rollups import assert_same, rebuild, snapshot

WALL_STEP = timedelta(minutes=6)  # real time between runs: a checkpoint settles every 3rd run
STARTED_BEFORE = timedelta(seconds=5)  # real time the late transaction was open before the run
CLOCKS = {
    "a year behind": (timedelta(days=365), 1),
    "a year ahead": (-timedelta(days=365), 1),
    "1440 times as fast": (timedelta(0), 1440),
}


def refresh(store: Engine, firm: Firm, wall: datetime) -> rollups.FlowResult:
    with transaction(session_factory(store)) as session:
        return rollups.refresh(session, today=TODAY, now=firm.clock, wall=wall)


def write(store: Engine, firm: Firm, stamp: datetime) -> None:
    """What a flow's transaction writes: a billing event repriced and an invoice's amount due
    changed, stamped when that transaction began."""
    with transaction(session_factory(store)) as session:
        event = firm.rng.choice(session.scalars(select(BillingEventRow)).all())
        session.execute(
            update(BillingEventRow)
            .where(BillingEventRow.id == event.id)
            .values(amount=event.amount + 100, updated_at=stamp)
        )
        invoice = firm.rng.choice(session.scalars(select(InvoiceRow)).all())
        session.execute(
            update(InvoiceRow)
            .where(InvoiceRow.id == invoice.id)
            .values(amount_due=0, status="paid", updated_at=stamp)
        )


@pytest.mark.parametrize("clock", list(CLOCKS))
def test_a_late_commit_is_not_missed(store: Engine, clock: str) -> None:
    behind, speed = CLOCKS[clock]
    firm = seed(store, 8, entries=250)
    wall = firm.clock + behind
    refresh(store, firm, wall)
    for _ in range(5):
        firm.clock += WALL_STEP * speed
        wall += WALL_STEP
        change(firm, 3)
        write(store, firm, firm.clock)  # began after the late one, committed before the run
        result = refresh(store, firm, wall)
        assert result.notes != ["full rebuild"]
        write(store, firm, firm.clock - STARTED_BEFORE * speed)  # the late commit
    firm.clock += WALL_STEP * speed
    refresh(store, firm, wall + WALL_STEP)
    incremental = snapshot(store)
    rebuild(store)
    assert_same(incremental, snapshot(store))


def test_the_overlap_ends_once_a_checkpoint_settles(store: Engine) -> None:
    """A change is read again by every run until ``OVERLAP`` has passed on both clocks since a run
    saw it; after that a run reads only the time entries' own lag window (the billable flow's)."""
    firm = seed(store, 9, entries=200)
    wall = firm.clock
    refresh(store, firm, wall)
    write(store, firm, firm.clock)
    refreshed = []
    for _ in range(8):
        firm.clock += WALL_STEP
        wall += WALL_STEP
        refreshed.append(refresh(store, firm, wall).notes[0])
    with store.connect() as connection:
        newest = connection.scalar(select(func.max(TimeEntryRow.updated_at)))
        window = connection.execute(
            select(TimeEntryRow.spent_date, TimeEntryRow.resource_id)
            .where(TimeEntryRow.updated_at >= newest - timedelta(minutes=5))
            .distinct()
        ).all()
    assert "0 invoices" not in refreshed[0]  # the change, read again while it may be late
    assert refreshed[-1] == f"{len(window)} cells, 0 customers, 0 invoices refreshed"
