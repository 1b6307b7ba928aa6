"""The Kantata OX emulator: auth, normalised ID-keyed pages, filters, side-loads, writes, limits."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from sandbox.transport import InProcessTransport
from sandbox.vendors.kantata import DEFAULT_TOKEN, KantataEmulator
from tests.sandbox.clock import FakeClock
from tests.sandbox.kantata_world import build_world

BASE = "http://kantata.test/api/v1/"
START = datetime(2025, 3, 12, 12, 0, tzinfo=UTC)


@pytest.fixture
def emulator(kantata_emulator: KantataEmulator) -> KantataEmulator:
    return kantata_emulator


@pytest.fixture
def api(emulator: KantataEmulator) -> Iterator[httpx.Client]:
    with (
        InProcessTransport(emulator.app) as transport,
        httpx.Client(
            transport=transport,
            base_url=BASE,
            headers={"Authorization": f"Bearer {DEFAULT_TOKEN}"},
        ) as client,
    ):
        yield client


def get(api: httpx.Client, path: str, **params: Any) -> dict[str, Any]:
    response = api.get(path, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def every_page(api: httpx.Client, path: str, **params: Any) -> list[dict[str, Any]]:
    """Pages 1, 2, … until ``meta.page_count``, as a Kantata client loops."""
    pages = [get(api, path, page=1, **params)]
    while pages[-1]["meta"]["page_number"] < pages[-1]["meta"]["page_count"]:
        pages.append(get(api, path, page=len(pages) + 1, **params))
        assert len(pages) < 100
    return pages


@pytest.mark.parametrize("header", [None, "Bearer wrong", "Basic c2FuZGJveA=="])
def test_bearer_token_is_required(api: httpx.Client, header: str | None) -> None:
    request = api.build_request("GET", "workspaces")
    del request.headers["Authorization"]
    if header:
        request.headers["Authorization"] = header
    response = api.send(request)
    assert response.status_code == 401
    assert response.json()["errors"][0]["type"] == "unauthorized"


def test_lists_are_normalised_and_id_keyed(api: httpx.Client) -> None:
    body = get(api, "workspaces.json")
    assert set(body) == {"count", "meta", "results", "workspaces"}
    assert body["count"] == body["meta"]["count"] == 4
    assert body["meta"] == {"count": 4, "page_count": 1, "page_number": 1, "page_size": 20}
    assert all(r["key"] == "workspaces" and isinstance(r["id"], str) for r in body["results"])
    assert [r["id"] for r in body["results"]] == list(body["workspaces"])
    workspace = body["workspaces"][body["results"][0]["id"]]
    assert workspace["id"] == body["results"][0]["id"]
    assert workspace["price_in_cents"] == 5_000_000 and workspace["currency"] == "USD"
    assert set(workspace["status"]) == {"key", "message", "color"}


def test_paging_by_meta_page_count_terminates_and_covers_everything(api: httpx.Client) -> None:
    pages = every_page(api, "rate_card_roles", per_page=2)
    assert len(pages) == pages[0]["meta"]["page_count"] == 3
    ids = [r["id"] for p in pages for r in p["results"]]
    assert len(ids) == len(set(ids)) == pages[0]["count"] == 6
    beyond = get(api, "rate_card_roles", per_page=2, page=9)
    assert beyond["results"] == [] and beyond["rate_card_roles"] == {}


def test_per_page_is_clamped_to_200_and_validated(api: httpx.Client) -> None:
    assert get(api, "users", per_page=500)["meta"]["page_size"] == 200
    assert api.get("users", params={"per_page": 0}).status_code == 400
    assert api.get("users", params={"page": "x"}).status_code == 400


def test_only_fetches_by_id_and_order_sorts(api: httpx.Client) -> None:
    body = get(api, "workspaces", only="4000003,4000001")
    assert [r["id"] for r in body["results"]] == ["4000001", "4000003"]
    newest_first = get(api, "workspaces", order="updated_at:desc")
    stamps = [w["updated_at"] for w in newest_first["workspaces"].values()]
    assert [
        newest_first["workspaces"][r["id"]]["updated_at"] for r in newest_first["results"]
    ] == sorted(stamps, reverse=True)
    assert api.get("workspaces", params={"order": "nope:asc"}).status_code == 400


def test_include_side_loads_related_objects(api: httpx.Client) -> None:
    body = get(api, "participations", workspace_id="4000001", include="workspace,user,primary_role")
    assert body["count"] == 3
    assert set(body["workspaces"]) == {"4000001"}
    users = {p["user_id"] for p in body["participations"].values()}
    assert set(body["users"]) == users
    assert {r["name"] for r in body["roles"].values()} == {"Consultant", "Manager", "Partner"}
    assert [r["key"] for r in body["results"]] == ["participations"] * 3
    cards = get(api, "rate_cards", include="rate_card_versions")
    versions = cards["rate_card_versions"]
    assert len(versions) == 3 and {v["effective_date"] for v in versions.values()} == {
        "2024-01-01",
        "2025-01-01",
    }
    assert api.get("rate_cards", params={"include": "nonsense"}).status_code == 400


def test_participations_need_a_workspace_id(api: httpx.Client) -> None:
    response = api.get("participations")
    assert response.status_code == 400
    assert "workspace_id" in response.json()["errors"][0]["message"]


def test_archived_workspaces_are_left_out_unless_asked_for(
    api: httpx.Client, emulator: KantataEmulator
) -> None:
    emulator.archive("4000004")
    assert get(api, "workspaces")["count"] == 3
    assert get(api, "workspaces", include_archived="true")["count"] == 4
    assert list(get(api, "workspaces", archived="only")["workspaces"]) == ["4000004"]
    assert api.get("workspaces/4000004").status_code == 404
    assert get(api, "workspaces/4000004", include_archived="true")["count"] == 1


def test_updated_after_and_created_after_are_strict(
    api: httpx.Client, emulator: KantataEmulator, clock: FakeClock
) -> None:
    assert get(api, "workspaces", updated_after=START.isoformat())["count"] == 0
    clock.advance(seconds=60)
    emulator.edit_workspace("4000002", title="Renamed")
    body = get(api, "workspaces", updated_after="2025-03-12T12:00:00Z")
    assert list(body["workspaces"]) == ["4000002"]
    assert body["workspaces"]["4000002"]["title"] == "Renamed"
    assert get(api, "workspaces", updated_after=clock().isoformat())["count"] == 0
    assert get(api, "workspaces", created_after="2025-01-06T09:00:00Z")["count"] == 0
    assert api.get("workspaces", params={"updated_after": "yesterday"}).status_code == 400


def test_milestones_are_stories_of_type_milestone(api: httpx.Client) -> None:
    body = get(api, "stories", workspace_id="4000002", story_type="milestone", include="workspace")
    stories = body["stories"].values()
    assert {s["title"] for s in stories} == {"Sign-off", "Go live"}
    assert {s["budget_estimate_in_cents"] for s in stories} == {1_200_000, 1_800_050}
    assert {s["state"] for s in stories} == {"completed", "not started"}
    assert list(body["workspaces"]) == ["4000002"]


def test_rate_card_hierarchy_and_roles(api: httpx.Client) -> None:
    sets = get(api, "rate_card_sets", include="rate_cards")
    assert len(sets["rate_card_sets"]) == 2
    assert {c["currency"] for c in sets["rate_cards"].values()} == {"USD", "EUR"}
    roles = get(api, "rate_card_roles", include="role", per_page=200)
    rates = {
        (roles["roles"][r["role_id"]]["name"], r["rate"]) for r in roles["rate_card_roles"].values()
    }
    assert ("Manager", 22550) in rates and ("Consultant", 15000) in rates
    assert {r["name"] for r in get(api, "roles")["roles"].values()} == {
        "Consultant",
        "Manager",
        "Partner",
    }


def test_time_entries_filter_on_approval(api: httpx.Client) -> None:
    every = get(api, "time_entries", include="user,workspace")
    assert every["count"] == 3  # the entry on an unknown project is not in Kantata
    approved = get(api, "time_entries", approved="true")
    assert {e["time_in_minutes"] for e in approved["time_entries"].values()} == {450, 135}
    assert get(api, "time_entries", approved="false")["count"] == 1
    assert len(every["users"]) == 3 and "4000001" in every["workspaces"]


def test_provisioning_a_workspace(api: httpx.Client, emulator: KantataEmulator) -> None:
    new = {"title": "Acme rollout", "creator_role": "maven", "currency": "USD",
           "start_date": "2025-04-01", "due_date": "2025-09-30", "price_in_cents": 2_500_000,
           "rate_card_id": "710001"}  # fmt: skip
    response = api.post("workspaces", json={"workspace": new})
    assert response.status_code == 200, response.text
    body = response.json()
    workspace = body["workspaces"][body["results"][0]["id"]]
    assert workspace["title"] == "Acme rollout" and workspace["price_in_cents"] == 2_500_000
    link = {
        "subject_type": "Workspace",
        "subject_id": workspace["id"],
        "service_name": "salesforce",
        "service_model": "Contract",
        "service_model_ref": "00009999",
    }
    for _ in range(2):  # create_or_update: the second call changes nothing
        saved = api.post("external_references/create_or_update", json={"external_reference": link})
        assert saved.status_code == 200, saved.text
    found = get(api, "external_references", subject_type="Workspace", service_model_ref="00009999")
    assert found["count"] == 1
    assert [r["subject_id"] for r in found["external_references"].values()] == [workspace["id"]]
    assert any(w["id"] == workspace["id"] for w in emulator.workspaces())


def test_form_encoded_writes_are_accepted(api: httpx.Client) -> None:
    response = api.post(
        "workspaces.json", data={"workspace[title]": "Form", "workspace[creator_role]": "buyer"}
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "workspace, message",
    [
        ({"creator_role": "maven"}, "Title can't be blank"),
        ({"title": "x"}, "Creator role"),
        ({"title": "x", "creator_role": "maven", "rate_card_id": "1"}, "Rate card 1"),
        (
            {
                "title": "x",
                "creator_role": "maven",
                "start_date": "2025-05-01",
                "due_date": "2025-04-01",
            },
            "Due date",
        ),
    ],
)
def test_invalid_workspaces_are_422(
    api: httpx.Client, workspace: dict[str, Any], message: str
) -> None:
    response = api.post("workspaces", json={"workspace": workspace})
    assert response.status_code == 422
    assert any(message in e["message"] for e in response.json()["errors"])
    assert api.post("workspaces", json={"title": "no root"}).status_code == 422


def test_invoice_status_is_written_back(
    api: httpx.Client, emulator: KantataEmulator, clock: FakeClock
) -> None:
    clock.advance(seconds=60)
    invoice_id = emulator.invoices()[0]["id"]
    response = api.put(f"invoices/{invoice_id}", json={"invoice": {"status": "void"}})
    assert response.status_code == 200, response.text
    assert response.json()["invoices"][invoice_id]["status"] == "void"
    paid = api.put(f"invoices/{invoice_id}.json", json={"invoice": {"paid": True}}).json()
    assert paid["invoices"][invoice_id]["status"] == "paid"
    assert paid["invoices"][invoice_id]["balance_in_cents"] == 0
    assert emulator.invoices()[0]["updated_at"] == clock().isoformat()
    bad = api.put(f"invoices/{invoice_id}", json={"invoice": {"status": "settled"}})
    assert bad.status_code == 422
    assert api.put("invoices/1", json={"invoice": {"paid": True}}).status_code == 404


def test_add_participation_shows_up(api: httpx.Client, emulator: KantataEmulator) -> None:
    added = emulator.add_participation("4000003", "2000004", role="Partner")
    body = get(api, "participations", workspace_id="4000003", include="primary_role")
    assert added["id"] in body["participations"]
    assert body["roles"][added["primary_role_id"]]["name"] == "Partner"
    assert "2000004" in get(api, "workspaces/4000003")["workspaces"]["4000003"]["participant_ids"]


def test_rate_limit_answers_429_with_retry_after() -> None:
    emulator = KantataEmulator(build_world(), rate_limit=3, rate_window=10, time_scale=0.01)
    with (
        InProcessTransport(emulator.app) as transport,
        httpx.Client(transport=transport, base_url=BASE,
                     headers={"Authorization": f"Bearer {DEFAULT_TOKEN}"}) as api,
    ):  # fmt: skip
        statuses = [api.get("roles").status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        refused = api.get("roles")
        assert refused.json()["errors"][0]["type"] == "rate_limit"
        assert int(refused.headers["Retry-After"]) >= 1
        time.sleep(0.12)  # the 10 s window at time_scale 0.01
        assert api.get("roles").status_code == 200
