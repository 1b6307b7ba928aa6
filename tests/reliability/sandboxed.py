"""The engine against an in-process sandbox under a fault scenario, on a clock the test moves.

Simulated time is the wall clock under ``time_machine``: the engine's outbox backoff, the
emulators' clocks and the scenario's outage window all read it, so a test jumps hours ahead the
way a scheduler running for hours would see them pass. The sandbox's ``time_scale`` shrinks the
real stalls (slow replies, hangs, ``Retry-After``) so that a storm takes seconds.

The firm has four legal entities, each keeping its books in another ERP (Xero, Dynamics 365,
Oracle Fusion, NetSuite), so every fault strikes invoices on their way to each of them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import Engine, select

from collectors.http import RetryPolicy
from sandbox.server import Sandbox
from sandbox.world.catalog import ERPS
from sync.engine import Engine as SyncEngine
from sync.engine import RunReport
from sync.settings import Settings
from sync.store.db import session_factory
from sync.store.tables import BillingEventRow, InvoiceRow, OutboxRow, TimeEntryRow

TODAY = date(2026, 11, 25)
START = datetime(2026, 11, 25, 6, tzinfo=UTC)
TIME_SCALE = 0.001  # a simulated second lasts a real millisecond inside the emulators
# quick retries: a failed call is retried at once; the next run (an hour later) tries again
FAST = RetryPolicy(attempts=3, initial=0.001, maximum=0.005, jitter=0.0, max_retry_after=0.005)
# the client's pacers count real seconds, which the test compresses: what the scheduler spreads
# over simulated hours happens here within seconds (NetSuite's limit is on concurrency, not rate)
UNPACED: dict[str, dict[str, int]] = {
    "xero": {"requests_per_minute": 1_000_000, "requests_per_day": 10_000_000},
    "dynamics365": {"requests_per_window": 10_000_000},
    "oracle_fusion": {"requests_per_minute": 1_000_000},
    "netsuite": {},
}


class Counting(httpx.BaseTransport):
    """Counts the calls that reach a vendor's (faulty) transport."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.calls = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        return self.inner.handle_request(request)


@dataclass
class Rig:
    box: Sandbox
    store: Engine
    engine: SyncEngine
    transports: dict[str, Counting] = field(default_factory=dict)

    def calls(self) -> Counter[str]:
        return Counter({vendor: t.calls for vendor, t in self.transports.items()})


def rig(
    store: Engine,
    scenario: str,
    *,
    seed: int = 7,
    per_page: int = 10,
    time_scale: float = TIME_SCALE,
) -> Rig:
    """A sandbox firm under ``scenario`` and an engine that reads it in small pages (many calls,
    so every kind of fault gets its chance) with short timeouts and quick retries."""
    box = Sandbox(
        seed=seed, today=TODAY, scenario=scenario, time_scale=time_scale, entities=4, erps=ERPS
    )
    transports = {vendor: Counting(t) for vendor, t in box.transports().items()}
    quick = {"timeout_seconds": 0.25}
    connections = box.connections()
    # small batches: a firm of a few invoices per ERP still posts several batches to each
    erps: dict[str, Any] = {
        erp: {**connections[erp], **quick, "batch_size": 2, **UNPACED[erp]} for erp in ERPS
    }
    settings = Settings(
        database_url=str(store.url),
        harvest={**quick, "per_page": per_page, "requests_per_15s": 1_000_000},
        salesforce=quick,
        erp=connections["erp"],
        **erps,
    )
    engine = SyncEngine(
        settings,
        store,
        transports=dict(transports),
        clock=lambda: datetime.now(UTC),
        policy=FAST,
    )
    return Rig(box, store, engine, transports)


def quiet(reports: list[RunReport], store: Engine) -> bool:
    """Nothing left to do: every flow ran, moved nothing, and nothing waits for delivery."""
    busy = {"billable", "invoicing", "outbox", "reconcile"}
    if any(r.status != "succeeded" for r in reports):
        return False
    if any(r.result.records_out or r.result.notes for r in reports if r.flow in busy):
        return False
    with session_factory(store)() as s:
        return not s.scalars(select(OutboxRow.id).where(OutboxRow.status != "delivered")).first()


def erp_invoices(box: Sandbox) -> list[tuple[int, str, Decimal]]:
    """(legal entity, number, total) of every invoice booked in any ERP, sorted."""
    return sorted((entity, invoice.number, invoice.total) for entity, invoice in box.books())


def final_state(store: Engine) -> dict[str, Any]:
    """What must not depend on the weather: entries, billing events, invoices."""
    with session_factory(store)() as s:
        entries = s.execute(
            select(
                TimeEntryRow.id, TimeEntryRow.hours, TimeEntryRow.status,
                TimeEntryRow.spent_date, TimeEntryRow.updated_at, TimeEntryRow.deleted_at,
            ).order_by(TimeEntryRow.id)
        ).all()  # fmt: skip
        events = s.execute(
            select(
                BillingEventRow.id, BillingEventRow.source_record_id, BillingEventRow.contract_id,
                BillingEventRow.quantity, BillingEventRow.rate, BillingEventRow.amount,
                BillingEventRow.invoice_id,
            ).order_by(BillingEventRow.id)
        ).all()  # fmt: skip
        invoices = s.execute(
            select(InvoiceRow.number, InvoiceRow.total, InvoiceRow.status).order_by(
                InvoiceRow.number
            )
        ).all()
    return {
        "entries": [tuple(r) for r in entries],
        "events": [tuple(r) for r in events],
        "invoices": [tuple(r) for r in invoices],
    }
