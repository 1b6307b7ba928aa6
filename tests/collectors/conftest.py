"""Fixtures for the connector tests: spans kept in memory, every log record at DEBUG; the
emulators of :mod:`tests.sandbox.emulators`."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from collectors import http
from tests.sandbox.emulators import bamboo_clock, bamboo_emulator, clock, salesforce_emulator

__all__ = ["bamboo_clock", "bamboo_emulator", "clock", "salesforce_emulator"]


@pytest.fixture
def spans(monkeypatch: pytest.MonkeyPatch) -> Iterator[InMemorySpanExporter]:
    """The spans of every vendor call made during the test."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(http, "tracer", provider.get_tracer("tests.collectors"))
    yield exporter
    provider.shutdown()


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """``caplog`` capturing everything at DEBUG, httpx's and httpcore's own records included."""
    caplog.set_level(logging.DEBUG)
    for noisy in ("httpx", "httpcore"):
        caplog.set_level(logging.DEBUG, logger=noisy)
    return caplog
