"""The NetSuite emulator: the M2M token grant, record paging and filters, SuiteQL, upserts, the
error bodies, the concurrency limit and lost replies, and payments."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc import jwt
from joserfc.jwk import RSAKey

from sandbox.transport import InProcessTransport
from sandbox.vendors.netsuite import TOKEN_PATH, NetSuiteEmulator
from sandbox.vendors.netsuite_identity import ASSERTION_TYPE
from sandbox.world.build import build_world
from sandbox.world.model import World

BASE = "http://127.0.0.1:8718"
TOKEN_URL = f"{BASE}{TOKEN_PATH}"
RECORDS = "/services/rest/record/v1"
SUITEQL = "/services/rest/query/v1/suiteql"


@pytest.fixture(scope="module")
def world() -> World:
    return build_world(7, size="small", today=date(2026, 11, 25))


@pytest.fixture
def emulator(world: World) -> NetSuiteEmulator:
    return NetSuiteEmulator(world)


@pytest.fixture
def http(emulator: NetSuiteEmulator) -> Iterator[httpx.Client]:
    with httpx.Client(transport=InProcessTransport(emulator.app), base_url=BASE) as client:
        yield client


def assertion(emulator: NetSuiteEmulator, *, key: str | None = None, **changes: Any) -> str:
    now = int(time.time())
    header = {"typ": "JWT", "alg": "PS256", "kid": changes.pop("kid", emulator.certificate_id)}
    claims = {
        "iss": emulator.client_id,
        "scope": "rest_webservices",
        "aud": TOKEN_URL,
        "iat": now,
        "exp": now + 300,
    } | changes
    signing = RSAKey.import_key(key or emulator.private_key_pem)
    return jwt.encode(header, claims, signing, algorithms=["PS256"])


def token_reply(http: httpx.Client, signed: str, **form: str) -> httpx.Response:
    data = {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": signed,
    } | form
    return http.post(TOKEN_PATH, data=data)


@pytest.fixture
def auth(emulator: NetSuiteEmulator, http: httpx.Client) -> dict[str, str]:
    reply = token_reply(http, assertion(emulator))
    assert reply.status_code == 200, reply.text
    return {"Authorization": f"Bearer {reply.json()['access_token']}"}


def stored(emulator: NetSuiteEmulator, record_type: str, record_id: str) -> dict[str, Any]:
    record = emulator.books.get(record_type, record_id)
    assert record is not None, f"no {record_type} {record_id}"
    return record


def other_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


# --- auth -------------------------------------------------------------------------------------


def test_a_signed_assertion_gets_a_bearer_token(
    emulator: NetSuiteEmulator, http: httpx.Client
) -> None:
    body = token_reply(http, assertion(emulator)).json()
    assert body["token_type"] == "bearer" and int(body["expires_in"]) == 3600
    assert body["access_token"]


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"kid": "another-certificate"}, "invalid_client"),
        ({"aud": f"{BASE}/elsewhere"}, "invalid_grant"),
        ({"iss": "someone-else"}, "invalid_grant"),
        ({"exp": int(time.time()) + 7200}, "invalid_grant"),
        ({"exp": int(time.time()) - 600, "iat": int(time.time()) - 900}, "invalid_grant"),
        ({"scope": "restlets"}, "invalid_scope"),
    ],
)
def test_a_bad_assertion_is_refused(
    emulator: NetSuiteEmulator, http: httpx.Client, changes: dict[str, Any], error: str
) -> None:
    reply = token_reply(http, assertion(emulator, **changes))
    assert (reply.status_code, reply.json()) == (400, {"error": error})


def test_an_assertion_signed_by_another_key_is_refused(
    emulator: NetSuiteEmulator, http: httpx.Client
) -> None:
    reply = token_reply(http, assertion(emulator, key=other_key()))
    assert (reply.status_code, reply.json()["error"]) == (400, "invalid_client")


def test_the_grant_needs_the_jwt_bearer_assertion_type(
    emulator: NetSuiteEmulator, http: httpx.Client
) -> None:
    reply = token_reply(http, assertion(emulator), client_assertion_type="password")
    assert reply.json() == {"error": "invalid_request"}


def test_a_call_without_a_live_token_is_an_invalid_login(http: httpx.Client) -> None:
    reply = http.get(f"{RECORDS}/customer", headers={"Authorization": "Bearer nope"})
    body = reply.json()
    assert reply.status_code == 401 and body["status"] == 401
    assert body["o:errorDetails"][0]["o:errorCode"] == "INVALID_LOGIN"


# --- reads ------------------------------------------------------------------------------------


def test_collections_page_by_limit_and_offset_to_the_end(
    http: httpx.Client, auth: dict[str, str]
) -> None:
    seen: list[str] = []
    offset = 0
    while True:
        page = http.get(
            f"{RECORDS}/invoice", params={"limit": 40, "offset": offset}, headers=auth
        ).json()
        seen += [item["id"] for item in page["items"]]
        assert all(set(item) == {"id", "links"} for item in page["items"])
        rels = {link["rel"] for link in page["links"]}
        assert ("next" in rels) == page["hasMore"]
        if not page["hasMore"]:
            break
        offset += 40
    assert len(seen) == len(set(seen)) == page["totalResults"] == 175


def test_a_limit_over_1000_is_refused(http: httpx.Client, auth: dict[str, str]) -> None:
    reply = http.get(f"{RECORDS}/invoice", params={"limit": 1001}, headers=auth)
    assert reply.status_code == 400
    assert reply.json()["o:errorDetails"][0]["o:errorCode"] == "INVALID_PARAMETER"


def test_q_filters_by_subsidiary_and_last_modified(
    emulator: NetSuiteEmulator, http: httpx.Client, auth: dict[str, str]
) -> None:
    q = 'subsidiary ANY_OF "2" AND lastModifiedDate ON_OR_AFTER "6/1/2026 12:00 am"'
    page = http.get(f"{RECORDS}/invoice", params={"q": q}, headers=auth).json()
    expected = {
        r["id"] for r in emulator.invoices("2") if r["lastModifiedDate"] >= "2026-06-01T00:00:00Z"
    }
    assert expected and {item["id"] for item in page["items"]} == expected


def test_an_unreadable_q_is_refused_with_netsuite_error_body(
    http: httpx.Client, auth: dict[str, str]
) -> None:
    reply = http.get(
        f"{RECORDS}/invoice", params={"q": "subsidiary ANY_OF 1 OR x IS y"}, headers=auth
    )
    body = reply.json()
    assert reply.status_code == 400 and body["title"] == "Bad Request"
    assert body["o:errorDetails"][0]["o:errorPath"] == "q"


def test_a_record_shows_its_sublists_only_when_expanded(
    emulator: NetSuiteEmulator, http: httpx.Client, auth: dict[str, str]
) -> None:
    invoice_id = emulator.invoices("1")[0]["id"]
    plain = http.get(f"{RECORDS}/invoice/{invoice_id}", headers=auth).json()
    assert set(plain["item"]) == {"links"}
    full = http.get(
        f"{RECORDS}/invoice/{invoice_id}", params={"expandSubResources": "true"}, headers=auth
    ).json()
    assert full["item"]["items"] and full["status"]["id"] in ("A", "B")


def test_a_missing_record_is_not_found(http: httpx.Client, auth: dict[str, str]) -> None:
    reply = http.get(f"{RECORDS}/invoice/eid:nothing-here", headers=auth)
    assert reply.status_code == 404
    assert reply.json()["o:errorDetails"][0]["o:errorCode"] == "NONEXISTENT_ID"


def test_suiteql_needs_prefer_transient(http: httpx.Client, auth: dict[str, str]) -> None:
    query = {"q": "SELECT id, name FROM subsidiary ORDER BY id"}
    refused = http.post(SUITEQL, json=query, headers=auth)
    assert refused.status_code == 400
    rows = http.post(SUITEQL, json=query, headers=auth | {"Prefer": "transient"}).json()
    assert [row["id"] for row in rows["items"]] == ["1", "2", "3"]


def test_suiteql_refuses_an_unknown_field(http: httpx.Client, auth: dict[str, str]) -> None:
    reply = http.post(
        SUITEQL,
        json={"q": "SELECT id, nickname FROM customer"},
        headers=auth | {"Prefer": "transient"},
    )
    assert reply.status_code == 400
    assert "nickname" in reply.json()["o:errorDetails"][0]["detail"]


# --- writes -----------------------------------------------------------------------------------


def invoice(customer: str, number: str = "T-1") -> dict[str, Any]:
    lines = [{"item": {"id": "1"}, "quantity": 2, "rate": 150, "description": "work"}]
    return {"entity": {"id": customer}, "tranId": number, "item": {"items": lines}}


def test_an_upsert_by_external_id_creates_once(
    emulator: NetSuiteEmulator, http: httpx.Client, auth: dict[str, str]
) -> None:
    customer = emulator.books.all("customer")[0]["id"]
    before = len(emulator.books.all("invoice"))
    first = http.put(f"{RECORDS}/invoice/eid:key-1", json=invoice(customer), headers=auth)
    again = http.put(f"{RECORDS}/invoice/eid:key-1", json=invoice(customer), headers=auth)
    assert first.status_code == again.status_code == 204 and not first.content
    assert first.headers["Location"] == again.headers["Location"]
    assert len(emulator.books.all("invoice")) == before + 1
    created = first.headers["Location"].rsplit("/", 1)[-1]
    assert stored(emulator, "invoice", created)["total"] == Decimal("300.00")


def test_a_refused_invoice_names_the_field(http: httpx.Client, auth: dict[str, str]) -> None:
    reply = http.put(f"{RECORDS}/invoice/eid:key-2", json=invoice("999999"), headers=auth)
    detail = reply.json()["o:errorDetails"][0]
    assert reply.status_code == 400
    assert (detail["o:errorCode"], detail["o:errorPath"]) == ("INVALID_FLD_VALUE", "entity")


def test_a_lost_reply_still_saves_the_record(
    emulator: NetSuiteEmulator, http: httpx.Client, auth: dict[str, str]
) -> None:
    customer = emulator.books.all("customer")[0]["id"]
    emulator.lose_next_response()
    with pytest.raises(httpx.RemoteProtocolError):
        http.put(f"{RECORDS}/invoice/eid:lost-1", json=invoice(customer), headers=auth)
    assert emulator.books.by_external("invoice", "lost-1") is not None


def test_the_request_over_the_concurrency_limit_gets_429(
    emulator: NetSuiteEmulator, http: httpx.Client, auth: dict[str, str]
) -> None:
    for _ in range(emulator.gate.limit):
        assert emulator.gate.enter()
    refused = http.get(f"{RECORDS}/customer", headers=auth)
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "1"
    assert refused.json()["o:errorDetails"][0]["o:errorCode"] == "CONCURRENCY_LIMIT_EXCEEDED"
    emulator.gate.leave()
    assert http.get(f"{RECORDS}/customer", headers=auth).status_code == 200


def test_a_recorded_payment_settles_the_invoice(
    emulator: NetSuiteEmulator, http: httpx.Client, auth: dict[str, str]
) -> None:
    open_ = next(r for r in emulator.receivables() if r.amount_due > 0)
    payment = emulator.record_payment(
        open_.company_id, open_.invoice_id, open_.amount_due, date(2026, 11, 20)
    )
    after = stored(emulator, "invoice", open_.invoice_id)
    assert after["amountRemaining"] == 0 and after["status"]["id"] == "B"
    record = http.get(
        f"{RECORDS}/customerPayment/{payment}",
        params={"expandSubResources": "true"},
        headers=auth,
    ).json()
    assert record["apply"]["items"][0]["doc"]["id"] == open_.invoice_id
    with pytest.raises(ValueError):
        emulator.record_payment(open_.company_id, open_.invoice_id, Decimal(1), date(2026, 11, 21))


def test_a_credit_memo_cannot_apply_more_than_is_due(
    emulator: NetSuiteEmulator, http: httpx.Client, auth: dict[str, str]
) -> None:
    open_ = next(r for r in emulator.receivables() if r.amount_due > 0)
    customer = stored(emulator, "invoice", open_.invoice_id)["entity"]["id"]
    big = invoice(customer) | {"tranId": "CM-1"}
    big["item"]["items"][0]["rate"] = float(open_.amount_due)
    made = http.put(f"{RECORDS}/creditMemo/eid:cm-1", json=big, headers=auth)
    memo = made.headers["Location"].rsplit("/", 1)[-1]
    line = {"doc": {"id": open_.invoice_id}, "apply": True, "amount": float(open_.amount_due) + 1}
    reply = http.patch(
        f"{RECORDS}/creditMemo/{memo}", json={"apply": {"items": [line]}}, headers=auth
    )
    assert reply.status_code == 400
    assert stored(emulator, "invoice", open_.invoice_id)["amountRemaining"] == open_.amount_due
