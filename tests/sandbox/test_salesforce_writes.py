"""The Salesforce emulator's write and replication side: sObject rows, getUpdated/getDeleted,
composite with references and allOrNone, and the control surface tests use."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from sandbox.vendors.salesforce import SalesforceEmulator, account_id, contract_id, opportunity_id
from tests.sandbox.clock import FakeClock
from tests.sandbox.salesforce_world import API, api_client


@pytest.fixture
def sf(salesforce_emulator: SalesforceEmulator) -> Iterator[httpx.Client]:
    with api_client(salesforce_emulator) as client:
        yield client


def patch(client: httpx.Client, record: str, body: dict[str, Any]) -> httpx.Response:
    return client.patch(f"{API}/sobjects/Account/{record}", json=body)


# --- sObject rows -------------------------------------------------------------------------


def test_get_returns_every_field_or_the_ones_asked_for(sf: httpx.Client) -> None:
    record = sf.get(f"{API}/sobjects/Account/{account_id(4)}").json()
    assert record["attributes"]["type"] == "Account" and record["Name"] == "Customer 0004 Ltd"
    assert {"AR_Balance__c", "SystemModstamp", "Legal_Entity__c"} <= set(record)
    some = sf.get(f"{API}/sobjects/Account/{account_id(4)}", params={"fields": "Name"}).json()
    assert set(some) == {"attributes", "Name"}
    assert sf.get(f"{API}/sobjects/Account/{account_id(4)[:15]}").status_code == 200


def test_patch_writes_ar_fields_and_bumps_system_modstamp(
    sf: httpx.Client, salesforce_emulator: SalesforceEmulator, clock: FakeClock
) -> None:
    clock.advance(minutes=3)
    response = patch(
        sf,
        account_id(4),
        {"AR_Balance__c": 1234.56, "AR_Overdue__c": 0, "AR_Updated__c": "2025-03-12T12:03:00Z"},
    )
    assert response.status_code == 204 and response.content == b""
    stored = salesforce_emulator.record("Account", account_id(4))
    assert str(stored["AR_Balance__c"]) == "1234.56"
    assert stored["SystemModstamp"] == clock.current == stored["LastModifiedDate"]
    shown = sf.get(f"{API}/sobjects/Account/{account_id(4)}").json()
    assert shown["AR_Balance__c"] == 1234.56
    assert shown["AR_Updated__c"] == "2025-03-12T12:03:00.000+0000"


@pytest.mark.parametrize(
    "record, body, status, code",
    [
        (account_id(4), {"Nope__c": 1}, 400, "INVALID_FIELD"),
        (account_id(4), {"SystemModstamp": "2025-01-01T00:00:00Z"}, 400,
         "INVALID_FIELD_FOR_INSERT_UPDATE"),
        (account_id(4), {"AR_Balance__c": "lots"}, 400, "JSON_PARSER_ERROR"),
        (account_id(999), {"AR_Balance__c": 1}, 404, "NOT_FOUND"),
        (contract_id(4), {"AR_Balance__c": 1}, 400, "MALFORMED_ID"),
    ],
)  # fmt: skip
def test_patch_refusals(
    sf: httpx.Client, record: str, body: dict[str, Any], status: int, code: str
) -> None:
    response = patch(sf, record, body)
    assert response.status_code == status
    assert response.json()[0]["errorCode"] == code


def test_a_deleted_record_is_gone_from_the_row_resource(
    sf: httpx.Client, salesforce_emulator: SalesforceEmulator
) -> None:
    assert sf.delete(f"{API}/sobjects/Account/{account_id(6)}").status_code == 204
    response = sf.get(f"{API}/sobjects/Account/{account_id(6)}")
    assert response.status_code == 404
    assert response.json()[0]["errorCode"] == "ENTITY_IS_DELETED"


# --- replication --------------------------------------------------------------------------


def window(start: str, end: str) -> dict[str, str]:
    return {"start": start, "end": end}


def test_get_updated_lists_ids_changed_in_the_window(
    sf: httpx.Client, salesforce_emulator: SalesforceEmulator, clock: FakeClock
) -> None:
    clock.advance(minutes=10)
    salesforce_emulator.update_account(account_id(9), Industry="Energy")
    clock.advance(minutes=10)
    body = sf.get(
        f"{API}/sobjects/Account/updated/",
        params=window("2025-03-12T12:05:30+00:00", "2025-03-12T13:00:00+00:00"),
    ).json()
    assert body == {"ids": [account_id(9)], "latestDateCovered": "2025-03-12T12:20:00.000+0000"}


def test_get_deleted_lists_deletions_with_their_dates(
    sf: httpx.Client, salesforce_emulator: SalesforceEmulator, clock: FakeClock
) -> None:
    clock.advance(minutes=1)
    salesforce_emulator.delete("Contract", contract_id(1))
    clock.advance(minutes=1)
    body = sf.get(
        f"{API}/sobjects/Contract/deleted/",
        params=window("2025-03-12T11:00:00Z", "2025-03-12T12:30:00Z"),
    ).json()
    assert set(body) == {"deletedRecords", "earliestDateAvailable", "latestDateCovered"}
    assert body["deletedRecords"] == [
        {"id": contract_id(1), "deletedDate": "2025-03-12T12:01:00.000+0000"}
    ]
    assert body["earliestDateAvailable"] == "2025-02-25T12:02:00.000+0000"
    assert body["latestDateCovered"] == "2025-03-12T12:02:00.000+0000"


@pytest.mark.parametrize(
    "resource, start, end",
    [
        ("updated", "2025-02-09T00:00:00Z", "2025-03-12T00:00:00Z"),  # more than 30 days back
        ("deleted", "2025-02-24T00:00:00Z", "2025-03-12T00:00:00Z"),  # more than 15 days back
        ("updated", "2025-03-12T10:00:00Z", "2025-03-12T10:00:40Z"),  # under a minute
        ("deleted", "2025-03-12T11:00:00Z", "2025-03-12T10:00:00Z"),  # end before start
    ],
)
def test_replication_windows_are_bounded(
    sf: httpx.Client, resource: str, start: str, end: str
) -> None:
    response = sf.get(f"{API}/sobjects/Account/{resource}/", params=window(start, end))
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "INVALID_REPLICATION_DATE"


# --- composite ----------------------------------------------------------------------------


def sub(ref: str, method: str, url: str, body: Any = None) -> dict[str, Any]:
    request: dict[str, Any] = {"method": method, "url": f"{API}/{url}", "referenceId": ref}
    return request | ({"body": body} if body is not None else {})


def composite(client: httpx.Client, *subs: dict[str, Any], all_or_none: bool) -> httpx.Response:
    return client.post(
        f"{API}/composite", json={"allOrNone": all_or_none, "compositeRequest": list(subs)}
    )


def test_composite_resolves_references_and_counts_as_one_call(
    sf: httpx.Client, salesforce_emulator: SalesforceEmulator
) -> None:
    before, _ = salesforce_emulator.usage()
    response = composite(
        sf,
        sub("acct", "GET", "query?q=SELECT+Id+FROM+Account+WHERE+Name+=+'Customer+0011+Ltd'"),
        sub("ar", "PATCH", "sobjects/Account/@{acct.records[0].Id}", {"AR_Balance__c": 10}),
        sub("check", "GET", "sobjects/Account/@{acct.records[0].Id}?fields=AR_Balance__c"),
        all_or_none=False,
    )
    assert response.status_code == 200
    results = response.json()["compositeResponse"]
    assert [r["httpStatusCode"] for r in results] == [200, 204, 200]
    assert [r["referenceId"] for r in results] == ["acct", "ar", "check"]
    assert all(set(r) == {"body", "httpHeaders", "httpStatusCode", "referenceId"} for r in results)
    assert results[1]["body"] is None and results[0]["body"]["totalSize"] == 1
    assert results[2]["body"]["AR_Balance__c"] == 10.0
    assert salesforce_emulator.usage()[0] == before + 1


def test_all_or_none_rolls_everything_back(
    sf: httpx.Client, salesforce_emulator: SalesforceEmulator
) -> None:
    stamp = salesforce_emulator.record("Account", account_id(12))["SystemModstamp"]
    response = composite(
        sf,
        sub("good", "PATCH", f"sobjects/Account/{account_id(12)}", {"AR_Balance__c": 5}),
        sub("bad", "PATCH", f"sobjects/Account/{account_id(13)}", {"Nope__c": 5}),
        sub("later", "PATCH", f"sobjects/Account/{account_id(14)}", {"AR_Balance__c": 5}),
        all_or_none=True,
    )
    assert response.status_code == 200
    results = response.json()["compositeResponse"]
    assert [r["httpStatusCode"] for r in results] == [400, 400, 400]
    assert results[0]["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert results[1]["body"][0]["errorCode"] == "INVALID_FIELD"
    assert results[2]["body"][0]["errorCode"] == "PROCESSING_HALTED"
    restored = salesforce_emulator.record("Account", account_id(12))
    assert restored["AR_Balance__c"] is None and restored["SystemModstamp"] == stamp
    assert salesforce_emulator.record("Account", account_id(14))["AR_Balance__c"] is None


def test_without_all_or_none_one_failure_spares_the_others(
    sf: httpx.Client, salesforce_emulator: SalesforceEmulator
) -> None:
    response = composite(
        sf,
        sub("missing", "GET", "query?q=SELECT+Id+FROM+Account+WHERE+Name+=+'Nobody'"),
        sub("dependent", "PATCH", "sobjects/Account/@{missing.records[0].Id}", {"Fee": 1}),
        sub("fine", "PATCH", f"sobjects/Account/{account_id(15)}", {"AR_Overdue__c": 7}),
        all_or_none=False,
    )
    results = response.json()["compositeResponse"]
    assert [r["httpStatusCode"] for r in results] == [200, 400, 204]
    assert results[1]["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert str(salesforce_emulator.record("Account", account_id(15))["AR_Overdue__c"]) == "7"


def test_composite_refuses_more_than_25_subrequests_or_inherited_headers(
    sf: httpx.Client,
) -> None:
    many = [sub(f"r{i}", "GET", "limits") for i in range(26)]
    assert composite(sf, *many, all_or_none=False).status_code == 400
    header = sub("h", "GET", "limits") | {"httpHeaders": {"Authorization": "Bearer x"}}
    assert composite(sf, header, all_or_none=False).status_code == 400
    assert sf.get(f"{API}/composite").status_code == 405


# --- control surface ----------------------------------------------------------------------


def test_win_and_activate_change_the_records_and_their_stamps(
    salesforce_emulator: SalesforceEmulator, clock: FakeClock
) -> None:
    open_deal = opportunity_id(6)  # 6 % 3 == 0 and even: still open
    assert salesforce_emulator.record("Opportunity", open_deal)["IsWon"] is False
    clock.advance(hours=1)
    won = salesforce_emulator.win(open_deal)
    assert won["IsWon"] and won["IsClosed"] and won["StageName"] == "Closed Won"
    assert won["SystemModstamp"] == clock.current
    draft = contract_id(34)  # 34 % 17 == 0: a draft
    assert salesforce_emulator.record("Contract", draft)["StatusCode"] == "Draft"
    activated = salesforce_emulator.activate(draft)
    assert activated["StatusCode"] == "Activated" and activated["ActivatedDate"] == clock.current
    assert len(salesforce_emulator.accounts()) == 60
    with pytest.raises(ValueError, match="no fields"):
        salesforce_emulator.update_account(account_id(1), Bogus=1)
