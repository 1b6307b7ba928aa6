"""The Salesforce connector against the emulator, in-process: login, streams, mapping, cursors,
incremental reads, replication calls and schema drift."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from collectors.entities import BillingModel, Contract, Customer, canonical_id
from collectors.errors import RecordError, SchemaDriftError
from collectors.http import RetryPolicy
from collectors.salesforce import (
    SalesforceConnector,
    SalesforceSettings,
    WonOpportunity,
    cursor_of,
    to_contract,
    to_customer,
    to_won_opportunity,
)
from sandbox.transport import InProcessTransport
from sandbox.vendors.salesforce import SalesforceEmulator, account_id, contract_id, opportunity_id
from tests.sandbox.clock import FakeClock
from tests.sandbox.salesforce_world import NOW, salesforce_world

FAST = RetryPolicy(attempts=2, initial=0.001, maximum=0.01, jitter=0.0, max_retry_after=0.01)
LOGIN = "http://login.sandbox.invalid"
INSTANCE = "http://na1.sandbox.invalid"


@pytest.fixture
def emulator(clock: FakeClock) -> SalesforceEmulator:
    return SalesforceEmulator(salesforce_world(), now=clock, instance_url=INSTANCE)


@pytest.fixture
def connector(emulator: SalesforceEmulator) -> Iterator[SalesforceConnector]:
    with InProcessTransport(emulator.app) as transport:
        # the instance is on another host than the login: allowed by ``instance_hosts``
        settings = SalesforceSettings(
            login_url=LOGIN, batch_size=200, instance_hosts=("*.sandbox.invalid",)
        )
        yield SalesforceConnector(settings, transport=transport, policy=FAST)


def read(
    connector: SalesforceConnector, stream: str, since: datetime | None = None
) -> list[list[dict[str, Any]]]:
    with connector.client() as client:
        return list(connector.pages(client, stream, since))


def flat(pages: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    return [record for page in pages for record in page]


def test_the_client_logs_in_and_talks_to_the_instance_url(connector: SalesforceConnector) -> None:
    with connector.client() as client:
        assert str(client.base_url) == f"{INSTANCE}/services/data/v60.0/"


def test_queries_are_incremental_on_system_modstamp_with_a_closed_bound(
    connector: SalesforceConnector,
) -> None:
    q = connector.soql("contracts", NOW + timedelta(microseconds=999_999))
    assert q.endswith(
        "FROM Contract WHERE StatusCode = 'Activated' AND SystemModstamp >= 2025-03-12T12:00:00Z "
        "ORDER BY SystemModstamp ASC, Id ASC"
    )
    assert "WHERE IsWon = true ORDER BY" in connector.soql("opportunities")


@pytest.mark.parametrize(
    "stream, expected, pages", [("accounts", 450, 3), ("opportunities", 300, 2)]
)
def test_paging_terminates_with_every_record_once(
    connector: SalesforceConnector, stream: str, expected: int, pages: int
) -> None:
    read_pages = read(connector, stream)
    records = flat(read_pages)
    assert len(read_pages) == pages
    assert len({r["Id"] for r in records}) == len(records) == expected


def test_every_account_maps_to_a_valid_customer(connector: SalesforceConnector) -> None:
    customers = [to_customer(raw) for raw in flat(read(connector, "accounts"))]
    assert all(isinstance(c, Customer) and c.source == "salesforce" for c in customers)
    first = next(c for c in customers if c.source_id == account_id(5))
    assert first.id == canonical_id("salesforce", "customer", account_id(5))
    assert first.parent_id == canonical_id("salesforce", "customer", account_id(1))
    assert (first.currency, first.payment_terms_days, first.region) == ("GBP", 60, "UK & Ireland")
    assert first.legal_entity == "Plan2 Consulting Ltd" and first.updated_at.tzinfo is not None


def test_activated_contracts_map_with_their_billing_terms(connector: SalesforceConnector) -> None:
    contracts = {c.source_id: c for c in map(to_contract, flat(read(connector, "contracts")))}
    assert all(isinstance(c, Contract) and c.status == "active" for c in contracts.values())
    assert contract_id(34) not in contracts  # a draft
    tm, fixed = contracts[contract_id(4)], contracts[contract_id(1)]
    assert tm.billing_model is BillingModel.TIME_AND_MATERIALS
    assert tm.not_to_exceed == Decimal("50000.00") and tm.currency == "USD"
    assert fixed.billing_model is BillingModel.FIXED_FEE and fixed.not_to_exceed == Decimal(120000)
    assert tm.customer_id == canonical_id("salesforce", "customer", account_id(4))
    assert tm.rate_card_id == canonical_id("salesforce", "rate_card", "1")
    assert tm.start is not None and tm.end is not None and tm.start < tm.end


def test_won_opportunities_map(connector: SalesforceConnector) -> None:
    deals = [to_won_opportunity(raw) for raw in flat(read(connector, "opportunities"))]
    assert len(deals) == 300 and all(d.amount and d.amount > 0 for d in deals)


@pytest.mark.parametrize("stream", ["accounts", "opportunities", "contracts"])
def test_cursor_is_monotonic_and_a_second_run_reads_nothing_new(
    connector: SalesforceConnector, stream: str
) -> None:
    records = flat(read(connector, stream))
    cursors = [cursor_of(r) for r in records]
    assert cursors == sorted(cursors) and all(c.tzinfo is not None for c in cursors)
    high = max(cursors)
    again = flat(read(connector, stream, high))
    seen = {(r["Id"], r["SystemModstamp"]) for r in records}
    assert again and {(r["Id"], r["SystemModstamp"]) for r in again} <= seen
    assert all(cursor_of(r) == high for r in again)


def test_changes_show_up_in_the_next_incremental_read(
    connector: SalesforceConnector, emulator: SalesforceEmulator, clock: FakeClock
) -> None:
    highs = {s: max(map(cursor_of, flat(read(connector, s)))) for s in connector.streams}
    clock.advance(minutes=30)
    emulator.update_account(account_id(8), Name="Customer 0008 Group plc")
    emulator.win(opportunity_id(6))
    emulator.activate(contract_id(34))
    changed = {  # the closed lower bound also re-reads what sat at the old high-water mark
        s: [r for r in flat(read(connector, s, highs[s])) if cursor_of(r) > highs[s]]
        for s in connector.streams
    }
    assert [r["Name"] for r in changed["accounts"]] == ["Customer 0008 Group plc"]
    assert [r["Id"] for r in changed["opportunities"]] == [opportunity_id(6)]
    assert [to_contract(r).source_id for r in changed["contracts"]] == [contract_id(34)]


def test_deleted_and_updated_report_the_window(
    connector: SalesforceConnector, emulator: SalesforceEmulator, clock: FakeClock
) -> None:
    clock.advance(minutes=2)
    emulator.delete("Account", account_id(20))
    emulator.update_account(account_id(21), Industry="Energy")
    clock.advance(minutes=2)
    start, end = NOW - timedelta(hours=1), NOW + timedelta(hours=1)
    with connector.client() as client:
        gone = connector.deleted(client, "accounts", start, end)
        changed = connector.updated(client, "Account", start, end)
    assert gone.records == ((account_id(20), NOW + timedelta(minutes=2)),)
    assert gone.latest_covered == NOW + timedelta(minutes=4)
    assert gone.earliest_available is not None and gone.earliest_available < start
    assert [i for i, _ in changed.records] == [account_id(21)]


# --- schema drift, one record at a time ---------------------------------------------------


def test_a_missing_field_is_schema_drift_naming_it(connector: SalesforceConnector) -> None:
    page = read(connector, "accounts")[0]
    drifted = dict(page[3])
    drifted["Currency_Code__c"] = drifted.pop("CurrencyIsoCode")
    with pytest.raises(SchemaDriftError, match="CurrencyIsoCode") as caught:
        to_customer(drifted)
    assert caught.value.details["field"] == "CurrencyIsoCode"
    others = [to_customer(r) for i, r in enumerate(page) if i != 3]  # the rest still flows
    assert len(others) == len(page) - 1


@pytest.mark.parametrize(
    "change, field",
    [
        ({"Billing_Model__c": "Pay What You Want"}, "Billing_Model__c"),
        ({"StartDate": "next Tuesday"}, "StartDate"),
        ({"SystemModstamp": 12}, "SystemModstamp"),
        ({"Not_To_Exceed__c": "a lot"}, "Not_To_Exceed__c"),
    ],
)
def test_unparseable_values_are_schema_drift(
    connector: SalesforceConnector, change: dict[str, Any], field: str
) -> None:
    raw = flat(read(connector, "contracts"))[0] | change
    with pytest.raises(SchemaDriftError, match=field):
        to_contract(raw)


def test_a_value_the_canonical_model_refuses_is_a_record_error(
    connector: SalesforceConnector,
) -> None:
    raw = flat(read(connector, "accounts"))[0] | {"CurrencyIsoCode": "XXX"}
    with pytest.raises(RecordError, match="currency") as caught:
        to_customer(raw)
    assert not isinstance(caught.value, SchemaDriftError)


def test_the_generated_firm_maps_without_a_refusal(clock: FakeClock) -> None:
    from sandbox.world import build_world

    world = build_world(7, size="small", today=NOW.date())
    emulator = SalesforceEmulator(world, now=clock)
    mappers: dict[str, Callable[[dict[str, Any]], Customer | Contract | WonOpportunity]] = {
        "accounts": to_customer,
        "contracts": to_contract,
        "opportunities": to_won_opportunity,
    }
    with InProcessTransport(emulator.app) as transport:
        connector = SalesforceConnector(SalesforceSettings(), transport=transport, policy=FAST)
        for stream, mapper in mappers.items():
            records = flat(read(connector, stream))
            assert records and all(mapper(raw).source_id == raw["Id"] for raw in records)
