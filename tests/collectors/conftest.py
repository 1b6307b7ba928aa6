"""Fixtures for the connector tests: every log record at DEBUG; the emulators of
:mod:`tests.sandbox.emulators`."""

from __future__ import annotations

import logging

import pytest

from tests.sandbox.emulators import bamboo_clock, bamboo_emulator, clock, salesforce_emulator

__all__ = ["bamboo_clock", "bamboo_emulator", "clock", "salesforce_emulator"]


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """``caplog`` capturing everything at DEBUG, httpx's and httpcore's own records included."""
    caplog.set_level(logging.DEBUG)
    for noisy in ("httpx", "httpcore"):
        caplog.set_level(logging.DEBUG, logger=noisy)
    return caplog
