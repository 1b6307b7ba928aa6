"""The BambooHR connector against the BambooHR emulator, in-process (no sockets)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from collectors.bamboohr import (
    LAST_CHANGED,
    Absence,
    BambooHRConnector,
    BambooHRSettings,
    Holiday,
    resource_id,
    to_resource,
    to_time_off,
    to_whos_out,
    verify_webhook,
)
from collectors.entities import Resource
from collectors.errors import AuthError, RateLimitedError, SchemaDriftError
from collectors.http import RetryPolicy
from collectors.pacing import Pacer
from sandbox.transport import InProcessTransport
from sandbox.vendors.bamboohr import BambooHREmulator
from tests.sandbox.bamboohr_world import NOW, PART_TIMER_ID, TERMINATED_ID, build_world
from tests.sandbox.clock import FakeClock

KEY = "sandbox-bamboohr-key"
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


class Counting(httpx.BaseTransport):
    """Counts the requests that reach the emulator and the statuses it answered."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.statuses: list[int] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        self.statuses.append(response.status_code)
        return response

    def close(self) -> None:
        self.inner.close()


def connect(
    bamboo_emulator: BambooHREmulator, **settings: Any
) -> tuple[BambooHRConnector, httpx.Client, Counting]:
    transport = Counting(InProcessTransport(bamboo_emulator.app))
    connector = BambooHRConnector(BambooHRSettings(**settings), transport=transport, pacer=Pacer())
    return connector, connector.client(), transport


@pytest.fixture
def wired(
    bamboo_emulator: BambooHREmulator,
) -> Iterator[tuple[BambooHRConnector, httpx.Client, Counting]]:
    connector, client, transport = connect(bamboo_emulator, page_limit=5)
    with client:
        yield connector, client, transport


def resources(connector: BambooHRConnector, client: httpx.Client) -> list[Resource]:
    return [
        to_resource(raw, updated_at=NOW)
        for page in connector.employee_pages(client)
        for raw in page
    ]


def test_every_employee_becomes_a_valid_resource(
    wired: tuple[BambooHRConnector, httpx.Client, Counting],
) -> None:
    connector, client, transport = wired
    people = resources(connector, client)
    assert len(people) == len({p.source_id for p in people}) == 12
    assert transport.statuses == [200, 200, 200]  # 12 people, 5 a page: three requests
    by_id = {p.source_id: p for p in people}
    assert by_id[str(TERMINATED_ID)].employment_status == "terminated"
    assert {p.employment_status for p in people} == {"active", "terminated"}
    lena = by_id["3"]
    assert (lena.name, lena.role, lena.practice, lena.region) == (
        "Lena Smith",
        "Senior Consultant",
        "Technology",
        "North America",
    )
    assert lena.email == "lena.smith@meridian.example" and lena.id == resource_id("3")
    assert lena.weekly_capacity_hours == Decimal(40)


def test_the_single_employee_read_supplies_capacity_and_termination(
    wired: tuple[BambooHRConnector, httpx.Client, Counting],
) -> None:
    connector, client, _ = wired
    part_timer = connector.employee(client, str(PART_TIMER_ID))
    assert to_resource(part_timer, updated_at=NOW).weekly_capacity_hours == Decimal(20)
    gone = connector.employee(client, str(TERMINATED_ID))
    assert gone["terminationDate"] == "2025-06-30"
    assert to_resource(gone, updated_at=NOW).employment_status == "terminated"


def test_changed_since_feeds_an_incremental_run(
    wired: tuple[BambooHRConnector, httpx.Client, Counting],
    bamboo_emulator: BambooHREmulator,
    bamboo_clock: FakeClock,
) -> None:
    connector, client, _ = wired
    first = connector.changed(client, LONG_AGO)
    assert len(first.changed) == 12 and not first.deleted
    again = connector.changed(client, first.latest)
    assert again.latest == first.latest  # the cursor does not move without changes
    assert all(stamp <= first.latest for stamp in again.changed.values())  # nothing new

    bamboo_clock.advance(minutes=5)
    bamboo_emulator.terminate(3, date(2026, 3, 12))
    bamboo_emulator.delete_employee(6)
    third = connector.changed(client, first.latest)
    assert third.latest > first.latest
    new = {i for i, stamp in third.changed.items() if stamp > first.latest}
    assert new == {"3"} and set(third.deleted) == {"6"}
    refetched = [
        to_resource(raw, updated_at=third.changed[raw["employeeId"]])
        for page in connector.employee_pages(client, sorted(new))
        for raw in page
    ]
    assert [(r.source_id, r.employment_status) for r in refetched] == [("3", "terminated")]


def test_the_employees_stream_carries_its_cursor(
    wired: tuple[BambooHRConnector, httpx.Client, Counting],
    bamboo_emulator: BambooHREmulator,
    bamboo_clock: FakeClock,
) -> None:
    """What the shared contract suite checks: a full read, the cursor per record, and a second
    run from the high-water mark that reads nothing new; then one change flows."""
    connector, client, transport = wired
    first = [raw for page in connector.pages(client, "employees") for raw in page]
    assert transport.statuses == [200] * 4  # one changed call, then 12 people in pages of 5
    people = [to_resource(raw) for raw in first]
    high = max(p.updated_at for p in people)
    assert len(people) == 12 and high == max(datetime.fromisoformat(r[LAST_CHANGED]) for r in first)
    again = [raw for page in connector.pages(client, "employees", high) for raw in page]
    assert {r["employeeId"] for r in again} <= {r["employeeId"] for r in first}
    assert all(to_resource(r).updated_at <= high for r in again)

    bamboo_clock.advance(minutes=1)
    bamboo_emulator.edit_employee(5, role="Senior Consultant")
    changed = [to_resource(r) for page in connector.pages(client, "employees", high) for r in page]
    newer = [r for r in changed if r.updated_at > high]
    assert [(r.source_id, r.role) for r in newer] == [("5", "Senior Consultant")]


def test_time_off_and_whos_out_map_to_records(
    wired: tuple[BambooHRConnector, httpx.Client, Counting],
) -> None:
    connector, client, _ = wired
    requests = [
        to_time_off(r) for r in connector.time_off(client, date(2026, 1, 1), date(2026, 12, 31))
    ]
    assert len(requests) == 6
    sick = next(r for r in requests if r.kind == "Sick")
    assert (sick.unit, sick.amount, sick.status) == ("hours", Decimal("4.0"), "approved")
    assert sick.resource_id == resource_id("6")
    parental = next(r for r in requests if r.kind == "Parental leave")
    assert parental.amount == Decimal("7.0") and len(parental.daily) == 10
    out = [to_whos_out(e) for e in connector.whos_out(client, date(2026, 3, 1), date(2026, 3, 31))]
    assert {type(e) for e in out} == {Absence, Holiday}
    assert [e.name for e in out if isinstance(e, Holiday)] == ["Meridian Day"]


@pytest.mark.parametrize(
    "today, status",
    [
        (datetime(2026, 3, 12, tzinfo=UTC), 503),  # before BambooHR's change of 2026-09-16
        (datetime(2026, 9, 16, tzinfo=UTC), 429),  # after it
    ],
)
def test_throttling_is_retried_after_retry_after(today: datetime, status: int) -> None:
    emulator = BambooHREmulator(build_world(), rate_limit=1, time_scale=0.02, now=lambda: today)
    connector, client, transport = connect(emulator)
    with client:
        started = time.monotonic()
        assert connector.whos_out(client, date(2026, 3, 1), date(2026, 3, 31)) is not None
        assert connector.time_off(client, date(2026, 3, 1), date(2026, 3, 31))
    assert transport.statuses == [200, status, 200]
    assert time.monotonic() - started >= 1.0  # Retry-After: 1, honoured


def test_the_api_key_never_reaches_logs_or_errors(
    bamboo_emulator: BambooHREmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    connector, client, _ = connect(bamboo_emulator, api_key=SecretStr(KEY))
    with client:
        resources(connector, client)
        connector.changed(client, LONG_AGO)
    wrong = "wrong-key-0123456789"
    bad, bad_client, _ = connect(bamboo_emulator, api_key=SecretStr(wrong))
    with bad_client, pytest.raises(AuthError) as refused:
        bad.changed(bad_client, LONG_AGO)
    assert "401" in str(refused.value) and "Invalid API key" in str(refused.value)
    secrets = [KEY, wrong, base64.b64encode(f"{KEY}:x".encode()).decode()]
    shown = caplog.text + str(refused.value) + repr(refused.value.details)
    shown += repr(BambooHRSettings(api_key=SecretStr(KEY)))
    assert caplog.text  # httpx did log the requests
    assert not [s for s in secrets if s in shown]


def test_schema_drift_is_reported_per_record() -> None:
    good = {"employeeId": "1", "firstName": "A", "lastName": "B", "status": "Active"}
    assert to_resource(good, updated_at=NOW).employment_status == "active"
    renamed = {k: v for k, v in good.items() if k != "status"} | {"employeeStatus": "Active"}
    with pytest.raises(SchemaDriftError, match="no status"):
        to_resource(renamed, updated_at=NOW)
    with pytest.raises(SchemaDriftError, match="unknown status"):
        to_resource(good | {"status": "Suspended"}, updated_at=NOW)
    with pytest.raises(SchemaDriftError):
        to_time_off({"id": 1, "employeeId": 2, "start": "2026-01-01", "end": "2026-01-02"})
    with pytest.raises(SchemaDriftError):
        to_whos_out({"id": 1, "type": "birthday", "start": "2026-01-01", "end": "2026-01-01"})


def test_webhook_verification(bamboo_emulator: BambooHREmulator) -> None:
    headers, body = bamboo_emulator.webhook_delivery("employee.updated", [3])
    sent = NOW.timestamp()
    key = SecretStr(bamboo_emulator.webhook_key)
    assert verify_webhook(headers, body, key, now=sent + 10)
    assert verify_webhook({k.lower(): v for k, v in headers.items()}, body, key, now=sent)
    assert not verify_webhook(headers, body.replace(b"Technology", b"Marketing!"), key, now=sent)
    assert not verify_webhook(headers, body, key, now=sent + 301)  # replayed later
    assert not verify_webhook(headers, body, SecretStr("another-key"), now=sent)
    assert not verify_webhook({}, body, key, now=sent)
    stale = headers | {"X-BambooHR-Timestamp": str(int(sent) - 3600)}
    assert not verify_webhook(stale, body, key, now=sent)


def test_webhook_verification_accepts_a_base64_digest(bamboo_emulator: BambooHREmulator) -> None:
    headers, body = bamboo_emulator.webhook_delivery("employee.created", [1])
    digest = hmac.new(
        bamboo_emulator.webhook_key.encode(),
        body + headers["X-BambooHR-Timestamp"].encode(),
        hashlib.sha256,
    ).digest()
    as_base64 = headers | {"X-BambooHR-Signature": base64.b64encode(digest).decode()}
    assert verify_webhook(as_base64, body, bamboo_emulator.webhook_key, now=NOW.timestamp())


def test_settings_bound_the_page_limit() -> None:
    with pytest.raises(ValueError):
        BambooHRSettings(page_limit=2501)
    assert BambooHRConnector(BambooHRSettings()).params(["1", "2"]) == {
        "page[limit]": "1000",
        "fields": "workEmail,hireDate,departmentName,divisionName,locationName,"
        "employmentStatusName,reportsToId",
        "filter[ids]": "1,2",
    }


def test_the_retry_policy_bounds_a_throttled_run() -> None:
    emulator = BambooHREmulator(build_world(), rate_limit=1, time_scale=10.0, now=lambda: NOW)
    transport = Counting(InProcessTransport(emulator.app))
    connector = BambooHRConnector(
        BambooHRSettings(),
        transport=transport,
        pacer=Pacer(),
        policy=RetryPolicy(attempts=2, max_retry_after=0.01),
    )
    with connector.client() as client:
        connector.whos_out(client, date(2026, 3, 1), date(2026, 3, 2))
        with pytest.raises(RateLimitedError) as exhausted:
            connector.whos_out(client, date(2026, 3, 1), date(2026, 3, 2))
    assert "503" in str(exhausted.value)
    assert transport.statuses == [200, 503, 503]
