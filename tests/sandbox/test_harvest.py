"""The Harvest v2 emulator: auth, envelopes, both paging styles, filters, writes, limits."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any

import httpx
import polars as pl
import pytest

from sandbox.server import Sandbox
from sandbox.transport import InProcessTransport
from sandbox.vendors.harvest import HarvestEmulator
from sandbox.world import build_world
from tests.sandbox.clock import FakeClock
from tests.sandbox.conftest import HARVEST_HEADERS, TODAY


def follow(
    client: httpx.Client, path: str, params: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Every page of a list, following ``links.next`` until it is null."""
    pages: list[dict[str, Any]] = []
    url: str | None = path
    while url is not None:
        response = client.get(url, params=params if not pages else None)
        assert response.status_code == 200, response.text
        pages.append(response.json())
        url = pages[-1]["links"]["next"]
        assert len(pages) < 1000
    return pages


def test_user_agent_is_required(harvest: httpx.Client) -> None:
    request = harvest.build_request("GET", "users")
    del request.headers["User-Agent"]
    assert harvest.send(request).status_code == 400


@pytest.mark.parametrize(
    "header, value", [("Authorization", "Bearer wrong"), ("Harvest-Account-Id", "999")]
)
def test_bad_token_or_account_is_401(harvest: httpx.Client, header: str, value: str) -> None:
    response = harvest.get("users", headers={header: value})
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"


def test_time_entries_page_by_number_to_the_end(harvest: httpx.Client, sandbox: Sandbox) -> None:
    pages = follow(
        harvest, "time_entries", {"per_page": 20, "project_id": sandbox.world.projects[0].id}
    )
    first = pages[0]
    assert first["page"] == 1 and first["previous_page"] is None and first["next_page"] == 2
    assert "project_id=" in first["links"]["next"] and "page=2" in first["links"]["next"]
    assert first["links"]["next"].startswith("http://127.0.0.1:8711/v2/time_entries?")
    assert len(pages) == first["total_pages"]
    ids = [e["id"] for p in pages for e in p["time_entries"]]
    assert len(ids) == len(set(ids)) == first["total_entries"]
    keys = [(e["spent_date"], e["id"]) for p in pages for e in p["time_entries"]]
    assert keys == sorted(keys, reverse=True)


def test_reference_lists_hand_out_cursor_links(harvest: httpx.Client, sandbox: Sandbox) -> None:
    pages = follow(harvest, "projects", {"per_page": 2})
    assert "ref=next_cursor" in pages[0]["links"]["next"]
    assert pages[0]["next_page"] == 2
    assert all(p["next_page"] is None and p["previous_page"] is None for p in pages[1:])
    ids = [p["id"] for page in pages for p in page["projects"]]
    assert sorted(ids) == sorted(p.id for p in sandbox.world.projects)
    by_number = harvest.get("projects", params={"per_page": 2, "page": 2}).json()
    assert by_number["projects"] == pages[1]["projects"]


def test_per_page_over_2000_is_422(harvest: httpx.Client) -> None:
    response = harvest.get("time_entries", params={"per_page": 2001})
    assert response.status_code == 422 and "per_page" in response.json()["message"]


def test_updated_since_returns_the_edit(
    harvest: httpx.Client, sandbox: Sandbox, clock: FakeClock
) -> None:
    edited = sandbox.world.time_entries["id"][10]
    since = clock.advance(hours=1)
    assert (
        harvest.get("time_entries", params={"updated_since": since.isoformat()}).json()[
            "total_entries"
        ]
        == 0
    )
    sandbox.harvest.edit_entry(edited, hours=1.5)
    found = harvest.get("time_entries", params={"updated_since": "2025-03-12T13:00:00Z"}).json()
    assert [e["id"] for e in found["time_entries"]] == [edited]
    assert found["time_entries"][0]["hours"] == 1.5
    assert found["time_entries"][0]["updated_at"] == "2025-03-12T13:00:00Z"


def test_control_methods_add_approve_and_delete(
    sandbox: Sandbox, harvest: httpx.Client, clock: FakeClock
) -> None:
    link = sandbox.world.assignments[0]
    entry_id = sandbox.harvest.add_entry(
        user_id=link.employee_id, project_id=link.project_id, spent_date=TODAY, hours=2
    )
    assert harvest.get(f"time_entries/{entry_id}").json()["is_closed"] is False
    clock.advance(minutes=5)
    sandbox.harvest.approve_entry(entry_id)
    approved = harvest.get(f"time_entries/{entry_id}").json()
    assert approved["is_closed"] and approved["is_locked"]
    assert approved["updated_at"] > approved["created_at"]
    sandbox.harvest.delete_entry(entry_id)
    assert harvest.get(f"time_entries/{entry_id}").status_code == 404


def test_http_create_patch_delete(harvest: httpx.Client, sandbox: Sandbox) -> None:
    project, task = sandbox.world.projects[0], sandbox.harvest.view.tasks[1]
    created = harvest.post(
        "time_entries",
        json={"project_id": project.id, "task_id": task.id, "spent_date": "2025-03-11", "hours": 3},
    )
    assert created.status_code == 201
    entry = created.json()
    assert entry["project"]["code"] == project.code and entry["task"]["name"] == "Analysis"
    patched = harvest.patch(f"time_entries/{entry['id']}", json={"hours": 4.25, "notes": "x"})
    assert patched.json()["hours"] == 4.25 and patched.json()["notes"] == "x"
    assert harvest.post("time_entries", json={"task_id": task.id}).status_code == 422
    assert harvest.delete(f"time_entries/{entry['id']}").status_code == 200
    assert harvest.get(f"time_entries/{entry['id']}").status_code == 404


def test_filters_by_date_user_and_billed(harvest: httpx.Client, sandbox: Sandbox) -> None:
    busy = sandbox.world.time_entries.filter(
        pl.col("spent_date").is_between(date(2025, 2, 3), date(2025, 2, 7))
    )
    user = int(busy["employee_id"][0])
    body = harvest.get(
        "time_entries",
        params={"from": "2025-02-03", "to": "2025-02-07", "user_id": user, "is_billed": "false"},
    ).json()
    assert body["total_entries"] > 0
    for entry in body["time_entries"]:
        assert "2025-02-03" <= entry["spent_date"] <= "2025-02-07"
        assert entry["user"]["id"] == user
    assert harvest.get("time_entries", params={"from": "March"}).status_code == 422


def test_unknown_project_fault_points_outside_projects(
    harvest: httpx.Client, sandbox: Sandbox
) -> None:
    ghost = next(i for i, label in sandbox.firm.faults.items() if label == "unknown_project")
    entry = harvest.get(f"time_entries/{ghost}").json()
    projects = {p["id"] for p in harvest.get("projects").json()["projects"]}
    assert entry["project"]["id"] not in projects


def test_rate_limit_is_429_with_retry_after() -> None:
    # Harvest's own window (100 calls in 15 s): 130 calls fit in it even on a loaded machine
    emulator = HarvestEmulator(build_world(7, size="tiny", today=TODAY))
    with (
        InProcessTransport(emulator.app) as transport,
        httpx.Client(
            transport=transport, base_url="http://harvest.test/v2/", headers=HARVEST_HEADERS
        ) as client,
    ):
        statuses = [client.get("clients").status_code for _ in range(130)]
        assert statuses.count(429) > 0 and statuses[:100] == [200] * 100
        refused = client.get("clients")
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1


def test_transport_serves_several_threads(sandbox: Sandbox) -> None:
    transport = sandbox.transports()["harvest"]

    def fetch(_: int) -> int:
        with httpx.Client(
            transport=transport, base_url=sandbox.harvest_base_url + "/", headers=HARVEST_HEADERS
        ) as client:
            return int(client.get("users").json()["total_entries"])

    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(fetch, range(40))) == {len(sandbox.world.employees)}


def test_dates_are_iso(harvest: httpx.Client) -> None:
    entry = harvest.get("time_entries", params={"per_page": 1}).json()["time_entries"][0]
    date.fromisoformat(entry["spent_date"])
    assert entry["created_at"].endswith("Z") and entry["updated_at"].endswith("Z")
