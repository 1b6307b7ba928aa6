"""The Salesforce emulator's read side: auth, SOQL and its errors, paging, limits, shapes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from sandbox.transport import InProcessTransport
from sandbox.vendors.salesforce import SalesforceEmulator, account_id
from tests.sandbox.clock import FakeClock
from tests.sandbox.salesforce_world import API, BASE_URL, NOW, api_client, salesforce_world, token

DATETIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000")
ID18 = re.compile(r"[0-9A-Za-z]{18}")


@pytest.fixture
def emulator(clock: FakeClock) -> SalesforceEmulator:
    return SalesforceEmulator(salesforce_world(), now=clock)


@pytest.fixture
def sf(emulator: SalesforceEmulator) -> Iterator[httpx.Client]:
    with api_client(emulator) as client:
        yield client


def soql(client: httpx.Client, q: str, **headers: str) -> httpx.Response:
    return client.get(f"{API}/query", params={"q": q}, headers=headers)


def rows(client: httpx.Client, q: str) -> list[dict[str, Any]]:
    response = soql(client, q)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["done"] is True
    return list(body["records"])


# --- auth ---------------------------------------------------------------------------------


def test_token_has_salesforce_shape_and_a_valid_signature(emulator: SalesforceEmulator) -> None:
    with (
        InProcessTransport(emulator.app) as transport,
        httpx.Client(transport=transport, base_url=BASE_URL) as client,
    ):
        grant = token(client)
    assert set(grant) == {
        "access_token", "instance_url", "id", "token_type", "issued_at", "signature",
    }  # fmt: skip
    assert grant["token_type"] == "Bearer" and grant["instance_url"] == BASE_URL
    assert grant["issued_at"] == str(int(NOW.timestamp() * 1000))
    assert grant["id"].startswith(f"{BASE_URL}/id/00D")
    digest = hmac.new(
        b"sandbox-sf-secret", (grant["id"] + grant["issued_at"]).encode(), hashlib.sha256
    ).digest()
    assert grant["signature"] == base64.b64encode(digest).decode()


GRANT = {"grant_type": "client_credentials"}


@pytest.mark.parametrize(
    "form",
    [
        GRANT | {"client_id": "sandbox-sf-client", "client_secret": "x"},
        GRANT | {"client_id": "nobody", "client_secret": "sandbox-sf-secret"},
    ],
)
def test_bad_client_credentials_are_400_invalid_client(
    emulator: SalesforceEmulator, form: dict[str, str]
) -> None:
    with (
        InProcessTransport(emulator.app) as transport,
        httpx.Client(transport=transport, base_url=BASE_URL) as client,
    ):
        response = client.post("/services/oauth2/token", data=form)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_client"
    assert response.json()["error_description"]


@pytest.mark.parametrize("authorization", [None, "Bearer not-a-token", "Basic abc"])
def test_api_calls_need_a_live_bearer_token(sf: httpx.Client, authorization: str | None) -> None:
    request = sf.build_request("GET", f"{API}/limits")
    del request.headers["Authorization"]
    if authorization:
        request.headers["Authorization"] = authorization
    response = sf.send(request)
    assert response.status_code == 401
    assert response.json() == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
    ]


def test_a_session_expires_and_can_be_revoked(
    sf: httpx.Client, emulator: SalesforceEmulator, clock: FakeClock
) -> None:
    assert sf.get(f"{API}/limits").status_code == 200
    clock.advance(hours=2, seconds=1)
    assert sf.get(f"{API}/limits").status_code == 401
    sf.headers["Authorization"] = f"Bearer {token(sf)['access_token']}"
    assert sf.get(f"{API}/limits").status_code == 200
    emulator.revoke_tokens()
    assert sf.get(f"{API}/limits").status_code == 401


# --- SOQL ---------------------------------------------------------------------------------


def test_records_carry_attributes_and_salesforce_formats(sf: httpx.Client) -> None:
    body = soql(sf, "SELECT Id, Name, CreatedDate, SystemModstamp, Payment_Terms_Days__c "
                    "FROM Account LIMIT 5").json()  # fmt: skip
    assert list(body) == ["totalSize", "done", "records"] and body["totalSize"] == 5
    first = body["records"][0]
    assert list(first) == [
        "attributes", "Id", "Name", "CreatedDate", "SystemModstamp", "Payment_Terms_Days__c",
    ]  # fmt: skip
    assert first["attributes"] == {
        "type": "Account",
        "url": f"{API}/sobjects/Account/{first['Id']}",
    }
    assert ID18.fullmatch(first["Id"]) and first["Id"].startswith("001")
    assert DATETIME.fullmatch(first["CreatedDate"]) and DATETIME.fullmatch(first["SystemModstamp"])
    assert isinstance(first["Payment_Terms_Days__c"], float)


def test_ids_are_deterministic_with_the_case_safe_suffix() -> None:
    assert account_id(1) == account_id(1) != account_id(2)
    short = account_id(77)[:15]
    flags = [sum(1 << i for i, c in enumerate(short[n : n + 5]) if c.isupper()) for n in (0, 5, 10)]
    assert account_id(77)[15:] == "".join("ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"[f] for f in flags)


def test_field_names_are_case_insensitive_and_answered_in_api_case(sf: httpx.Client) -> None:
    record = rows(sf, "select id, name, region__c from account limit 1")[0]
    assert {"Id", "Name", "Region__c"} <= set(record)


def test_relationship_fields_nest_and_a_missing_parent_is_null(sf: httpx.Client) -> None:
    contract = rows(
        sf,
        "SELECT Id, Account.Name, Account.Region__c, Opportunity__r.IsWon FROM Contract "
        "WHERE ContractNumber = '00000001'",
    )[0]
    assert contract["Account"]["attributes"]["type"] == "Account"
    assert contract["Account"]["Name"] == "Customer 0001 Ltd"
    assert contract["Opportunity__r"]["IsWon"] is True
    orphan = rows(sf, "SELECT Id, Parent.Name FROM Account WHERE Name = 'Customer 0001 Ltd'")[0]
    assert orphan["Parent"] is None
    child = rows(sf, "SELECT Parent.Name FROM Account WHERE Name = 'Customer 0005 Ltd'")[0]
    assert child["Parent"]["Name"] == "Customer 0001 Ltd"


@pytest.mark.parametrize(
    "where, count",
    [
        ("Name = 'customer 0007 ltd'", 1),  # SOQL compares text without regard to case
        ("Name != 'Customer 0007 Ltd'", 449),
        ("CurrencyIsoCode IN ('USD')", 225),
        ("CurrencyIsoCode NOT IN ('USD', 'EUR')", 225),
        ("Payment_Terms_Days__c >= 45", 300),
        ("Payment_Terms_Days__c < 45", 150),
        ("Payment_Terms_Days__c <= 30.0", 150),
        ("Payment_Terms_Days__c > 45 AND CurrencyIsoCode = 'GBP'", 75),
        ("ParentId != null", 45),
        ("ParentId = null", 405),
        ("IsDeleted = false", 450),
        ("SystemModstamp > 2025-01-06T09:10:00Z", 440),
        ("SystemModstamp >= 2025-01-06T10:10:00+01:00", 441),
        ("(Industry = 'Banking' OR Industry = 'Energy') AND CurrencyIsoCode = 'USD'", 150),
        ("NOT (Industry = 'Banking')", 300),
    ],
)
def test_where_conditions(sf: httpx.Client, where: str, count: int) -> None:
    assert len(rows(sf, f"SELECT Id FROM Account WHERE {where}")) == count


def test_opportunity_and_contract_filters(sf: httpx.Client) -> None:
    won = rows(sf, "SELECT Id, IsWon, CloseDate FROM Opportunity WHERE IsWon = true")
    assert len(won) == 300 and all(o["IsWon"] for o in won)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", won[0]["CloseDate"])
    activated = rows(sf, "SELECT Id FROM Contract WHERE StatusCode = 'Activated'")
    drafts = rows(sf, "SELECT Id FROM Contract WHERE StatusCode = 'Draft'")
    assert len(activated) + len(drafts) == 300 and drafts
    assert rows(sf, "SELECT Id FROM Contract WHERE StartDate >= 2025-02-01 LIMIT 3")


def test_order_by_limit_and_offset(sf: httpx.Client) -> None:
    names = [r["Name"] for r in rows(sf, "SELECT Name FROM Account ORDER BY Name DESC LIMIT 3")]
    assert names == ["Customer 0450 Ltd", "Customer 0449 Ltd", "Customer 0448 Ltd"]
    page = rows(sf, "SELECT Name FROM Account ORDER BY Name ASC LIMIT 2 OFFSET 1")
    assert [r["Name"] for r in page] == ["Customer 0002 Ltd", "Customer 0003 Ltd"]
    stamps = [
        r["SystemModstamp"]
        for r in rows(sf, "SELECT SystemModstamp FROM Account ORDER BY SystemModstamp, Id")
    ]
    assert stamps == sorted(stamps)


@pytest.mark.parametrize(
    "q, code",
    [
        ("SELECT Id, Nope__c FROM Account", "INVALID_FIELD"),
        ("SELECT Id FROM Account WHERE Nope = 1", "INVALID_FIELD"),
        ("SELECT Foo.Name FROM Account", "INVALID_FIELD"),
        ("SELECT Id FROM Invoice__c", "INVALID_TYPE"),
        ("SELECT Id FORM Account", "MALFORMED_QUERY"),
        ("SELECT FROM Account", "MALFORMED_QUERY"),
        ("", "MALFORMED_QUERY"),
        ("SELECT Id FROM Account WHERE Name = 'a' AND Name = 'b' OR Name = 'c'", "MALFORMED_QUERY"),
        ("SELECT Id FROM Account WHERE SystemModstamp > '2024-01-01T00:00:00Z'", "INVALID_FIELD"),
        ("SELECT Id FROM Account WHERE Name = 5", "INVALID_FIELD"),
        ("SELECT Id FROM Account LIMIT ten", "MALFORMED_QUERY"),
        ("SELECT Id FROM Account WHERE Name = 'unterminated", "MALFORMED_QUERY"),
    ],
)
def test_bad_queries_are_400_with_salesforce_error_codes(
    sf: httpx.Client, q: str, code: str
) -> None:
    response = soql(sf, q)
    assert response.status_code == 400
    body = response.json()
    assert isinstance(body, list) and body[0]["errorCode"] == code and body[0]["message"]


# --- paging -------------------------------------------------------------------------------


def test_paging_follows_next_records_url_until_done(sf: httpx.Client) -> None:
    response = soql(sf, "SELECT Id FROM Account", **{"Sforce-Query-Options": "batchSize=200"})
    pages = [response.json()]
    while not pages[-1]["done"]:
        link = pages[-1]["nextRecordsUrl"]
        assert re.fullmatch(rf"{API}/query/01g[0-9A-Za-z]{{15}}-\d+", link)
        pages.append(sf.get(link).json())
        assert len(pages) < 10
    assert [len(p["records"]) for p in pages] == [200, 200, 50]
    assert all(p["totalSize"] == 450 for p in pages)
    assert "nextRecordsUrl" not in pages[-1]
    ids = [r["Id"] for p in pages for r in p["records"]]
    assert len(set(ids)) == 450


def test_batch_size_defaults_to_2000_and_is_at_least_200(sf: httpx.Client) -> None:
    assert soql(sf, "SELECT Id FROM Account").json()["done"] is True
    small = soql(sf, "SELECT Id FROM Account", **{"Sforce-Query-Options": "batchSize=10"}).json()
    assert len(small["records"]) == 200


def test_an_unknown_query_locator_is_400(sf: httpx.Client) -> None:
    response = sf.get(f"{API}/query/01gHs0000000000AAA-200")
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


def test_query_hides_deleted_rows_and_query_all_shows_them(
    sf: httpx.Client, emulator: SalesforceEmulator
) -> None:
    emulator.delete("Account", account_id(3))
    q = {"q": "SELECT Id, IsDeleted FROM Account WHERE Name = 'Customer 0003 Ltd'"}
    assert sf.get(f"{API}/query", params=q).json()["totalSize"] == 0
    found = sf.get(f"{API}/queryAll", params=q).json()["records"]
    assert [r["IsDeleted"] for r in found] == [True]


def test_incremental_filter_on_system_modstamp_sees_a_change(
    sf: httpx.Client, emulator: SalesforceEmulator, clock: FakeClock
) -> None:
    since = "2025-03-12T12:00:00Z"
    q = f"SELECT Id, Name FROM Account WHERE SystemModstamp >= {since} ORDER BY SystemModstamp"
    assert rows(sf, q) == []
    clock.advance(minutes=5)
    emulator.update_account(account_id(42), Name="Renamed Co")
    assert [r["Name"] for r in rows(sf, q)] == ["Renamed Co"]


# --- versions and limits ------------------------------------------------------------------


def test_unknown_api_versions_are_404(sf: httpx.Client) -> None:
    assert sf.get("/services/data/v99.0/limits").status_code == 404
    assert sf.get("/services/data/v59.0/limits").status_code == 200


def test_every_reply_reports_api_usage_and_limits_agree(sf: httpx.Client) -> None:
    first = sf.get(f"{API}/limits")
    second = soql(sf, "SELECT Id FROM Account LIMIT 1")
    assert first.headers["Sforce-Limit-Info"] == "api-usage=1/100000"
    assert second.headers["Sforce-Limit-Info"] == "api-usage=2/100000"
    assert first.json()["DailyApiRequests"] == {"Max": 100000, "Remaining": 99999}
    assert soql(sf, "SELECT Nope FROM Account").headers["Sforce-Limit-Info"] == "api-usage=3/100000"


def test_the_daily_limit_is_403_request_limit_exceeded_until_the_day_rolls(
    clock: FakeClock,
) -> None:
    emulator = SalesforceEmulator(salesforce_world(5), daily_limit=3, time_scale=5e-6, now=clock)
    with api_client(emulator) as sf:
        assert [sf.get(f"{API}/limits").status_code for _ in range(3)] == [200, 200, 200]
        refused = sf.get(f"{API}/limits")
        assert refused.status_code == 403
        assert refused.json() == [
            {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
        ]
        assert refused.headers["Sforce-Limit-Info"] == "api-usage=3/3"
        time.sleep(0.45)  # the scaled day is 0.432 s
        assert sf.get(f"{API}/limits").status_code == 200
