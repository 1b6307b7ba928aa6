"""The Harvest emulator's provisioning writes (clients, projects, user assignments) and the
lists they and the world feed (expenses, tasks, task assignments), checked against the spec."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from sandbox.server import Sandbox
from tests.sandbox.clock import FakeClock
from tests.sandbox.contract import HARVEST_SPEC, check_request, check_response
from tests.sandbox.test_harvest import follow

PREFIX = "/v2"


def project_body(client_id: int, **over: Any) -> dict[str, Any]:
    body = {
        "client_id": client_id,
        "name": "Pricing Rollout",
        "code": "NEW-01",
        "is_billable": True,
        "bill_by": "People",
        "budget_by": "none",
    }
    return body | over


def checked(response: httpx.Response) -> httpx.Response:
    """The response, once it and the request that caused it agree with the spec."""
    if response.request.content:
        check_request(HARVEST_SPEC, response.request, PREFIX)
    check_response(HARVEST_SPEC, response, PREFIX)
    return response


def test_a_client_is_created_once_and_listed_first(harvest: httpx.Client, clock: FakeClock) -> None:
    clock.advance(hours=1)
    created = checked(harvest.post("clients", json={"name": "Vandelay Imports", "currency": "EUR"}))
    assert created.status_code == 201
    client = created.json()
    assert client["currency"] == "EUR" and client["is_active"] is True
    assert client["created_at"] == client["updated_at"] == "2025-03-12T13:00:00Z"
    again = checked(harvest.post("clients", json={"name": "VANDELAY imports"}))
    assert again.status_code == 422 and again.json()["message"] == "Name has already been taken"
    blank = checked(harvest.post("clients", json={"name": "  "}))
    assert blank.status_code == 422 and "Name can't be blank" in blank.json()["message"]
    listed = checked(harvest.get("clients", params={"per_page": 1})).json()
    assert listed["clients"][0]["id"] == client["id"]


def test_clients_are_created_from_form_data_too(harvest: httpx.Client) -> None:
    created = harvest.post("clients", data={"name": "Kramerica", "currency": "USD"})
    assert created.status_code == 201 and created.json()["name"] == "Kramerica"


def test_a_project_needs_the_spec_fields_and_a_known_client(
    harvest: httpx.Client, sandbox: Sandbox
) -> None:
    customer = sandbox.world.customers[0]
    created = checked(harvest.post("projects", json=project_body(customer.id, fee=None)))
    assert created.status_code == 201
    project = created.json()
    assert project["client"] == {
        "id": customer.id,
        "name": customer.name,
        "currency": customer.currency,
    }
    assert project["bill_by"] == "People" and project["budget_by"] == "none"
    unknown = checked(harvest.post("projects", json=project_body(999_999)))
    assert unknown.status_code == 422 and unknown.json()["message"] == "Client not found"
    partial = project_body(customer.id)
    del partial["budget_by"], partial["is_billable"]
    refused = harvest.post("projects", json=partial)
    assert refused.status_code == 422 and "budget_by" in refused.json()["message"]
    odd = harvest.post("projects", json=project_body(customer.id, bill_by="Weekly"))
    assert odd.status_code == 422 and "Bill by" in odd.json()["message"]


def test_a_new_project_brings_its_default_task_assignments(
    harvest: httpx.Client, sandbox: Sandbox
) -> None:
    project = harvest.post("projects", json=project_body(sandbox.world.customers[0].id)).json()
    found = harvest.get("projects", params={"client_id": sandbox.world.customers[0].id}).json()
    assert project["id"] in {p["id"] for p in found["projects"]}
    links = [
        t
        for page in follow(harvest, "task_assignments", {"per_page": 3})
        for t in page["task_assignments"]
    ]
    mine = [t for t in links if t["project"]["id"] == project["id"]]
    assert {t["task"]["name"] for t in mine} == {"Consulting", "Analysis"}


def test_user_assignments_are_created_once_per_user_and_project(
    harvest: httpx.Client, sandbox: Sandbox
) -> None:
    project = harvest.post("projects", json=project_body(sandbox.world.customers[0].id)).json()
    user = sandbox.world.employees[0]
    path = f"projects/{project['id']}/user_assignments"
    body = {"user_id": user.id, "use_default_rates": False, "hourly_rate": 185.5}
    created = checked(harvest.post(path, json=body))
    assert created.status_code == 201
    assignment = created.json()
    assert assignment["hourly_rate"] == 185.5 and assignment["user"]["id"] == user.id
    twice = checked(harvest.post(path, json={"user_id": user.id}))
    assert twice.status_code == 422 and "already assigned" in twice.json()["message"]
    nobody = harvest.post(path, json={"user_id": 424242})
    assert nobody.status_code == 422 and nobody.json()["message"] == "User not found"
    assert harvest.post("projects/424242/user_assignments", json=body).status_code == 404
    listed = checked(harvest.get(path)).json()
    assert [a["id"] for a in listed["user_assignments"]] == [assignment["id"]]
    everywhere = harvest.get("user_assignments", params={"per_page": 1}).json()
    assert everywhere["user_assignments"][0]["id"] == assignment["id"]


def test_default_rates_follow_the_user(harvest: httpx.Client, sandbox: Sandbox) -> None:
    project = harvest.post("projects", json=project_body(sandbox.world.customers[0].id)).json()
    user = sandbox.world.employees[1]
    created = harvest.post(f"projects/{project['id']}/user_assignments", json={"user_id": user.id})
    assignment = created.json()
    assert assignment["use_default_rates"] is True
    assert assignment["hourly_rate"] == float(sandbox.harvest.view.standard_rate(user))


def test_time_logged_on_a_created_project_renders(harvest: httpx.Client, sandbox: Sandbox) -> None:
    client = harvest.post("clients", json={"name": "Pendant Publishing", "currency": "USD"})
    project = harvest.post("projects", json=project_body(client.json()["id"])).json()
    user = sandbox.world.employees[0]
    harvest.post(
        f"projects/{project['id']}/user_assignments",
        json={"user_id": user.id, "use_default_rates": False, "hourly_rate": 150},
    )
    entry = harvest.post(
        "time_entries",
        json={
            "project_id": project["id"],
            "task_id": sandbox.harvest.view.tasks[0].id,
            "user_id": user.id,
            "spent_date": "2025-03-11",
            "hours": 2,
        },
    )
    checked(entry)
    assert entry.json()["client"]["name"] == "Pendant Publishing"
    assert entry.json()["billable_rate"] == 150.0


def test_created_records_survive_a_refresh(harvest: httpx.Client, sandbox: Sandbox) -> None:
    client = harvest.post("clients", json={"name": "Sternwood Oil"}).json()
    sandbox.harvest.refresh(sandbox.world)
    names = [c["name"] for c in harvest.get("clients").json()["clients"]]
    assert "Sternwood Oil" in names and sandbox.harvest.created("clients") == [client]


def test_a_lost_create_reply_still_creates(harvest: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.harvest.lose_next_response()
    with pytest.raises(httpx.RemoteProtocolError):
        harvest.post("clients", json={"name": "Lost Reply Ltd"})
    assert [c["name"] for c in sandbox.harvest.created("clients")] == ["Lost Reply Ltd"]
    assert harvest.post("clients", json={"name": "Lost Reply Ltd"}).status_code == 422


def test_expenses_page_by_number_and_filter(harvest: httpx.Client, sandbox: Sandbox) -> None:
    pages = follow(harvest, "expenses", {"per_page": 30})
    assert "page=2" in pages[0]["links"]["next"] and "cursor" not in pages[0]["links"]["next"]
    for page in pages:
        check_response(HARVEST_SPEC, harvest.get(page["links"]["first"]), PREFIX)
    expenses = [e for p in pages for e in p["expenses"]]
    assert len(expenses) == len(sandbox.world.expenses)
    days = [(e["spent_date"], e["id"]) for e in expenses]
    assert days == sorted(days, reverse=True)
    world = {e.id: e for e in sandbox.world.expenses}
    first = expenses[0]
    assert first["total_cost"] == float(world[first["id"]].amount)
    assert first["is_closed"] is world[first["id"]].approved
    person = world[first["id"]].employee_id
    mine = harvest.get(
        "expenses", params={"user_id": person, "from": "2025-02-01", "to": "2025-03-31"}
    )
    checked(mine)
    assert all(e["user"]["id"] == person for e in mine.json()["expenses"])
    assert all("2025-02-01" <= e["spent_date"] <= "2025-03-31" for e in mine.json()["expenses"])


def test_expenses_are_read_incrementally(harvest: httpx.Client, sandbox: Sandbox) -> None:
    stamps = sorted(e.updated_at for e in sandbox.world.expenses)
    middle = stamps[len(stamps) // 2]
    body = harvest.get("expenses", params={"updated_since": middle.isoformat()}).json()
    assert body["total_entries"] == sum(1 for s in stamps if s >= middle)


@pytest.mark.parametrize("path", ["tasks", "task_assignments", "expenses"])
def test_new_lists_match_the_spec(harvest: httpx.Client, path: str) -> None:
    first = checked(harvest.get(path, params={"per_page": 2}))
    assert first.json()["total_entries"] > 0
    if first.json()["links"]["next"]:
        checked(harvest.get(first.json()["links"]["next"]))


def test_tasks_and_task_assignments_use_cursor_links(
    harvest: httpx.Client, sandbox: Sandbox
) -> None:
    tasks = follow(harvest, "tasks", {"per_page": 1})
    assert "ref=next_cursor" in tasks[0]["links"]["next"]
    assert sorted(t["name"] for p in tasks for t in p["tasks"]) == ["Analysis", "Consulting"]
    links = follow(harvest, "task_assignments", {"per_page": 5})
    total = sum(len(p["task_assignments"]) for p in links)
    assert total == len(sandbox.world.projects) * 2
