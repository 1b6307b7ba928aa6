"""Each fault kind, seen by a real sync ``httpx.Client`` over the in-process transport."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from sandbox.faults import (
    FaultKind,
    FaultPlan,
    FaultyTransport,
    Outage,
    drift_field,
    inject_faults,
)
from sandbox.transport import InProcessTransport

K = FaultKind
START = datetime(2025, 3, 12, 12, 0, tzinfo=UTC)
PER_PAGE = 3


class Clock:
    """A settable simulated clock."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


class TinyVendor:
    """A JSON list endpoint (pages of three items), a write endpoint and a token endpoint."""

    def __init__(self) -> None:
        self.created: list[dict[str, Any]] = []
        self.seen_headers: list[dict[str, str]] = []
        self.app = Starlette(
            routes=[
                Route("/v2/items", self.items, methods=["GET"]),
                Route("/v2/items", self.create, methods=["POST"]),
                Route("/connect/token", self.token, methods=["POST"]),
            ]
        )

    async def items(self, request: Request) -> JSONResponse:
        self.seen_headers.append(dict(request.headers))
        page = int(request.query_params.get("page", "1"))
        first = (page - 1) * PER_PAGE + 1
        return JSONResponse(
            {"items": [item(n) for n in range(first, first + PER_PAGE)], "page": page}
        )

    async def create(self, request: Request) -> JSONResponse:
        self.created.append(await request.json())
        return JSONResponse({"id": len(self.created)}, status_code=201)

    async def token(self, request: Request) -> JSONResponse:
        return JSONResponse({"access_token": "t", "expires_in": 1800})


def item(n: int) -> dict[str, Any]:
    return {"id": n, "name": f"item {n}", "status": "open", "hours": 1.5, "client": {"id": 7}}


def plan_for(kind: FaultKind | None, vendor: str = "harvest", **options: Any) -> FaultPlan:
    return FaultPlan(vendor, {kind: 1.0} if kind else {}, 7, **options)


@pytest.fixture
def vendor() -> TinyVendor:
    return TinyVendor()


@pytest.fixture
def clock() -> Clock:
    return Clock()


def client_for(
    vendor: TinyVendor, plan: FaultPlan, clock: Clock, *, time_scale: float = 1.0
) -> httpx.Client:
    app = inject_faults(vendor.app, plan, clock=clock, time_scale=time_scale)
    transport = FaultyTransport(InProcessTransport(app))
    return httpx.Client(transport=transport, base_url="http://vendor.test", timeout=0.2)


@pytest.fixture
def calm_page(vendor: TinyVendor, clock: Clock) -> Iterator[dict[str, Any]]:
    with client_for(TinyVendor(), plan_for(None), clock) as client:
        yield client.get("/v2/items").json()


def test_429_with_retry_after_in_seconds(vendor: TinyVendor, clock: Clock) -> None:
    plan = plan_for(K.RATE_LIMIT, retry_after_seconds=30)
    with client_for(vendor, plan, clock, time_scale=0.1) as client:
        response = client.get("/v2/items")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "3"
    assert response.json() == {"code": 429, "message": "Too Many Requests"}
    assert plan.injected == [("GET", "/v2/items", K.RATE_LIMIT)]


def test_429_with_retry_after_as_an_http_date(vendor: TinyVendor, clock: Clock) -> None:
    plan = plan_for(K.RATE_LIMIT_DATE, vendor="xero", retry_after_seconds=30)
    with client_for(vendor, plan, clock) as client:
        response = client.get("/v2/items")
    assert response.status_code == 429
    assert parsedate_to_datetime(response.headers["Retry-After"]) == START + timedelta(seconds=30)
    assert response.headers["X-Rate-Limit-Problem"] == "minute"
    assert response.json()["Status"] == 429


@pytest.mark.parametrize(
    ("kind", "status"), [(K.SERVER_ERROR, 500), (K.BAD_GATEWAY, 502), (K.UNAVAILABLE, 503)]
)
def test_server_errors(vendor: TinyVendor, clock: Clock, kind: FaultKind, status: int) -> None:
    with client_for(vendor, plan_for(kind, vendor="salesforce"), clock) as client:
        response = client.get("/v2/items")
    assert response.status_code == status and "Retry-After" not in response.headers
    if status == 502:
        assert response.headers["content-type"] == "text/html"
    else:
        assert response.json()[0]["errorCode"] in ("UNKNOWN_EXCEPTION", "SERVER_UNAVAILABLE")
    assert vendor.seen_headers == []  # the app never saw the call


def test_bamboohr_style_503_with_retry_after(vendor: TinyVendor, clock: Clock) -> None:
    with client_for(vendor, plan_for(K.THROTTLE_503, vendor="bamboohr"), clock) as client:
        response = client.get("/v2/items")
    assert response.status_code == 503 and response.headers["Retry-After"] == "30"
    assert response.headers["X-BambooHR-Error-Message"] == "Service Unavailable"


def test_salesforce_daily_limit(vendor: TinyVendor, clock: Clock) -> None:
    with client_for(vendor, plan_for(K.DAILY_LIMIT, vendor="salesforce"), clock) as client:
        response = client.get("/v2/items")
    assert response.status_code == 403
    assert response.json() == [
        {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
    ]


def test_slow_response_is_late_but_whole(
    vendor: TinyVendor, clock: Clock, calm_page: dict[str, Any]
) -> None:
    plan = plan_for(K.SLOW, slow_seconds=30)
    with client_for(vendor, plan, clock, time_scale=0.005) as client:
        started = time.monotonic()
        response = client.get("/v2/items")
    assert time.monotonic() - started >= 0.15
    assert response.json() == calm_page


def test_hang_ends_in_read_timeout_after_the_client_timeout(
    vendor: TinyVendor, clock: Clock
) -> None:
    plan = plan_for(K.HANG, hang_seconds=3600)
    with client_for(vendor, plan, clock) as client:
        started = time.monotonic()
        with pytest.raises(httpx.ReadTimeout):
            client.get("/v2/items", timeout=0.1)
    assert 0.1 <= time.monotonic() - started < 2
    assert plan.injected == [("GET", "/v2/items", K.HANG)]


def test_hang_without_faulty_transport_is_a_dropped_connection(vendor: TinyVendor) -> None:
    app = inject_faults(vendor.app, plan_for(K.HANG, hang_seconds=0.05))
    transport = InProcessTransport(app)
    with (
        httpx.Client(transport=transport, base_url="http://vendor.test") as client,
        pytest.raises(httpx.RemoteProtocolError),
    ):
        client.get("/v2/items")


def test_reset_never_reaches_the_app(vendor: TinyVendor, clock: Clock) -> None:
    with (
        client_for(vendor, plan_for(K.RESET), clock) as client,
        pytest.raises(httpx.RemoteProtocolError),
    ):
        client.post("/v2/items", json={"name": "x"})
    assert vendor.created == []


def test_cut_body_drops_the_connection_mid_body(vendor: TinyVendor, clock: Clock) -> None:
    with (
        client_for(vendor, plan_for(K.CUT_BODY), clock) as client,
        pytest.raises(httpx.RemoteProtocolError),
    ):
        client.get("/v2/items")


def test_invalid_json_is_a_complete_reply_that_does_not_parse(
    vendor: TinyVendor, clock: Clock, calm_page: dict[str, Any]
) -> None:
    with client_for(vendor, plan_for(K.INVALID_JSON), clock) as client:
        response = client.get("/v2/items")
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        response.json()
    whole = json.dumps(calm_page, separators=(",", ":"))
    assert response.text and whole.startswith(response.text)


def test_a_page_repeats_the_previous_pages_last_record(vendor: TinyVendor, clock: Clock) -> None:
    with client_for(vendor, plan_for(K.REPEAT_RECORD), clock) as client:
        pages = [client.get("/v2/items", params={"page": n}).json()["items"] for n in (1, 2, 3)]
    ids = [[record["id"] for record in page] for page in pages]
    # page one has no previous page, so it repeats its own first record
    assert ids == [[1, 1, 2, 3], [3, 4, 5, 6], [6, 7, 8, 9]]


def test_skip_leaves_out_one_record(vendor: TinyVendor, clock: Clock) -> None:
    with client_for(vendor, plan_for(K.SKIP_RECORD), clock) as client:
        ids = [record["id"] for record in client.get("/v2/items").json()["items"]]
    assert len(ids) == PER_PAGE - 1 and set(ids) < {1, 2, 3}


@pytest.mark.parametrize("kind", [K.DRIFT_RENAME, K.DRIFT_ENUM, K.DRIFT_NULL])
def test_drift_changes_exactly_the_intended_field(
    vendor: TinyVendor, clock: Clock, calm_page: dict[str, Any], kind: FaultKind
) -> None:
    plan = plan_for(kind)
    with client_for(vendor, plan, clock) as client:
        drifted = client.get("/v2/items").json()
    field = drift_field(item(1), kind, seed=plan.seed, vendor=plan.vendor)
    assert field is not None and field != "id"
    for before, after in zip(calm_page["items"], drifted["items"], strict=True):
        expected = dict(before)
        if kind is K.DRIFT_RENAME:
            expected[field + "_v2"] = expected.pop(field)
        elif kind is K.DRIFT_NULL:
            expected[field] = None
        else:
            assert field == "status"  # the only enum-like field of an item
            expected[field] = "drifted"
        assert after == expected
    assert drifted["page"] == calm_page["page"]


def test_lost_write_was_applied(vendor: TinyVendor, clock: Clock) -> None:
    plan = plan_for(K.LOST_WRITE)
    with client_for(vendor, plan, clock) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            client.post("/v2/items", json={"name": "invoice 1"})
        assert client.get("/v2/items").status_code == 200  # reads are not writes
    assert vendor.created == [{"name": "invoice 1"}]
    assert plan.injected == [("POST", "/v2/items", K.LOST_WRITE)]


def test_outage_lasts_its_simulated_duration_then_recovers(
    vendor: TinyVendor, clock: Clock
) -> None:
    plan = FaultPlan("xero", {}, 7, outage=Outage(timedelta(hours=2)))
    with client_for(vendor, plan, clock, time_scale=0.5) as client:
        assert client.get("/v2/items").status_code == 503
        clock.now += timedelta(minutes=59)
        assert client.get("/v2/items").status_code == 503
        clock.now += timedelta(minutes=1)  # 2 h × 0.5 have passed
        assert client.get("/v2/items").status_code == 200
    assert plan.outage_ends(0.5) == START + timedelta(hours=1)
    assert [kind for *_, kind in plan.injected] == [K.OUTAGE, K.OUTAGE]


def test_outage_in_reset_mode_refuses_connections(vendor: TinyVendor, clock: Clock) -> None:
    plan = FaultPlan("xero", {}, 7, outage=Outage(timedelta(minutes=5), mode="reset"))
    with client_for(vendor, plan, clock) as client:
        with pytest.raises(httpx.ConnectError):
            client.get("/v2/items")
        clock.now += timedelta(minutes=5)
        assert client.get("/v2/items").status_code == 200


def test_token_endpoints_are_exempt(vendor: TinyVendor, clock: Clock) -> None:
    plan = plan_for(K.RESET)
    with client_for(vendor, plan, clock) as client:
        assert client.post("/connect/token").status_code == 200
    assert plan.injected == []


def test_the_emulator_never_sees_the_timeout_hint(vendor: TinyVendor, clock: Clock) -> None:
    with client_for(vendor, plan_for(K.SLOW, slow_seconds=0), clock) as client:
        client.get("/v2/items")
    assert vendor.seen_headers and all(
        "x-sandbox-read-timeout" not in headers for headers in vendor.seen_headers
    )
