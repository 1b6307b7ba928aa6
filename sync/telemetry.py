"""Telemetry: finished spans go into the store, business events are written beside them.

Code everywhere is instrumented with ``opentelemetry-api`` only; ``install`` (called once by the
process that runs the engine) sets up the SDK with a batch processor whose exporter writes spans to
the ``spans`` table, and optionally an OTLP exporter to an external collector, and puts the
redacting log filter on the process's log handlers. Span names and attributes, and business
events' attributes, are stored with secrets masked at any depth (``collectors.redaction``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, cast

import polars as pl
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from sqlalchemy import Engine, Table
from sqlalchemy.orm import Session, sessionmaker

from collectors.redaction import install_log_redaction, redact, redact_text
from sync.store.db import insert_frame, upsert
from sync.store.tables import BusinessEventRow, SpanRow

tracer = trace.get_tracer("plan2cash.sync")
BUSINESS_EVENTS = cast(Table, BusinessEventRow.__table__)  # Core insert: no ORM bulk overhead


class StoreSpanExporter(SpanExporter):
    """Writes finished spans to the store's ``spans`` table, a batch per transaction."""

    def __init__(self, engine: Engine) -> None:
        self._sessions = sessionmaker(engine)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        rows = [_span_row(span) for span in spans if span.context is not None]
        try:
            with self._sessions() as session, session.begin():
                upsert(session, SpanRow, rows, keys=["span_id"], update=[])
        except Exception:  # the exporter must never take the engine down with it
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None


def _span_row(span: ReadableSpan) -> dict[str, Any]:
    context = span.context
    assert context is not None
    start = _ns(span.start_time)
    end = _ns(span.end_time or span.start_time)
    return {
        "span_id": f"{context.span_id:016x}",
        "trace_id": f"{context.trace_id:032x}",
        "parent_span_id": f"{span.parent.span_id:016x}" if span.parent else None,
        "name": redact_text(span.name)[:128],
        "kind": span.kind.name.lower(),
        "start_time": start,
        "end_time": end,
        "duration_ms": (end - start).total_seconds() * 1000,
        "status": span.status.status_code.name.lower(),
        "attributes": scrub(dict(span.attributes or {})),
    }


def _ns(value: int | None) -> datetime:
    return datetime.fromtimestamp((value or 0) / 1e9, tz=UTC)


def scrub(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """Attributes with credentials masked, by key name and by value, at any depth (sequences as
    lists)."""
    return cast(dict[str, Any], redact(attributes))


_provider: TracerProvider | None = None


def install(
    engine: Engine, *, service_name: str = "plan2cash", otlp_endpoint: str | None = None
) -> TracerProvider:
    """Configure the SDK once per process: spans to the store (and OTLP when configured); logs
    through the process's handlers are redacted."""
    global _provider
    install_log_redaction()
    if _provider is not None:
        return _provider
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    provider.add_span_processor(BatchSpanProcessor(StoreSpanExporter(engine)))
    if otlp_endpoint:
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
                OTLPSpanExporter,
            )
        except ModuleNotFoundError as exc:  # an optional extra
            raise ModuleNotFoundError(
                "telemetry.otlp_endpoint is set but OTLP export is not installed: "
                "pip install 'plan2cash[otlp]'",
                name=exc.name,
            ) from exc
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=otlp_endpoint)))
    trace.set_tracer_provider(provider)
    _provider = provider
    return provider


def flush() -> None:
    if _provider is not None:
        _provider.force_flush()


def current_trace_id() -> str | None:
    context = trace.get_current_span().get_span_context()
    return f"{context.trace_id:032x}" if context.is_valid else None


EVENT_KEYS = pl.Schema({"entity_id": pl.String(), "occurred_at": pl.Datetime("us", "UTC")})


def record_events(
    session: Session,
    name: str,
    entity_type: str,
    items: Sequence[tuple[str, datetime]],
    *,
    attributes: Mapping[str, Any] | None = None,
) -> None:
    """Business events (one per ``(entity_id, occurred_at)``) tied to the current trace."""
    if not items:
        return
    ids, moments = zip(*items, strict=True)
    frame = pl.DataFrame({"entity_id": list(ids), "occurred_at": list(moments)}, schema=EVENT_KEYS)
    record_event_frame(session, name, entity_type, frame, attributes=attributes)


def record_event_frame(
    session: Session,
    name: str,
    entity_type: str,
    events: pl.DataFrame,
    *,
    attributes: Mapping[str, Any] | None = None,
) -> None:
    """``record_events`` for a frame of ``entity_id`` and ``occurred_at`` (``EVENT_KEYS``): a
    flow's thousands of events without a Python tuple each."""
    if events.is_empty():
        return
    frame = (
        events.select(list(EVENT_KEYS))
        .cast(EVENT_KEYS)
        .with_columns(
            name=pl.lit(name),
            entity_type=pl.lit(entity_type),
            recorded_at=pl.lit(datetime.now(UTC)),
            trace_id=pl.lit(current_trace_id(), dtype=pl.String),
            attributes=pl.lit(json.dumps(scrub(attributes or {}), default=str)),
        )
    )
    insert_frame(session, BUSINESS_EVENTS, frame, json_columns=("attributes",))
