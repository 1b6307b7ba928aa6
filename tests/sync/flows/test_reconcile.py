"""Reconciliation: deletions Harvest never reports, entries an incremental read lost, and money
that does not add up from time to cash — against the sandbox, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import Engine, delete, func, select, update

from sandbox.server import Sandbox
from sync.engine import Engine as SyncEngine
from sync.flows.reconcile_money import money_key
from sync.settings import Settings
from sync.store.db import session_factory
from sync.store.tables import (
    BillingEventRow,
    BusinessEventRow,
    ExceptionRow,
    InvoiceRow,
    TimeEntryRow,
)
from tests.sync import sandboxed

FAST = replace(sandboxed.FAST, attempts=2)


def engine_for(
    box: Sandbox, store: Engine, *, per_page: int = 2000, **transports: httpx.BaseTransport
) -> SyncEngine:
    settings = Settings(database_url=str(store.url), harvest={"per_page": per_page})
    return sandboxed.engine_for(box, store, settings=settings, policy=FAST, **transports)


def an_entry(box: Sandbox, *, invoiced: bool) -> dict[str, Any]:
    """An approved, valid entry: in October (invoiced) or in November (not yet)."""
    return next(
        e
        for e in box.harvest.entries()
        if e["is_closed"]
        and e["billable"]
        and e["id"] not in box.firm.faults
        and (e["spent_date"] < date(2026, 11, 1)) == invoiced
    )


def stored_entry(store: Engine, harvest_id: int) -> TimeEntryRow:
    with session_factory(store)() as s:
        return s.scalars(
            select(TimeEntryRow).where(TimeEntryRow.source_id == str(harvest_id))
        ).one()


def synced_entry(
    box: Sandbox, store: Engine, *, invoiced: bool
) -> tuple[SyncEngine, dict[str, Any], TimeEntryRow]:
    """The firm synced once: the engine, an entry (``an_entry``) and its stored row."""
    engine = engine_for(box, store)
    engine.run_once()
    victim = an_entry(box, invoiced=invoiced)
    return engine, victim, stored_entry(store, victim["id"])


def open_exceptions(store: Engine, category: str) -> list[ExceptionRow]:
    with session_factory(store)() as s:
        return list(
            s.scalars(
                select(ExceptionRow).where(
                    ExceptionRow.category == category, ExceptionRow.status == "open"
                )
            )
        )


def event_names(store: Engine, entity_id: str) -> list[str]:
    with session_factory(store)() as s:
        return list(
            s.scalars(select(BusinessEventRow.name).where(BusinessEventRow.entity_id == entity_id))
        )


def test_a_deleted_entry_is_kept_as_deleted_and_its_pending_event_withdrawn(
    sandbox: Sandbox, store: Engine
) -> None:
    engine, victim, row = synced_entry(sandbox, store, invoiced=False)
    with session_factory(store)() as s:
        event_id = s.scalars(
            select(BillingEventRow.id).where(BillingEventRow.source_record_id == row.id)
        ).one()
    sandbox.harvest.delete_entry(victim["id"])
    assert engine.run_flow("reconcile").status == "succeeded"
    after = stored_entry(store, victim["id"])
    assert after.deleted_at is not None and after.hours == row.hours
    with session_factory(store)() as s:
        assert s.get(BillingEventRow, event_id) is None
        live = s.scalar(
            select(func.count()).select_from(TimeEntryRow).where(TimeEntryRow.deleted_at.is_(None))
        )
    assert live == len(sandbox.harvest.entries())
    assert event_names(store, row.id).count("time_entry.deleted") == 1
    assert "billing_event.withdrawn" in event_names(store, event_id)
    assert open_exceptions(store, "deleted_after_invoiced") == []
    assert open_exceptions(store, "unreconciled_money") == []


def test_a_deleted_invoiced_entry_is_left_for_compensation(sandbox: Sandbox, store: Engine) -> None:
    engine, victim, row = synced_entry(sandbox, store, invoiced=True)
    before = {i["InvoiceNumber"]: i["Total"] for i in sandbox.xero.invoices()}
    sandbox.harvest.delete_entry(victim["id"])
    engine.run_once()
    assert stored_entry(store, victim["id"]).deleted_at is not None
    with session_factory(store)() as s:
        event = s.scalars(
            select(BillingEventRow).where(BillingEventRow.source_record_id == row.id)
        ).one()
        invoice = s.get(InvoiceRow, event.invoice_id)
    assert invoice is not None
    [flagged] = open_exceptions(store, "deleted_after_invoiced")
    assert flagged.entity_id == row.id and flagged.stage == "reconcile"
    assert flagged.value_at_risk == event.amount > 0
    assert invoice.number in flagged.reason and "credit note" in flagged.reason
    assert {i["InvoiceNumber"]: i["Total"] for i in sandbox.xero.invoices()} == before
    # the invoiced money is held by that exception, so the money check does not report it again
    assert open_exceptions(store, "unreconciled_money") == []
    engine.run_once()  # compensation credits the deleted time; that settles the exception
    assert [Decimal(str(n["Total"])) for n in sandbox.xero.credit_notes()] == [event.amount]
    assert open_exceptions(store, "deleted_after_invoiced") == []
    assert open_exceptions(store, "unreconciled_money") == []


class Interfering(httpx.BaseTransport):
    """Harvest, except that the ``n``-th page of every window listing fails (``fail``) or comes
    back without its first record."""

    def __init__(self, inner: httpx.BaseTransport, *, page: int, fail: bool) -> None:
        self.inner, self.page, self.fail = inner, page, fail
        self.interfered = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        listing = request.url.path.endswith("/time_entries") and "from" in params
        if not listing or params.get("page", "1") != str(self.page):
            return self.inner.handle_request(request)
        self.interfered += 1
        if self.fail:
            return httpx.Response(500, json={"code": 500, "message": "Internal Server Error"})
        response = self.inner.handle_request(request)
        body = orjson.loads(response.read())
        body["time_entries"] = body["time_entries"][1:]
        return httpx.Response(200, headers=response.headers, content=orjson.dumps(body))


@pytest.mark.parametrize("fail", [True, False], ids=["failed-page", "short-page"])
def test_an_incomplete_listing_marks_nothing_deleted(
    sandbox: Sandbox, sqlite_store: Engine, fail: bool
) -> None:
    engine_for(sandbox, sqlite_store).run_once()
    victim = an_entry(sandbox, invoiced=False)
    sandbox.harvest.delete_entry(victim["id"])
    harvest = Interfering(sandbox.transports()["harvest"], page=2, fail=fail)
    broken = engine_for(sandbox, sqlite_store, per_page=25, harvest=harvest)
    report = broken.run_flow("reconcile")
    assert report.status == "succeeded" and harvest.interfered > 0
    assert any("nothing concluded" in note for note in report.result.notes)
    with session_factory(sqlite_store)() as s:
        assert s.scalar(
            select(func.count()).select_from(TimeEntryRow).where(TimeEntryRow.deleted_at.is_not(None))
        ) == 0  # fmt: skip
    engine_for(sandbox, sqlite_store, per_page=25).run_flow("reconcile")
    with session_factory(sqlite_store)() as s:
        deleted = s.scalars(
            select(TimeEntryRow.source_id).where(TimeEntryRow.deleted_at.is_not(None))
        ).all()
    assert deleted == [str(victim["id"])]


def test_an_entry_the_incremental_read_lost_is_stored_and_billed(
    sandbox: Sandbox, store: Engine
) -> None:
    engine, victim, row = synced_entry(sandbox, store, invoiced=False)
    with session_factory(store).begin() as s:
        s.execute(delete(BillingEventRow).where(BillingEventRow.source_record_id == row.id))
        s.execute(delete(TimeEntryRow).where(TimeEntryRow.id == row.id))
    engine.run_flow("reconcile")
    assert stored_entry(store, victim["id"]).updated_at == row.updated_at
    with session_factory(store)() as s:
        assert s.scalar(
            select(func.count())
            .select_from(BillingEventRow)
            .where(BillingEventRow.source_record_id == row.id)
        ) == 1  # fmt: skip


def gap_on(store: Engine, change: Callable[[Any], Any]) -> tuple[str, date, Decimal]:
    """Change one pending billing event's amount by ``change``; its contract, month and how
    much the amount moved."""
    with session_factory(store).begin() as s:
        event = sandboxed.first_pending_event(s, BillingEventRow.id)
        old = event.amount
        s.execute(
            update(BillingEventRow)
            .where(BillingEventRow.id == event.id)
            .values(amount=change(event.amount))
        )
        return event.contract_id, event.occurred_on.replace(day=1), change(old) - old


def test_a_money_gap_is_one_exception_until_it_closes(sandbox: Sandbox, store: Engine) -> None:
    engine = engine_for(sandbox, store)
    engine.run_once()
    # the planted faults are held by their own exceptions: nothing else is unreconciled
    assert open_exceptions(store, "unreconciled_money") == []
    contract, month, moved = gap_on(store, lambda amount: amount - Decimal("123.45"))
    for _ in range(2):  # idempotent: a second run reports the same single exception
        engine.run_flow("reconcile")
        [gap] = open_exceptions(store, "unreconciled_money")
        assert gap.record_key == money_key(contract, month, "time_vs_events")
        assert gap.value_at_risk == -moved == Decimal("123.45")
        assert gap.stage == "reconcile" and gap.entity_id == contract
        assert "123.45" in gap.reason and "no billing event" in gap.reason
    gap_on(store, lambda amount: amount + Decimal("123.45"))
    engine.run_flow("reconcile")
    assert open_exceptions(store, "unreconciled_money") == []
    with session_factory(store)() as s:
        row = s.scalars(select(ExceptionRow).where(ExceptionRow.record_key == gap.record_key)).one()
    assert row.status == "resolved"


def test_money_held_in_an_open_exception_is_not_reported_twice(
    sandbox: Sandbox, store: Engine
) -> None:
    engine = engine_for(sandbox, store)
    engine.run_once()
    with session_factory(store)() as s:
        # a planted fault: approved time on a project that had closed, held by validation
        held = s.scalars(
            select(ExceptionRow).where(ExceptionRow.category == "closed_project")
        ).one()
        entry = s.get(TimeEntryRow, held.entity_id)
        assert entry is not None and entry.spent_date is not None and held.value_at_risk
        month = entry.spent_date.replace(day=1)
        event = s.scalars(
            select(BillingEventRow).where(
                BillingEventRow.project_id == entry.project_id,
                BillingEventRow.invoice_id.is_(None),
                BillingEventRow.occurred_on >= month,
            )
        ).first()
    assert event is not None and event.occurred_on.replace(day=1) == month
    with session_factory(store).begin() as s:
        s.execute(
            update(BillingEventRow)
            .where(BillingEventRow.id == event.id)
            .values(amount=event.amount - 10)
        )
    engine.run_flow("reconcile")
    [gap] = open_exceptions(store, "unreconciled_money")
    assert gap.record_key == money_key(event.contract_id, month, "time_vs_events")
    assert gap.value_at_risk == Decimal(10)
    assert "held in open exceptions" in gap.reason
    assert f"{held.value_at_risk:,.2f}" in gap.reason
