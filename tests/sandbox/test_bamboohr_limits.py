"""The BambooHR emulator's limits (503 before 2026-09-16, 429 after), webhook deliveries and the
control methods tests use to change the company."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, date, datetime
from typing import Any

import orjson
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.transport import InProcessTransport
from sandbox.vendors.bamboohr import BambooHREmulator
from tests.sandbox.bamboohr_world import NOW, build_world, client_for


@pytest.fixture
def emulator() -> BambooHREmulator:
    return BambooHREmulator(build_world(), now=lambda: NOW)


# --- throttling -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "mode, today, status",
    [
        ("auto", datetime(2026, 9, 15, 23, 59, tzinfo=UTC), 503),
        ("auto", datetime(2026, 9, 16, 0, 0, tzinfo=UTC), 429),
        ("503", datetime(2027, 1, 1, tzinfo=UTC), 503),
        ("429", datetime(2025, 1, 1, tzinfo=UTC), 429),
    ],
)
def test_throttling_answers_503_then_429_with_retry_after(
    mode: Any, today: datetime, status: int
) -> None:
    emulator = BambooHREmulator(
        build_world(), throttle_mode=mode, rate_limit=2, time_scale=0.05, now=lambda: today
    )
    with client_for(emulator) as api:
        assert [api.get("meta/fields").status_code for _ in range(2)] == [200, 200]
        throttled = api.get("meta/fields")
    assert throttled.status_code == status
    assert int(throttled.headers["Retry-After"]) >= 1
    assert throttled.headers["X-BambooHR-Error-Message"] == "Rate limit exceeded"


# --- webhooks ---------------------------------------------------------------------------------


def test_webhook_deliveries_are_signed_over_body_then_timestamp(emulator: BambooHREmulator) -> None:
    headers, body = emulator.webhook_delivery("employee.updated", [3])
    timestamp = headers["X-BambooHR-Timestamp"]
    assert timestamp == str(int(NOW.timestamp()))
    expected = hmac.new(emulator.webhook_key.encode(), body + timestamp.encode(), hashlib.sha256)
    assert headers["X-BambooHR-Signature"] == expected.hexdigest()
    (entry,) = orjson.loads(body)["employees"]
    assert entry["id"] == "3" and entry["action"] == "Updated"
    assert entry["fields"]["Department"] == "Technology" and entry["changedFields"]
    _, created = emulator.webhook_delivery("employee.created", [3])
    assert orjson.loads(created)["employees"][0] == {
        "id": "3",
        "action": "Created",
        "changedFields": [],
        "fields": {},
    }
    with pytest.raises(ValueError):
        emulator.webhook_delivery("employee.promoted", [3])


def test_send_webhook_posts_the_signed_delivery(emulator: BambooHREmulator) -> None:
    received: list[tuple[dict[str, str], bytes]] = []

    async def receive(request: Request) -> Response:
        received.append((dict(request.headers), await request.body()))
        return Response(status_code=200)

    receiver = Starlette(routes=[Route("/hooks/bamboohr", receive, methods=["POST"])])
    with InProcessTransport(receiver) as transport:
        response = emulator.send_webhook(
            "http://receiver.test/hooks/bamboohr", "employee.deleted", [6], transport=transport
        )
    assert response.status_code == 200
    ((headers, body),) = received
    signed = hmac.new(
        emulator.webhook_key.encode(),
        body + headers["x-bamboohr-timestamp"].encode(),
        hashlib.sha256,
    )
    assert headers["x-bamboohr-signature"] == signed.hexdigest()
    assert base64.b64encode(signed.digest()).decode() != headers["x-bamboohr-signature"]


def test_control_methods_guard_their_inputs(emulator: BambooHREmulator) -> None:
    with pytest.raises(ValueError):
        emulator.edit_employee(1, salary=1)
    with pytest.raises(ValueError):
        emulator.request_time_off(1, date(2026, 3, 5), date(2026, 3, 4))
    assert emulator.edit_employee(1, role="Managing Partner").role == "Managing Partner"
    assert len(emulator.employees()) == 12
