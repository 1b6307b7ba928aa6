"""Secrets never reach the store or the logs, at any depth: exception payloads and reasons, run
errors, audit details, business events, span names and attributes, log records."""

from __future__ import annotations

import io
import logging
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy import Engine, select

from collectors import http
from collectors.http import RetryPolicy, call, make_client
from collectors.redaction import RedactingFilter
from sync import telemetry
from sync.store.db import session_factory, transaction
from sync.store.repo import Problem, audit, finish_run, report_problems, start_run
from sync.store.tables import AuditRow, BusinessEventRow, ExceptionRow, SpanRow, SyncRunRow
from sync.telemetry import StoreSpanExporter, record_events

SECRETS = ("tok-1", "tok-2", "pw-1", "key-1", "sec-1", "cookie-1")
NESTED: dict[str, Any] = {
    "id": 41,
    "hours": 2.5,
    "user": {"id": 7, "login": {"Access-Token": "tok-1", "scopes": ["read"]}},
    "external_reference": {
        "permalink": "https://ann:pw-1@tracker.example/T-1?api_key=key-1&view=full",
        "headers": [{"Authorization": "Bearer tok-2"}, {"Cookie": "cookie-1"}],
    },
    "notes": 'vendor said {"client_secret": "sec-1"}',
}


def assert_clean(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret} stored in {text}"


def test_a_stored_exception_payload_and_reason_hide_nested_secrets(store: Engine) -> None:
    problem = Problem(
        "harvest:41",
        stage="validate",
        category="invalid_record",
        reason="GET https://h.example/x?access_token=tok-1 answered Bearer tok-2",
        payload=NESTED,
    )
    with transaction(session_factory(store)) as session:
        report_problems(session, "billable", [problem], trace_id=None)
    with session_factory(store)() as session:
        row = session.scalars(select(ExceptionRow)).one()
    assert_clean(repr(row.payload) + row.reason)
    assert row.payload is not None
    assert row.payload["id"] == 41 and row.payload["hours"] == 2.5
    assert row.payload["user"]["login"] == {"Access-Token": "***", "scopes": ["read"]}
    assert "view=full" in row.payload["external_reference"]["permalink"]
    assert NESTED["user"]["login"]["Access-Token"] == "tok-1"  # the caller's record is untouched


def test_run_errors_and_audit_details_hide_secrets(sqlite_store: Engine) -> None:
    with transaction(session_factory(sqlite_store)) as session:
        run = start_run(session, "billable", None)
        finish_run(session, run, status="failed", error="POST /token client_secret=sec-1: 500")
        audit(session, "ann@example.com", "edit", "exception:1", edit=NESTED, note="pw-1 no")
    with session_factory(sqlite_store)() as session:
        error = session.scalars(select(SyncRunRow.error)).one()
        detail = session.scalars(select(AuditRow.detail)).one()
    assert error is not None
    assert_clean(error + repr(detail["edit"]))
    assert detail["edit"]["hours"] == 2.5


def test_business_event_attributes_hide_nested_secrets(sqlite_store: Engine) -> None:
    moment = datetime(2026, 11, 2, tzinfo=UTC)
    with transaction(session_factory(sqlite_store)) as session:
        record_events(session, "time.approved", "time_entry", [("e1", moment)], attributes=NESTED)
    with session_factory(sqlite_store)() as session:
        stored = session.scalars(select(BusinessEventRow.attributes)).one()
    assert_clean(repr(stored))
    assert stored["id"] == 41


def test_spans_of_calls_to_urls_with_keys_are_stored_without_them(
    spans: InMemorySpanExporter, sqlite_store: Engine
) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"ok": True})

    client = make_client(
        "https://api.example.com/v2",
        transport=httpx.MockTransport(answer),
        vendor="acme",
        policy=RetryPolicy(attempts=1),
    )
    url = "https://api.example.com/v2/things?page=2&access_token=tok-1&api_key=key-1"
    call(client, "GET", url)  # no route: the URL
    attributes = {"request.headers": ("Authorization: Bearer tok-2",), "db.password": "pw-1"}
    with http.tracer.start_as_current_span("secrets", attributes=attributes):
        pass
    StoreSpanExporter(sqlite_store).export(spans.get_finished_spans())
    with session_factory(sqlite_store)() as session:
        rows = session.scalars(select(SpanRow)).all()
    assert len(rows) == 2
    assert_clean(" ".join(r.name + repr(r.attributes) for r in rows))
    called = next(r for r in rows if r.name.startswith("acme GET"))
    assert "page=2" in called.name and "page=2" in called.attributes["http.route"]


def test_install_puts_the_redacting_filter_on_the_process_log_handlers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    root.addHandler(handler)
    monkeypatch.setattr(telemetry, "_provider", TracerProvider())  # the SDK is already set up
    try:
        telemetry.install(None)  # type: ignore[arg-type]  # the store is not reached here
        assert any(isinstance(f, RedactingFilter) for f in handler.filters)
        logging.getLogger("plan2cash.engine").error(
            "flow %s failed: %s", "billable", {"request": {"headers": {"Cookie": "cookie-1"}}}
        )
        logging.getLogger("httpx").warning(
            "HTTP Request: GET https://api.example.com/x?access_token=tok-1 200"
        )
    finally:
        root.removeHandler(handler)
    logged = stream.getvalue()
    assert "flow billable failed" in logged and "api.example.com/x" in logged
    assert_clean(logged)
