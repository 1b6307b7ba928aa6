"""Spans reach the store through the exporter; secrets never do."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy import Engine, select

from sandbox.server import Sandbox
from sync.engine import FLOWS
from sync.engine import Engine as SyncEngine
from sync.settings import Settings
from sync.store.db import session_factory
from sync.store.tables import SpanRow, SyncRunRow
from sync.telemetry import StoreSpanExporter, scrub


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> Iterator[InMemorySpanExporter]:
    """Route the API's tracers to an in-memory exporter for one test."""
    from collectors import http
    from sync import engine, outbox, telemetry
    from sync.flows import billable, invoicing, reference

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    for module in (http, telemetry):
        monkeypatch.setattr(module, "tracer", provider.get_tracer(module.__name__))
    for module in (engine, outbox, billable, invoicing, reference):
        monkeypatch.setattr(module, "tracer", provider.get_tracer(module.__name__))
    yield exporter
    provider.shutdown()


def test_a_run_leaves_one_trace_per_flow_with_vendor_calls_and_no_secrets(
    recorded: InMemorySpanExporter, sqlite_store: Engine
) -> None:
    box = Sandbox(seed=3, today=date(2026, 11, 25))
    try:
        reports = SyncEngine(Settings(), sqlite_store, transports=box.transports()).run_once()
        assert [r.status for r in reports] == ["succeeded"] * len(FLOWS), reports
    finally:
        box.stop()
    spans = recorded.get_finished_spans()
    names = {s.name for s in spans}
    assert {"flow reference", "flow billable", "flow invoicing", "flow outbox"} <= names
    assert "harvest GET /time_entries" in names and "xero PUT /Invoices" in names
    assert "billable batch" in names
    # spans per batch and per call, never per record
    assert len(spans) < 200
    # pages are read ahead in another thread, and their calls still belong to the flow's trace
    flow = next(s for s in spans if s.name == "flow billable")
    reads = [
        s
        for s in spans
        if s.name == "harvest GET /time_entries" and s.context.trace_id == flow.context.trace_id
    ]
    assert reads and all(s.parent is not None for s in reads)
    StoreSpanExporter(sqlite_store).export(spans)
    with session_factory(sqlite_store)() as s:
        rows = s.scalars(select(SpanRow)).all()
        runs = s.scalars(select(SyncRunRow)).all()
    assert len(rows) == len(spans)
    assert {r.trace_id for r in runs} <= {r.trace_id for r in rows}
    stored = " ".join(str(r.attributes) + r.name for r in rows)
    for secret in ("sandbox-harvest-token", "sandbox-xero-secret", "Bearer"):
        assert secret not in stored
    call = next(r for r in rows if r.name == "xero PUT /Invoices")
    assert call.attributes["http.status_code"] == 200 and call.kind == "client"
    assert call.parent_span_id is not None and call.duration_ms >= 0


def test_scrub_hides_credential_attributes() -> None:
    assert scrub({"client_secret": "x", "Authorization": "Bearer y", "page": 2}) == {
        "client_secret": "***",
        "Authorization": "***",
        "page": 2,
    }
