"""Fixtures for the connector tests: every log record at DEBUG; the emulators come from
:mod:`tests.sandbox.emulators` (a plugin of the root conftest)."""

from __future__ import annotations

import logging

import pytest


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """``caplog`` capturing everything at DEBUG, httpx's and httpcore's own records included."""
    caplog.set_level(logging.DEBUG)
    for noisy in ("httpx", "httpcore"):
        caplog.set_level(logging.DEBUG, logger=noisy)
    return caplog
