"""The Harvest connector against the sandbox emulator: reconciliation, expenses, tasks and task
assignments read and mapped, and provisioning (look up before create, also after a lost reply);
pure mapping checks for time entries invoiced outside plan2cash and malformed pages."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

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
from tests.collectors import transports
from tests.collectors.records import harvest_time_entry

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


class Counting(transports.Counting):
    def posts(self) -> list[str]:
        return [r.url.path.removeprefix("/v2") for r in self.requests if r.method == "POST"]


@pytest.fixture
def wire(box: Sandbox) -> Counting:
    return Counting(box.transports()["harvest"])


@pytest.fixture
def connector(wire: Counting) -> HarvestConnector:
    return HarvestConnector(HarvestSettings(per_page=40), transport=wire, policy=FAST)


def read(connector: HarvestConnector, stream: str, since: datetime | None = None) -> list[Any]:
    with connector.client() as client:
        return [r for page in connector.pages(client, stream, since) for r in page]


def test_expenses_are_read_and_map_to_canonical_expenses(
    box: Sandbox, connector: HarvestConnector, wire: Counting
) -> None:
    raw = read(connector, "expenses")
    assert len(raw) == len(box.world.expenses) and len(wire.requests) > 1  # paged
    world = {e.id: e for e in box.world.expenses}
    for record in raw:
        expense = to_expense(record)
        truth = world[int(expense.source_id)]
        assert expense.amount == truth.amount.quantize(Decimal("0.01"))
        assert expense.currency == truth.currency and expense.approved is truth.approved
        assert expense.category == truth.category and expense.billable is truth.billable
    latest = max(e.updated_at for e in box.world.expenses)
    assert {r["id"] for r in read(connector, "expenses", latest)} == {
        e.id for e in box.world.expenses if e.updated_at >= latest
    }


def test_tasks_and_task_assignments_are_read(box: Sandbox, connector: HarvestConnector) -> None:
    tasks = read(connector, "tasks")
    assert sorted(t["name"] for t in tasks) == ["Analysis", "Consulting"]
    links = read(connector, "task_assignments")
    assert len(links) == len(box.world.projects) * len(tasks)
    assert {link["project"]["id"] for link in links} == {p.id for p in box.world.projects}


# --- provisioning: look up, then create --------------------------------------------------------


def test_an_existing_client_is_found_not_created(
    box: Sandbox, connector: HarvestConnector, wire: Counting
) -> None:
    customer = box.world.customers[0]
    with connector.client() as client:
        found = connector.ensure_client(client, name=customer.name.upper(), currency="USD")
    assert found == customer.id and wire.posts() == []


def test_a_missing_client_is_created_once(
    box: Sandbox, connector: HarvestConnector, wire: Counting
) -> None:
    with connector.client() as client:
        created = connector.ensure_client(client, name="Globex Nordic", currency="EUR")
        again = connector.ensure_client(client, name="globex nordic", currency="EUR")
    assert created == again and wire.posts() == ["/clients"]
    [stored] = box.harvest.created("clients")
    assert stored["id"] == created and stored["currency"] == "EUR"


def test_a_create_whose_reply_was_lost_is_looked_up_not_repeated(
    box: Sandbox, connector: HarvestConnector, wire: Counting
) -> None:
    customer = box.world.customers[0]
    box.harvest.lose_next_response()
    with connector.client() as client:
        project = connector.ensure_project(
            client, client_id=customer.id, name="Rollout", code="ACME-77", hourly_rate=180.0
        )
        again = connector.ensure_project(
            client, client_id=customer.id, name="Rollout", code="ACME-77"
        )
    assert wire.posts() == ["/projects"] and project == again
    [stored] = box.harvest.created("projects")
    assert stored["id"] == project and stored["code"] == "ACME-77"
    assert stored["bill_by"] == "People" and stored["hourly_rate"] == 180.0


def test_user_assignments_are_provisioned_per_project_once(
    box: Sandbox, connector: HarvestConnector, wire: Counting
) -> None:
    customer, user = box.world.customers[0], box.world.employees[0]
    existing = box.world.assignments[0]
    with connector.client() as client:
        project = connector.ensure_project(client, client_id=customer.id, name="Audit", code="A-1")
        first = connector.ensure_user_assignment(
            client, project_id=project, user_id=user.id, hourly_rate=180
        )
        second = connector.ensure_user_assignment(
            client, project_id=project, user_id=user.id, hourly_rate=180
        )
        known = connector.ensure_user_assignment(
            client, project_id=existing.project_id, user_id=existing.employee_id
        )
    assert first == second and known == existing.id
    assert wire.posts() == ["/projects", f"/projects/{project}/user_assignments"]
    [stored] = box.harvest.created("user_assignments")
    assert stored["hourly_rate"] == 180 and stored["use_default_rates"] is False


def test_the_columnar_page_reader_agrees_with_the_record_by_record_one() -> None:
    from polars.testing import assert_frame_equal

    page: list[Any] = [
        harvest_time_entry(1),
        harvest_time_entry(2, hours="seven", spent_date="31/02/2026"),
        harvest_time_entry(3, is_closed=False, hours=-2),
        harvest_time_entry(4, invoice={"id": 9, "number": "A"}),
        "garbage",
        {"no": "id"},
        harvest_time_entry(6, hours=26, updated_at="2026-10-20T10:00:00+02:00"),
        harvest_time_entry(7, task=None, project=None),
        harvest_time_entry(8, hours=0.1, created_at="bad"),
        harvest_time_entry(
            9, updated_at="2026-11-25T18:31:00.123456+00:00", created_at="2026-11-25T18:31:00"
        ),
    ]
    assert_frame_equal(
        harvest.time_entries_frame(page),
        harvest._time_entries_by_record(page),
    )


def test_a_value_no_column_can_hold_falls_back_to_reading_record_by_record() -> None:
    page: list[Any] = [harvest_time_entry(1), harvest_time_entry(2, billable="yes", user="x")]
    frame = harvest.time_entries_frame(page)
    assert frame["billable"].to_list() == [True, None]
    assert frame["resource_id"][1] is None and frame["source_id"].to_list() == ["1", "2"]
