"""The faults that depend on a socket, over a real uvicorn server on a loopback port 0."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from sandbox.faults import FaultKind, FaultPlan, Outage, inject_faults
from sandbox.server import _Served
from tests.sandbox.test_faults_inprocess import Clock, TinyVendor

K = FaultKind


class Swappable:
    """One served app whose inner app each test replaces (one server for the module)."""

    def __init__(self) -> None:
        self.current: ASGIApp = TinyVendor().app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.current(scope, receive, send)


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Swappable, str]]:
    swappable = Swappable()
    server = _Served(swappable, "127.0.0.1", 0)
    server.start()
    try:
        yield swappable, f"http://127.0.0.1:{server.port}"
    finally:
        server.stop()


@pytest.fixture
def vendor() -> TinyVendor:
    return TinyVendor()


def serve(
    served: tuple[Swappable, str], vendor: TinyVendor, plan: FaultPlan, **options: float
) -> httpx.Client:
    swappable, base_url = served
    swappable.current = inject_faults(vendor.app, plan, clock=Clock(), **options)
    return httpx.Client(base_url=base_url, timeout=2)


def only(kind: FaultKind, *, hang_seconds: float = 120.0) -> FaultPlan:
    return FaultPlan("harvest", {kind: 1.0}, 7, hang_seconds=hang_seconds)


def test_reset_is_a_dropped_connection(served: tuple[Swappable, str], vendor: TinyVendor) -> None:
    with serve(served, vendor, only(K.RESET)) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            client.post("/v2/items", json={"name": "x"})
        with pytest.raises(httpx.RemoteProtocolError):
            client.get("/v2/items")
    assert vendor.created == []


def test_hang_is_a_real_read_timeout(served: tuple[Swappable, str], vendor: TinyVendor) -> None:
    plan = only(K.HANG, hang_seconds=2)
    with serve(served, vendor, plan) as client:
        started = time.monotonic()
        with pytest.raises(httpx.ReadTimeout):
            client.get("/v2/items", timeout=0.2)
        assert time.monotonic() - started < 1.5
    assert plan.injected == [("GET", "/v2/items", K.HANG)]


def test_cut_body_sends_a_valid_start_then_drops(
    served: tuple[Swappable, str], vendor: TinyVendor
) -> None:
    with serve(served, vendor, FaultPlan("harvest", {}, 7)) as client:
        whole = client.get("/v2/items").content
    received = b""
    with (
        serve(served, vendor, only(K.CUT_BODY)) as client,
        client.stream("GET", "/v2/items") as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-length"] == str(len(whole))
        with pytest.raises(httpx.RemoteProtocolError):
            for chunk in response.iter_raw():
                received += chunk
    assert received and whole.startswith(received) and len(received) < len(whole)
    with pytest.raises(json.JSONDecodeError):
        json.loads(received)


def test_lost_write_was_applied(served: tuple[Swappable, str], vendor: TinyVendor) -> None:
    with (
        serve(served, vendor, only(K.LOST_WRITE)) as client,
        pytest.raises(httpx.RemoteProtocolError),
    ):
        client.post("/v2/items", json={"name": "invoice"})
    assert vendor.created == [{"name": "invoice"}]


def test_status_faults_and_invalid_json_over_the_wire(
    served: tuple[Swappable, str], vendor: TinyVendor
) -> None:
    with serve(served, vendor, only(K.RATE_LIMIT), time_scale=0.1) as client:
        response = client.get("/v2/items")
        assert response.status_code == 429 and response.headers["Retry-After"] == "3"
    with serve(served, vendor, only(K.INVALID_JSON)) as client:
        response = client.get("/v2/items")
        assert response.status_code == 200
        with pytest.raises(json.JSONDecodeError):
            response.json()


def test_outage_in_reset_mode_drops_connections(
    served: tuple[Swappable, str], vendor: TinyVendor
) -> None:
    plan = FaultPlan("xero", {}, 7, outage=Outage(timedelta(hours=1), mode="reset"))
    with serve(served, vendor, plan) as client, pytest.raises(httpx.RemoteProtocolError):
        client.get("/v2/items")
