"""Business time comes from the engine's clock; bookkeeping keeps the wall clock.

The demo runs the engine on the sandbox's simulated clock, so when an invoice was raised and
posted, when a credit note was posted, when status came back from Xero, when a billing event was
created or put on an invoice and when a business event happened must be read from
``FlowContext.clock``; the outbox's machinery (``delivered_at``,
backoff) and ``recorded_at`` stay real time. Here the clock is fixed a year before the wall clock,
and the sandbox runs on it too.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, delete, func, select

from sandbox.server import Sandbox
from sync.flows import rollups
from sync.store.db import session_factory, transaction
from sync.store.tables import (
    BillingEventRow,
    BusinessEventRow,
    CompensationRow,
    CursorRow,
    InvoiceRow,
    OutboxRow,
    TimeEntryRow,
)
from tests.sync.flows.test_rollups import assert_same, snapshot
from tests.sync.sandboxed import engine_for, first_pending_event

TODAY = date(2025, 11, 25)
ENGINE_STAMPED = (
    "invoice.created",
    "invoice.posted",
    "customer.linked",
    "credit_note.created",
    "credit_note.posted",
    "credit_note.allocated",
)


class Firm:
    """A tiny sandbox firm and an engine that both live on ``clock``."""

    def __init__(self, store: Engine) -> None:
        self.now = datetime(2025, 11, 25, 12, tzinfo=UTC)
        self.box = Sandbox(seed=7, today=TODAY, now=lambda: self.now)
        self.store = store
        self.engine = engine_for(self.box, store, clock=lambda: self.now)

    def run(self) -> None:
        assert {r.status for r in self.engine.run_once()} == {"succeeded"}


@pytest.fixture
def firm(store: Engine) -> Iterator[Firm]:
    made = Firm(store)
    yield made
    made.box.stop()


def _events(store: Engine) -> list[BusinessEventRow]:
    with session_factory(store)() as s:
        return list(
            s.scalars(select(BusinessEventRow).where(BusinessEventRow.name.in_(ENGINE_STAMPED)))
        )


def test_invoices_are_raised_and_posted_at_the_engines_time(firm: Firm, store: Engine) -> None:
    started = datetime.now(UTC)
    firm.run()
    with session_factory(store)() as s:
        invoices = s.scalars(select(InvoiceRow)).all()
        delivered = s.scalars(select(OutboxRow.delivered_at)).all()
    assert invoices and {i.status for i in invoices} == {"posted"}
    for invoice in invoices:
        assert invoice.created_at == invoice.posted_at == invoice.updated_at == firm.now
        assert invoice.posted_at is not None and invoice.posted_at.year == 2025
    assert delivered and all(d is not None and d >= started for d in delivered)
    events = _events(store)
    assert {e.name for e in events} >= {"invoice.created", "invoice.posted", "customer.linked"}
    assert {e.occurred_at for e in events} == {firm.now}
    assert all(e.recorded_at >= started for e in events)


def test_a_credit_note_and_status_back_are_stamped_at_the_engines_time(
    firm: Firm, store: Engine
) -> None:
    firm.run()
    with session_factory(store)() as s:
        invoiced = s.scalars(
            select(TimeEntryRow.source_id)
            .join(BillingEventRow, BillingEventRow.source_record_id == TimeEntryRow.id)
            .where(BillingEventRow.invoice_id.is_not(None), TimeEntryRow.hours >= 2)
        ).first()
    assert invoiced is not None
    entry = next(e for e in firm.box.harvest.entries() if str(e["id"]) == invoiced)
    firm.box.harvest.edit_entry(entry["id"], hours=float(entry["hours"]) - 1)
    firm.now += timedelta(days=1)
    firm.run()
    with session_factory(store)() as s:
        (note,) = s.scalars(select(CompensationRow)).all()
    assert note.status == "posted"
    assert note.created_at == note.posted_at == note.updated_at == firm.now
    credit_events = [e for e in _events(store) if e.name.startswith("credit_note.")]
    assert len(credit_events) == 3 and {e.occurred_at for e in credit_events} == {firm.now}

    firm.now = datetime(2026, 2, 10, 12, tzinfo=UTC)  # customers pay what is due
    firm.box.advance(firm.now.date())
    firm.run()
    with session_factory(store)() as s:
        paid = s.scalars(select(InvoiceRow).where(InvoiceRow.status == "paid")).all()
    assert paid and {i.updated_at for i in paid} == {firm.now}


def test_billing_events_are_stamped_at_the_engines_time(firm: Firm, store: Engine) -> None:
    """Created, put on an invoice, rejected: on the engine's clock. Stored again unchanged a day
    later, a billing event keeps its stamp (a new clock reading is not a change)."""
    firm.run()
    with session_factory(store)() as s:
        stamps = s.execute(select(BillingEventRow.created_at, BillingEventRow.updated_at)).all()
        rejected = s.scalars(
            select(BusinessEventRow.occurred_at).where(
                BusinessEventRow.name == "billing_event.rejected"
            )
        ).all()
    assert stamps and {stamp for pair in stamps for stamp in pair} == {firm.now}
    assert rejected and set(rejected) == {firm.now}
    first = firm.now
    firm.now += timedelta(days=1)
    with transaction(session_factory(store)) as s:  # every entry is read and stored again
        s.execute(delete(CursorRow).where(CursorRow.system == "harvest"))
        assert s.scalar(select(func.count()).where(BillingEventRow.invoice_id.is_(None)))
    firm.run()
    with session_factory(store)() as s:
        again = s.execute(select(BillingEventRow.created_at, BillingEventRow.updated_at)).all()
    assert sorted(again) == sorted(stamps) and {s for pair in again for s in pair} == {first}


def test_rollups_on_the_engines_clock_equal_a_rebuild(firm: Firm, store: Engine) -> None:
    """A year behind the wall clock, the rollups still see an edit, and a transaction that began
    before a rollups run but committed after it (stamped at the run's own engine time)."""
    firm.run()
    with session_factory(store)() as s:
        invoiced, pending = (
            s.scalars(
                select(TimeEntryRow.source_id)
                .join(BillingEventRow, BillingEventRow.source_record_id == TimeEntryRow.id)
                .where(condition, TimeEntryRow.hours >= 2)
            ).first()
            for condition in (
                BillingEventRow.invoice_id.is_not(None),
                BillingEventRow.invoice_id.is_(None),
            )
        )
    assert invoiced is not None and pending is not None
    entries = {str(e["id"]): e for e in firm.box.harvest.entries()}
    for source_id in (invoiced, pending):
        firm.box.harvest.edit_entry(entries[source_id]["id"], hours=entries[source_id]["hours"] - 1)
    with transaction(session_factory(store)) as s:  # the late commit, in a cell nothing else moves
        event = first_pending_event(s, BillingEventRow.occurred_on)
        event.amount, event.updated_at = event.amount + 100, firm.now
    firm.now += timedelta(days=1)
    firm.run()
    kept = snapshot(store)
    with transaction(session_factory(store)) as s:
        rollups.rebuild(s, today=firm.now.date())
    assert_same(kept, snapshot(store))
