"""The moving clock, and the small world served by the Harvest and Xero emulators."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import httpx
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from sandbox.server import Sandbox
from sandbox.world import build_world
from sandbox.world.clock import SimClock, advance
from sandbox.world.truth import expected_invoices
from tests.sandbox.conftest import HARVEST_HEADERS, xero_token
from tests.sandbox.contract import HARVEST_SPEC, XERO_SPEC, check_response

pytestmark = pytest.mark.filterwarnings("ignore:Unsupported scheme type:UserWarning")
TODAY = date(2026, 11, 25)


def test_sim_clock_runs_faster_than_real_time() -> None:
    start = datetime(2026, 11, 25, 9, tzinfo=UTC)
    clock = SimClock(start, speed=3600)
    time.sleep(0.01)
    assert clock.now() - start >= timedelta(seconds=30)
    assert SimClock(start, speed=0).now() == start
    with pytest.raises(ValueError):
        SimClock(datetime(2026, 11, 25), speed=1)


def _visible(world_entries: pl.DataFrame, before: date) -> pl.DataFrame:
    return (
        world_entries.filter(pl.col("spent_date") < before)
        .drop("id")
        .sort("spent_date", "employee_id", "project_id", "task", "hours")
    )


def test_advancing_in_steps_equals_advancing_at_once() -> None:
    stepped = build_world(7, size="small", today=TODAY, faults=[])
    added = advance(stepped, TODAY + timedelta(days=3)) + advance(
        stepped, TODAY + timedelta(days=9)
    )
    direct = build_world(7, size="small", today=TODAY, faults=[])
    assert advance(direct, TODAY + timedelta(days=9)) == added > 0
    assert stepped.today == direct.today == TODAY + timedelta(days=9)
    assert_frame_equal(
        _visible(stepped.time_entries, direct.today), _visible(direct.time_entries, direct.today)
    )
    waiting_before = build_world(7, size="small", today=TODAY, faults=[]).time_entries.filter(
        pl.col("status").is_in(["draft", "submitted"])
    )
    moved = stepped.time_entries.filter(pl.col("id").is_in(waiting_before["id"].to_list()))
    assert (moved["status"] == "approved").sum() > 0
    assert moved["updated_at"].max() < datetime.combine(  # type: ignore[operator]
        direct.today, datetime.min.time(), tzinfo=UTC
    )


def test_the_sandbox_advances_its_emulators_and_customers_pay() -> None:
    with Sandbox(7, today=TODAY) as box:
        before = box.harvest.entry_count()
        assert box.advance(TODAY + timedelta(days=7)) > 0
        assert box.harvest.entry_count() > before
        customer = box.world.customers[0]
        entity = box.world.legal_entities[0]
        from sandbox.vendors.xero_projection import contact_id

        posted = box.xero._books[box.xero.tenant_id].save_invoices(
            [
                {
                    "Type": "ACCREC",
                    "Contact": {"ContactID": contact_id(entity, customer.id)},
                    "Date": TODAY.isoformat(),
                    "Status": "AUTHORISED",
                    "CurrencyCode": customer.currency,
                    "LineItems": [{"Description": "Work", "Quantity": 1, "UnitAmount": 100}],
                }
            ],
            create_only=True,
            summarize=True,
        )
        assert posted[0]
        box.advance(TODAY + timedelta(days=200))
        [paid] = box.xero.invoices()
        assert paid["Status"] == "PAID" and paid["AmountDue"] == 0 and paid["Payments"]


@pytest.fixture(scope="module")
def small() -> Iterator[Sandbox]:
    with Sandbox(7, size="small", today=TODAY) as box:
        yield box


def test_small_world_serves_every_entry_with_billed_history(small: Sandbox) -> None:
    with httpx.Client(
        transport=small.transports()["harvest"],
        base_url=small.harvest_base_url + "/",
        headers=HARVEST_HEADERS,
    ) as client:
        first = client.get("time_entries", params={"per_page": 2000})
        check_response(HARVEST_SPEC, first, "/v2")
        body = first.json()
        assert body["total_entries"] == small.world.time_entries.height
        billed = client.get("time_entries", params={"is_billed": "true", "per_page": 50}).json()
        assert billed["total_entries"] == small.world.time_entries["invoice_id"].is_not_null().sum()
        entry = billed["time_entries"][0]
        assert entry["is_billed"] and entry["invoice"]["number"].startswith("INV-")
        check_response(HARVEST_SPEC, client.get("users", params={"per_page": 500}), "/v2")
        check_response(
            HARVEST_SPEC, client.get("user_assignments", params={"per_page": 500}), "/v2"
        )


def test_small_world_has_one_xero_tenant_per_entity_with_history(small: Sandbox) -> None:
    with httpx.Client(
        transport=small.transports()["xero"], base_url=small.xero_base_url + "/"
    ) as client:
        client.headers["Authorization"] = f"Bearer {xero_token(client, small)}"
        connections = client.get(small.xero_connections_url).json()
        assert [c["tenantId"] for c in connections] == [
            e.xero_tenant_id for e in small.world.legal_entities
        ]
        statuses = set()
        for entity in small.world.legal_entities:
            client.headers["xero-tenant-id"] = entity.xero_tenant_id
            page = client.get("Invoices", params={"page": 1, "pageSize": 100})
            check_response(XERO_SPEC, page, "/api.xro/2.0")
            statuses |= {i["Status"] for i in page.json()["Invoices"]}
            contacts = client.get("Contacts").json()["Contacts"]
            assert {c["Name"] for c in contacts} == {
                c.name for c in small.world.customers if c.legal_entity_id == entity.id
            }
    assert statuses == {"PAID", "AUTHORISED"}
    assert len(small.xero.invoices()) == len(small.world.invoices)


def test_time_on_a_planted_assignment_stays_a_fault_after_advancing() -> None:
    """A consultant assigned in a role no rate card prices (or on the wrong-currency twin of a
    project) keeps logging time there; the truth must not try to price or invoice it."""
    world = build_world(7, size="small", today=date(2026, 10, 20))
    seeded = {
        (row["employee_id"], row["project_id"]): label
        for key, label in ((k, v) for (kind, k), v in world.faults.items() if kind == "time_entry")
        if label in ("rate_card_missing", "currency_mismatch")
        for row in world.time_entries.filter(pl.col("id") == key).iter_rows(named=True)
    }
    assert set(seeded.values()) == {"rate_card_missing", "currency_mismatch"}
    first_new = world.time_entries["id"].max() + 1  # type: ignore[operator]
    advance(world, date(2026, 12, 3))
    later = world.time_entries.filter(pl.col("id") >= first_new)
    follow_ons = [
        row
        for row in later.iter_rows(named=True)
        if (row["employee_id"], row["project_id"]) in seeded
    ]
    assert follow_ons, "the planted assignments go on collecting time"
    for row in follow_ons:
        label = seeded[(row["employee_id"], row["project_id"])]
        assert world.faults[("time_entry", row["id"])] == label
    invoices = expected_invoices(world)  # once crashed on an unpriced follow-on entry
    assert invoices and all(i["total"] > 0 for i in invoices)
    months = {i["period_start"] for i in invoices}
    assert date(2026, 11, 1) in months  # the month the world moved through is invoiced too
    advance(world, date(2026, 12, 31))  # labelled time waiting for approval still moves on
    waiting = {row["id"] for row in follow_ons if row["status"] in ("draft", "submitted")}
    settled = world.time_entries.filter(pl.col("id").is_in(list(waiting)))
    assert waiting and set(settled["status"]) == {"approved"}
