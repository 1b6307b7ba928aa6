"""Business time comes from the engine's clock; bookkeeping keeps the wall clock.

The demo runs the engine on the sandbox's simulated clock, so when an invoice was raised and
posted, when a credit note was posted, when status came back from Xero and when a business event
happened must be read from ``FlowContext.clock``; the outbox's machinery (``delivered_at``,
backoff) and ``recorded_at`` stay real time. Here the clock is fixed a year before the wall clock,
and the sandbox runs on it too.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, select

from collectors.http import RetryPolicy
from sandbox.server import Sandbox
from sync.engine import Engine as SyncEngine
from sync.settings import Settings
from sync.store.db import session_factory
from sync.store.tables import (
    BillingEventRow,
    BusinessEventRow,
    CompensationRow,
    InvoiceRow,
    OutboxRow,
    TimeEntryRow,
)

TODAY = date(2025, 11, 25)
FAST = RetryPolicy(attempts=3, initial=0.001, maximum=0.01, jitter=0.0)
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
        self.engine = SyncEngine(
            Settings(database_url=str(store.url)),
            store,
            transports=self.box.transports(),
            clock=lambda: self.now,
            policy=FAST,
        )

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
