"""Fault plans and scenarios: parsing, determinism, rates, and the record finder."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from sandbox.faults import (
    FAILING,
    VALID_FORMS,
    VENDORS,
    FaultKind,
    FaultPlan,
    FaultyTransport,
    Injection,
    Outage,
    drift_field,
    find_page,
    inject_faults,
    parse_duration,
    parse_scenario,
)
from sandbox.faults.records import drift, repeat, skip
from sandbox.transport import InProcessTransport
from tests.sandbox.test_faults_inprocess import START, Clock, TinyVendor

K = FaultKind


def test_calm_has_no_faults_for_any_vendor() -> None:
    plans = parse_scenario("calm")
    assert set(plans) == set(VENDORS)
    assert all(plan.rates == {} and plan.outage is None for plan in plans.values())


def test_flaky_is_about_five_percent_throttles_5xx_and_slow() -> None:
    plans = parse_scenario("flaky")
    for vendor, plan in plans.items():
        assert sum(plan.rates.values()) == pytest.approx(0.05), vendor
        assert K.SLOW in plan.rates and K.SERVER_ERROR in plan.rates
    assert K.RATE_LIMIT in plans["harvest"].rates
    assert K.THROTTLE_503 in plans["bamboohr"].rates


def test_storm_mixes_kinds_and_fails_a_fifth_of_calls() -> None:
    for vendor, plan in parse_scenario("storm").items():
        failing_before = sum(rate for kind, rate in plan.rates.items() if kind in FAILING)
        assert failing_before >= 0.2, vendor
        assert {K.HANG, K.RESET, K.CUT_BODY, K.LOST_WRITE} <= plan.rates.keys()
    assert K.DAILY_LIMIT in parse_scenario("storm")["salesforce"].rates


def test_outage_and_drift_target_one_vendor() -> None:
    plans = parse_scenario("outage:xero:2h")
    assert plans["xero"].outage == Outage(timedelta(hours=2))
    assert all(plan.outage is None for name, plan in plans.items() if name != "xero")
    assert parse_scenario("outage:kantata:90s:reset")["kantata"].outage == Outage(
        timedelta(seconds=90), mode="reset"
    )
    drifted = parse_scenario("drift:harvest")["harvest"].rates
    assert drifted == pytest.approx(
        {K.DRIFT_RENAME: 1 / 3, K.DRIFT_ENUM: 1 / 3, K.DRIFT_NULL: 1 / 3}
    )
    assert parse_scenario("drift:harvest:null")["harvest"].rates == {K.DRIFT_NULL: 1.0}


def test_scenarios_combine_with_plus() -> None:
    plans = parse_scenario(" Flaky + drift:harvest + outage:xero:1h30m ", seed=3)
    harvest = plans["harvest"]
    assert harvest.rates[K.RATE_LIMIT] == pytest.approx(0.02)
    assert harvest.rates[K.DRIFT_NULL] == pytest.approx(1 / 3)
    assert plans["xero"].outage == Outage(timedelta(minutes=90))
    assert {plan.seed for plan in plans.values()} == {3}
    storm_twice = parse_scenario("storm+storm+storm+storm+storm")["xero"].rates
    assert sum(storm_twice[kind] for kind in storm_twice if kind is not K.LOST_WRITE) <= 2.0


@pytest.mark.parametrize(
    "text",
    [
        "",
        "stormy",
        "outage:xero",
        "outage:sap:2h",
        "outage:xero:2 hours",
        "drift:xero:color",
        "calm:now",
        "outage:xero:2h+outage:xero:1h",
    ],
)
def test_invalid_scenarios_say_what_is_valid(text: str) -> None:
    with pytest.raises(ValueError) as raised:
        parse_scenario(text)
    assert VALID_FORMS in str(raised.value) and "vendors: salesforce" in str(raised.value)


def test_durations() -> None:
    assert parse_duration("2h") == timedelta(hours=2)
    assert parse_duration("1h30m") == timedelta(minutes=90)
    assert parse_duration("250ms") == timedelta(milliseconds=250)
    assert parse_duration("1d") == timedelta(days=1)
    with pytest.raises(ValueError, match="90s"):
        parse_duration("2 h")


def test_plans_reject_bad_rates() -> None:
    with pytest.raises(ValueError, match="add up"):
        FaultPlan("xero", {K.RESET: 0.6, K.HANG: 0.6}, 1)
    with pytest.raises(ValueError, match="within"):
        FaultPlan("xero", {K.RESET: -0.1}, 1)
    with pytest.raises(ValueError, match="Outage"):
        FaultPlan("xero", {K.OUTAGE: 0.1}, 1)


def _sequence(plan: FaultPlan, calls: int = 300) -> list[tuple[Any, ...]]:
    methods = ("GET", "GET", "POST")
    decisions = [plan.decide(methods[n % 3], START) for n in range(calls)]
    return [(d.before, d.after, d.pick) for d in decisions]


def test_same_seed_same_faults_and_vendors_differ() -> None:
    first, again = parse_scenario("storm", seed=11), parse_scenario("storm", seed=11)
    assert _sequence(first["xero"]) == _sequence(again["xero"])
    assert _sequence(parse_scenario("storm", seed=12)["xero"]) != _sequence(again["xero"])
    assert _sequence(first["harvest"]) != _sequence(parse_scenario("storm", seed=11)["xero"])


def test_same_seed_same_faults_through_the_middleware() -> None:
    def run() -> list[Injection]:
        plan = parse_scenario("storm", seed=5, hang_seconds=1)["harvest"]
        app = inject_faults(TinyVendor().app, plan, clock=Clock(), time_scale=0.001)
        transport = FaultyTransport(InProcessTransport(app))
        with httpx.Client(transport=transport, base_url="http://t", timeout=0.05) as client:
            for n in range(200):
                with contextlib.suppress(httpx.TransportError):
                    client.request("POST" if n % 4 == 0 else "GET", "/v2/items", json={"n": n})
        return list(plan.injected)

    first = run()
    assert first and first == run()


def test_storm_fails_at_least_a_fifth_of_a_thousand_calls() -> None:
    plan = parse_scenario("storm", seed=1, hang_seconds=1)["xero"]
    app = inject_faults(TinyVendor().app, plan, clock=Clock(), time_scale=0.0001)
    transport = FaultyTransport(InProcessTransport(app))
    failed = 0
    with httpx.Client(transport=transport, base_url="http://t", timeout=0.02) as client:
        for n in range(1000):
            try:
                response = client.request("POST" if n % 5 == 0 else "GET", "/v2/items", json={})
                failed += response.status_code >= 400 or _unparsable(response)
            except httpx.TransportError:
                failed += 1
    assert 200 <= failed <= 330
    counts = plan.counts()
    assert sum(counts[kind] for kind in FAILING) == failed
    assert len(counts) >= 12  # mixed kinds


def _unparsable(response: httpx.Response) -> bool:
    try:
        response.json()
    except ValueError:
        return True
    return False


def test_flaky_rate_is_roughly_five_percent() -> None:
    plan = parse_scenario("flaky", seed=2)["harvest"]
    hits = sum(plan.decide("GET", START).before is not None for _ in range(4000))
    assert 0.04 <= hits / 4000 <= 0.06


def test_an_outage_starting_later_waits_for_its_start() -> None:
    plan = FaultPlan("xero", {}, 1, outage=Outage(timedelta(hours=1), start=START))
    assert plan.decide("GET", START - timedelta(seconds=1)).before is None
    assert plan.decide("GET", START).before is K.OUTAGE
    assert plan.decide("GET", START + timedelta(hours=1)).before is None


def kantata_page() -> dict[str, Any]:
    return {
        "count": 3,
        "meta": {"count": 3, "page_count": 1, "page_number": 1, "page_size": 20},
        "results": [{"key": "workspaces", "id": i} for i in ("10", "11", "12")],
        "workspaces": {
            i: {"id": i, "title": f"W{i}", "status": {"key": 300}} for i in ("10", "11", "12")
        },
        "users": {"2": {"id": "2", "full_name": "A"}},
    }


def test_find_page_generic_lists_and_kantata_id_keyed_objects() -> None:
    harvest = find_page({"time_entries": [{"id": 1}], "links": {"next": None}})
    assert harvest is not None and harvest.key == "time_entries"
    salesforce = find_page({"totalSize": 1, "done": True, "records": [{"Id": "001"}]})
    assert salesforce is not None and salesforce.key == "records"
    assert find_page({"Invoices": [], "Contacts": [{"ContactID": "c"}]}).key == "Contacts"  # type: ignore[union-attr]
    assert find_page([{"id": 1, "type": "timeOff"}]) is not None
    assert find_page({"latest": "x", "employees": {"3": {"id": "3"}}}) is None
    kantata = find_page(kantata_page())
    assert kantata is not None and kantata.key == "workspaces" and kantata.id_keyed
    assert [record["id"] for record in kantata.records] == ["10", "11", "12"]


def test_kantata_pages_skip_repeat_and_drift_consistently() -> None:
    page = find_page(kantata_page())
    assert page is not None
    skip(page, 0.5)
    assert [ref["id"] for ref in page.body["results"]] == ["10", "12"]
    assert set(page.body["workspaces"]) == {"10", "12"}
    repeat(page, {"id": "9", "title": "W9"})
    assert [ref["id"] for ref in page.body["results"]] == ["9", "10", "12"]
    field = drift_field(page.records[0], K.DRIFT_RENAME, seed=1, vendor="kantata")
    assert field in ("title", "status")
    drift(page, K.DRIFT_RENAME, field)
    assert all(f"{field}_v2" in record for record in page.body["workspaces"].values())
    assert page.body["users"] == {"2": {"id": "2", "full_name": "A"}}


def test_drift_prefers_enum_named_fields_and_skips_ids() -> None:
    invoice = {"InvoiceID": "x", "Status": "AUTHORISED", "Reference": "P2C", "Total": 10}
    assert drift_field(invoice, K.DRIFT_ENUM, seed=1, vendor="xero") == "Status"
    entry = {"id": 1, "hours": 2.0, "client": {"id": 3, "currency": "USD"}, "notes": None}
    assert drift_field(entry, K.DRIFT_ENUM, seed=1, vendor="harvest") == "client.currency"
    for seed in range(20):
        assert drift_field(entry, K.DRIFT_NULL, seed=seed, vendor="harvest") in ("hours", "client")
        assert drift_field(invoice, K.DRIFT_RENAME, seed=seed, vendor="xero") != "InvoiceID"
    assert drift_field({"id": 1, "paid": True}, K.DRIFT_RENAME, seed=0, vendor="v") == "paid"
    assert drift_field(entry, K.DRIFT_NULL, seed=0, vendor="h", field="notes") == "notes"


def test_seeds_keep_the_record_of_injections_separate_per_plan() -> None:
    plan = FaultPlan("xero", {K.RESET: 1.0}, 1)
    plan.record("GET", "/a", K.RESET)
    assert plan.injected == [("GET", "/a", K.RESET)] and plan.counts()[K.RESET] == 1
    assert datetime.now(UTC) > START


def test_a_page_repeats_only_a_record_of_its_own_kind() -> None:
    """OData names every resource's records ``value``: the last record of a page of invoice
    headers is not repeated on a page of legal entities."""
    page = find_page({"value": [{"LegalEntityId": "GB01", "Name": "UK"}]})
    assert page is not None
    repeat(page, {"InvoiceIdentifier": "FTI-1", "dataAreaId": "gb01"})
    assert page.body["value"] == [{"LegalEntityId": "GB01", "Name": "UK"}] * 2
