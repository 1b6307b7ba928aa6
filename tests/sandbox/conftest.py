"""Fixtures: a seeded sandbox on a fake clock, and sync httpx clients wired in-process; the
vendor emulators come from :mod:`tests.sandbox.emulators` (a plugin of the root conftest)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import httpx
import pytest

from sandbox.server import Sandbox
from tests.sandbox.clock import FakeClock

TODAY = date(2025, 3, 12)
HARVEST_HEADERS = {
    "Authorization": "Bearer sandbox-harvest-token",
    "Harvest-Account-Id": "100001",
    "User-Agent": "plan2cash tests (ops@plan2cash.invalid)",
}


@pytest.fixture
def sandbox(clock: FakeClock) -> Iterator[Sandbox]:
    with Sandbox(7, today=TODAY, now=clock) as box:
        yield box


@pytest.fixture
def harvest(sandbox: Sandbox) -> Iterator[httpx.Client]:
    transport = sandbox.transports()["harvest"]
    with httpx.Client(
        transport=transport, base_url=sandbox.harvest_base_url + "/", headers=HARVEST_HEADERS
    ) as client:
        yield client


def xero_token(client: httpx.Client, sandbox: Sandbox) -> str:
    response = client.post(
        sandbox.xero_token_url,
        data={"grant_type": "client_credentials"},
        auth=(sandbox.xero.client_id, sandbox.xero.client_secret),
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


@pytest.fixture
def xero(sandbox: Sandbox) -> Iterator[httpx.Client]:
    """Authenticated for the sandbox tenant."""
    transport = sandbox.transports()["xero"]
    with httpx.Client(transport=transport, base_url=sandbox.xero_base_url + "/") as client:
        client.headers["Authorization"] = f"Bearer {xero_token(client, sandbox)}"
        client.headers["xero-tenant-id"] = sandbox.xero.tenant_id
        yield client
