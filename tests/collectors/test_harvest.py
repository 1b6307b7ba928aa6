"""The Harvest connector: reconciliation against the emulator, invoiced-outside entries, and
provisioning (look up before create) against strict mock transports."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import orjson
import pytest

from collectors import harvest
from collectors.harvest import (
    HarvestConnector,
    HarvestSettings,
    time_entries_frame,
    to_expense,
    to_time_entry,
)
from collectors.http import RetryPolicy
from sandbox.server import Sandbox

FAST = RetryPolicy(attempts=3, initial=0.001, maximum=0.01, jitter=0.0)


@pytest.fixture
def box() -> Iterator[Sandbox]:
    with Sandbox(7, today=date(2026, 11, 25)) as sandbox:
        yield sandbox


def test_reconcile_ids_finds_what_was_deleted(box: Sandbox) -> None:
    connector = HarvestConnector(HarvestSettings(), transport=box.transports()["harvest"])
    with connector.client() as client:
        before = connector.reconcile_ids(client, "time_entries")
        gone = next(iter(before))
        box.harvest.delete_entry(int(gone))
        after = connector.reconcile_ids(client, "time_entries")
    assert len(before) == len(box.firm.time_entries) and before - after == {gone}


def entry(**fields: Any) -> dict[str, Any]:
    return {
        "id": 1,
        "spent_date": "2026-11-02",
        "hours": 7.5,
        "billable": True,
        "is_closed": True,
        "is_billed": False,
        "invoice": None,
        "user": {"id": 10},
        "project": {"id": 20},
        "client": {"id": 30},
        "task": {"id": 40, "name": "Design"},
        "billable_rate": 150.0,
        "created_at": "2026-11-02T17:00:00Z",
        "updated_at": "2026-11-03T09:00:00Z",
    } | fields


def test_time_invoiced_outside_plan2cash_is_flagged_billed() -> None:
    frame = time_entries_frame(
        [
            entry(id=1),
            entry(id=2, is_billed=True),
            entry(id=3, invoice={"id": 77, "number": "1001"}),
        ]
    )
    assert frame["is_billed"].to_list() == [False, True, True]


def test_one_entry_maps_to_a_canonical_time_entry() -> None:
    e = to_time_entry(entry())
    assert e.hours == Decimal("7.5") and e.status == "approved" and e.task == "Design"
    assert e.approved_at is not None and e.vendor_rate == Decimal(150)


def test_expenses_map_to_canonical_expenses() -> None:
    raw = {
        "id": 5,
        "spent_date": "2026-11-02",
        "total_cost": 84.5,
        "billable": True,
        "is_closed": True,
        "user": {"id": 10},
        "project": {"id": 20},
        "client": {"id": 30, "currency": "EUR"},
        "expense_category": {"id": 1, "name": "Travel"},
        "updated_at": "2026-11-03T09:00:00Z",
    }
    expense = to_expense(raw)
    assert expense.amount == Decimal("84.50") and expense.currency == "EUR"
    assert expense.approved and expense.category == "Travel"


# --- provisioning -------------------------------------------------------------------------------


class FakeHarvest:
    """Lists and creates clients/projects/user assignments; can lose the reply to a create."""

    def __init__(self) -> None:
        self.clients: list[dict[str, Any]] = [{"id": 1, "name": "Acme Ltd", "currency": "USD"}]
        self.projects: list[dict[str, Any]] = []
        self.assignments: list[dict[str, Any]] = []
        self.posts: list[str] = []
        self.lose_next_reply = False

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/v2")
        listed = {"/clients": self.clients, "/projects": self.projects}
        if request.method == "GET" and path in listed:
            return self._page(path.strip("/"), listed[path])
        if request.method == "GET" and path.endswith("/user_assignments"):
            return self._page("user_assignments", self.assignments)
        if request.method == "POST":
            self.posts.append(path)
            body = orjson.loads(request.content)
            record = self._create(path, body)
            if self.lose_next_reply:
                self.lose_next_reply = False
                raise httpx.ReadError("connection reset by peer")
            return httpx.Response(201, json=record)
        raise AssertionError(f"unexpected {request.method} {request.url}")

    def _create(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        if path == "/clients":
            target = self.clients
        elif path == "/projects":
            target = self.projects
        else:
            target = self.assignments
            body = {"user": {"id": body["user_id"]}, **body}
        record = {"id": 100 + len(self.posts), **body}
        target.append(record)
        return record

    @staticmethod
    def _page(name: str, records: list[dict[str, Any]]) -> httpx.Response:
        return httpx.Response(200, json={name: records, "links": {"next": None}})


def provisioner(fake: Callable[[httpx.Request], httpx.Response]) -> HarvestConnector:
    return HarvestConnector(
        HarvestSettings(base_url="https://api.harvestapp.com/v2"),
        transport=httpx.MockTransport(fake),
        policy=FAST,
    )


def test_an_existing_client_is_found_not_created() -> None:
    fake = FakeHarvest()
    harvest = provisioner(fake)
    with harvest.client() as client:
        assert harvest.ensure_client(client, name="ACME LTD", currency="USD") == 1
    assert fake.posts == []


def test_a_missing_client_is_created_once() -> None:
    fake = FakeHarvest()
    harvest = provisioner(fake)
    with harvest.client() as client:
        created = harvest.ensure_client(client, name="Globex", currency="EUR")
        again = harvest.ensure_client(client, name="Globex", currency="EUR")
    assert created == again and fake.posts == ["/clients"]


def test_a_create_whose_reply_was_lost_is_looked_up_not_repeated() -> None:
    fake = FakeHarvest()
    fake.lose_next_reply = True
    harvest = provisioner(fake)
    with harvest.client() as client:
        project = harvest.ensure_project(client, client_id=1, name="Rollout", code="ACME-07")
    assert fake.posts == ["/projects"] and [p["id"] for p in fake.projects] == [project]
    assert fake.projects[0]["code"] == "ACME-07" and fake.projects[0]["bill_by"] == "People"


def test_user_assignments_are_provisioned_per_project_once() -> None:
    fake = FakeHarvest()
    harvest = provisioner(fake)
    with harvest.client() as client:
        first = harvest.ensure_user_assignment(client, project_id=9, user_id=5, hourly_rate=180)
        second = harvest.ensure_user_assignment(client, project_id=9, user_id=5, hourly_rate=180)
    assert first == second and fake.posts == ["/projects/9/user_assignments"]
    assert fake.assignments[0]["hourly_rate"] == 180


def _entry(i: int, **over: object) -> dict[str, object]:
    base: dict[str, object] = {
        "id": i,
        "spent_date": "2026-10-05",
        "hours": 7.5,
        "billable": True,
        "is_closed": True,
        "is_billed": False,
        "user": {"id": 1, "name": "A"},
        "project": {"id": 10, "code": "X"},
        "client": {"id": 100, "currency": "USD"},
        "task": {"id": 5, "name": "Consulting"},
        "billable_rate": 150.0,
        "created_at": "2026-10-20T10:00:00Z",
        "updated_at": "2026-10-20T10:00:00Z",
        "notes": "x",
        "invoice": None,
    }
    return base | over


def test_the_columnar_page_reader_agrees_with_the_record_by_record_one() -> None:
    from polars.testing import assert_frame_equal

    page: list[Any] = [
        _entry(1),
        _entry(2, hours="seven", spent_date="31/02/2026"),
        _entry(3, is_closed=False, hours=-2),
        _entry(4, invoice={"id": 9, "number": "A"}),
        "garbage",
        {"no": "id"},
        _entry(6, hours=26, updated_at="2026-10-20T10:00:00+02:00"),
        _entry(7, task=None, project=None),
        _entry(8, hours=0.1, created_at="bad"),
        _entry(9, updated_at="2026-11-25T18:31:00.123456+00:00", created_at="2026-11-25T18:31:00"),
    ]
    assert_frame_equal(
        harvest.time_entries_frame(page),
        harvest._time_entries_by_record(page),
    )


def test_a_value_no_column_can_hold_falls_back_to_reading_record_by_record() -> None:
    page: list[Any] = [_entry(1), _entry(2, billable="yes", user="x")]
    frame = harvest.time_entries_frame(page)
    assert frame["billable"].to_list() == [True, None]
    assert frame["resource_id"][1] is None and frame["source_id"].to_list() == ["1", "2"]
