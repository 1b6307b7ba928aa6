"""Outbox delivery in batches: one bad invoice in a batch does not hold back the others."""

from __future__ import annotations

import httpx
import orjson
import pytest
from sqlalchemy import Engine, select, update

from sandbox.server import Sandbox
from sync import outbox
from sync.engine import Engine as SyncEngine
from sync.store.db import session_factory
from sync.store.tables import ExceptionRow, InvoiceRow, OutboxRow
from tests.sync.sandboxed import engine_for, run


class Recording(httpx.BaseTransport):
    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.puts: list[list[str]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "PUT" and request.url.path.endswith("/Invoices"):
            sent = orjson.loads(request.content)["Invoices"]
            self.puts.append([i["InvoiceNumber"] for i in sent])
        return self.inner.handle_request(request)


def prepared(box: Sandbox, store: Engine) -> tuple[SyncEngine, Recording]:
    wire = Recording(box.transports()["xero"])
    engine = engine_for(box, store, xero=wire)
    run(engine, ("reference", "billable", "invoicing"))
    return engine, wire


def test_one_bad_invoice_in_a_batch_becomes_an_exception_and_the_others_post(
    sandbox: Sandbox, sqlite_store: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outbox, "FIRST_BATCH", 50)
    engine, wire = prepared(sandbox, sqlite_store)
    sessions = session_factory(sqlite_store)
    with sessions.begin() as s:
        victim = s.scalars(select(InvoiceRow).order_by(InvoiceRow.number).offset(3)).first()
        assert victim is not None
        lines = [dict(line, description=" ") for line in victim.lines]
        s.execute(update(InvoiceRow).where(InvoiceRow.id == victim.id).values(lines=lines))
        bad_number, total, count = victim.number, victim.total, s.query(InvoiceRow).count()
    assert engine.run_flow("outbox").status == "succeeded"
    assert len(wire.puts) == 1 and len(wire.puts[0]) == count > 2 and bad_number in wire.puts[0]
    posted = {i["InvoiceNumber"] for i in sandbox.xero.invoices()}
    assert len(posted) == count - 1 and bad_number not in posted
    with sessions() as s:
        statuses = dict(s.execute(select(InvoiceRow.number, InvoiceRow.status)).all())
        exception = s.scalars(select(ExceptionRow).where(ExceptionRow.flow == "outbox")).one()
        failed = s.scalars(select(OutboxRow).where(OutboxRow.status == "failed")).one()
    assert statuses.pop(bad_number) == "failed" and set(statuses.values()) == {"posted"}
    assert (
        exception.category == "erp_rejected" and "Description cannot be empty" in exception.reason
    )
    assert exception.value_at_risk == total
    assert failed.aggregate_id == victim.id


def test_batches_grow_from_one_to_fifty(sandbox: Sandbox, sqlite_store: Engine) -> None:
    engine, wire = prepared(sandbox, sqlite_store)
    assert engine.run_flow("outbox").status == "succeeded"
    sizes = [len(numbers) for numbers in wire.puts]
    assert sizes[:3] == [1, 2, 4] and sum(sizes) == len(sandbox.firm.expected_invoices())
