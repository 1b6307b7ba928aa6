"""Emulator fixtures shared by the emulator tests (``tests/sandbox``) and the connector tests
(``tests/collectors``); each folder's conftest makes them available."""

from __future__ import annotations

import pytest

from sandbox.vendors.bamboohr import BambooHREmulator
from sandbox.vendors.kantata import KantataEmulator
from sandbox.vendors.salesforce import SalesforceEmulator
from tests.sandbox import bamboohr_world, kantata_world
from tests.sandbox.clock import FakeClock
from tests.sandbox.salesforce_world import NOW, salesforce_world


@pytest.fixture
def clock() -> FakeClock:
    """The Salesforce world's ``NOW`` (noon of the sandbox's ``TODAY``), settable."""
    return FakeClock(NOW)


@pytest.fixture
def bamboo_clock() -> FakeClock:
    """The BambooHR world's ``NOW``, settable."""
    return FakeClock(bamboohr_world.NOW)


@pytest.fixture
def bamboo_emulator(bamboo_clock: FakeClock) -> BambooHREmulator:
    """The BambooHR emulator on the hand-built world, at ``bamboo_clock``."""
    return BambooHREmulator(bamboohr_world.build_world(), now=bamboo_clock)


@pytest.fixture
def salesforce_emulator(clock: FakeClock) -> SalesforceEmulator:
    """The Salesforce emulator on a 60-customer world, at ``clock`` (the world's ``NOW``)."""
    return SalesforceEmulator(salesforce_world(60), now=clock)


@pytest.fixture
def kantata_emulator(clock: FakeClock) -> KantataEmulator:
    """The Kantata emulator on the hand-built world, at ``clock``, taking its default token."""
    return KantataEmulator(kantata_world.build_world(), now=clock)
