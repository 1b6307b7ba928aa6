"""The Dynamics 365 Finance emulator: Entra ID tokens, companies, OData reads (default company
and cross-company, paging, filters, single entities), creates and their refusals, posting and
settlement, service-protection 429s and lost replies."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest

from sandbox.transport import InProcessTransport
from sandbox.vendors.dynamics365 import Dynamics365Emulator
from sandbox.world.build import build_world
from sandbox.world.model import World

BASE = "http://127.0.0.1:8716"
SCOPE = f"{BASE}/.default"
ENUM = "Microsoft.Dynamics.DataEntities."


@pytest.fixture(scope="module")
def world() -> World:
    return build_world(7, size="small", today=date(2026, 11, 25))


@pytest.fixture
def emulator(world: World) -> Dynamics365Emulator:
    return Dynamics365Emulator(world)


@pytest.fixture
def http(emulator: Dynamics365Emulator) -> Iterator[httpx.Client]:
    transport = InProcessTransport(emulator.app)
    headers = {"Authorization": f"Bearer {emulator.issue_token()}"}
    with httpx.Client(transport=transport, base_url=BASE, headers=headers) as client:
        yield client
    transport.close()


def token_form(emulator: Dynamics365Emulator, **changes: str) -> dict[str, str]:
    form = {
        "grant_type": "client_credentials",
        "client_id": emulator.client_id,
        "client_secret": emulator.client_secret,
        "scope": SCOPE,
    }
    return form | changes


def test_token_endpoint_grants_and_refuses_in_entra_words(
    emulator: Dynamics365Emulator, http: httpx.Client
) -> None:
    url = f"/{emulator.tenant}/oauth2/v2.0/token"
    granted = http.post(url, data=token_form(emulator))
    assert granted.status_code == 200 and granted.json()["token_type"] == "Bearer"
    wrong = http.post(url, data=token_form(emulator, client_secret="nope"))
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    assert wrong.json()["error_description"].startswith("AADSTS7000215")
    assert (
        http.post("/other-tenant/oauth2/v2.0/token", data=token_form(emulator)).status_code == 400
    )
    scope = http.post(url, data=token_form(emulator, scope="api://x"))
    assert scope.json()["error"] == "invalid_scope"


def test_odata_needs_a_live_token(emulator: Dynamics365Emulator) -> None:
    with httpx.Client(transport=InProcessTransport(emulator.app), base_url=BASE) as bare:
        refused = bare.get("/data/CustomersV3")
        assert refused.status_code == 401 and refused.headers["WWW-Authenticate"] == "Bearer"
        forged = bare.get("/data/CustomersV3", headers={"Authorization": "Bearer forged"})
        assert forged.status_code == 401


def test_companies_are_the_legal_entities(emulator: Dynamics365Emulator, world: World) -> None:
    companies = emulator.companies()
    assert [(c, e) for c, e, _ in companies] == [("us01", 1), ("gb01", 2), ("de01", 3)]
    names = {e.id: e.name for e in world.legal_entities}
    assert all(name == names[entity] for _, entity, name in companies)


def test_default_company_unless_cross_company(http: httpx.Client, world: World) -> None:
    default = http.get("/data/CustomersV3").json()["value"]
    assert {row["dataAreaId"] for row in default} == {"us01"}
    everyone = http.get("/data/CustomersV3", params={"cross-company": "true"}).json()["value"]
    assert len(everyone) == len(world.customers)
    gb = http.get(
        "/data/CustomersV3", params={"cross-company": "true", "$filter": "dataAreaId eq 'gb01'"}
    ).json()["value"]
    assert gb and {row["dataAreaId"] for row in gb} == {"gb01"}


def test_paging_follows_next_links_to_the_end(http: httpx.Client, world: World) -> None:
    url: str | None = "/data/CustomersV3?cross-company=true&$count=true"
    seen: list[str] = []
    pages = 0
    while url:
        body = http.get(url, headers={"Prefer": "odata.maxpagesize=3"}).json()
        assert len(body["value"]) <= 3 and body["@odata.count"] == len(world.customers)
        seen += [f"{r['dataAreaId']}/{r['CustomerAccount']}" for r in body["value"]]
        url, pages = body.get("@odata.nextLink"), pages + 1
    assert len(seen) == len(set(seen)) == len(world.customers)
    assert pages == -(-len(world.customers) // 3)


def filtered(http: httpx.Client, entity: str, where: str, **more: str) -> Any:
    params = {"cross-company": "true", "$filter": where, **more}
    return http.get(f"/data/{entity}", params=params)


def test_filters_wildcards_enums_and_datetimes(http: httpx.Client) -> None:
    first = http.get("/data/CustomersV3").json()["value"][0]
    fragment = first["OrganizationName"].split()[0][1:].upper()
    found = filtered(http, "CustomersV3", f"OrganizationName eq '*{fragment}*'").json()["value"]
    assert first["CustomerAccount"] in {r["CustomerAccount"] for r in found}
    payments = f"TransType eq {ENUM}LedgerTransType'Payment'"
    rows = filtered(http, "CustTransBiEntities", payments).json()["value"]
    assert rows and all(r["TransType"] == "Payment" for r in rows)
    newest = max(r["SysModifiedDateTime"] for r in rows)
    late = filtered(http, "CustTransBiEntities", f"{payments} and SysModifiedDateTime ge {newest}")
    assert {r["SysModifiedDateTime"] for r in late.json()["value"]} == {newest}
    selected = filtered(http, "CustomersV3", "CreditLimit ge 0", **{"$select": "OrganizationName"})
    assert set(selected.json()["value"][0]) == {"@odata.etag", "OrganizationName", "dataAreaId"}


@pytest.mark.parametrize(
    "where", ["dataAreaId in ('us01')", "contains(OrganizationName,'a')", "CreditLimit eq", "x ~ 1"]
)
def test_an_unsupported_filter_is_an_odata_error(http: httpx.Client, where: str) -> None:
    refused = filtered(http, "CustomersV3", where)
    assert refused.status_code == 400
    assert refused.json()["error"]["message"].startswith("The query specified in the URI")


def test_single_entity_by_composite_key(http: httpx.Client) -> None:
    row = http.get("/data/CustomersV3").json()["value"][0]
    key = f"dataAreaId='us01',CustomerAccount='{row['CustomerAccount']}'"
    one = http.get(f"/data/CustomersV3({key})").json()
    assert one["OrganizationName"] == row["OrganizationName"]
    missing = http.get("/data/CustomersV3(dataAreaId='us01',CustomerAccount='NOPE')")
    assert missing.status_code == 404 and "Resource not found" in missing.json()["error"]["message"]
    partial = http.get(f"/data/CustomersV3(CustomerAccount='{row['CustomerAccount']}')")
    assert partial.status_code == 400


def new_customer(**changes: Any) -> dict[str, Any]:
    body = {
        "dataAreaId": "gb01",
        "OrganizationName": "Initech",
        "CustomerGroupId": "10",
        "SalesCurrencyCode": "GBP",
    }
    return body | changes


def test_create_refusals_carry_infolog_text(http: httpx.Client) -> None:
    created = http.post("/data/CustomersV3", json=new_customer(CustomerAccount="GB-9"))
    assert created.status_code == 201 and created.json()["dataAreaId"] == "gb01"
    again = http.post("/data/CustomersV3", json=new_customer(CustomerAccount="GB-9"))
    inner = again.json()["error"]["innererror"]
    assert again.status_code == 400 and "The record already exists" in inner["message"]
    assert inner["type"].endswith("AxODataWriteException") and again.json()["error"]["code"] == ""
    bad_group = http.post("/data/CustomersV3", json=new_customer(CustomerGroupId="77"))
    assert "Infolog" in bad_group.json()["error"]["innererror"]["message"]
    assert "'77'" in bad_group.json()["error"]["innererror"]["message"]


def post_invoice(http: httpx.Client, account: str, quantity: float = 2.0) -> dict[str, Any]:
    header = http.post(
        "/data/FreeTextInvoiceHeaders",
        json={"dataAreaId": "us01", "CustomerAccount": account, "CurrencyCode": "USD",
              "InvoiceDate": "2026-11-02T12:00:00Z", "ExternalInvoiceId": "P2C-1"},
    ).json()  # fmt: skip
    line = {"dataAreaId": "us01", "InvoiceIdentifier": header["InvoiceIdentifier"],
            "LineNumber": 1, "Quantity": quantity, "UnitPrice": 100,
            "MainAccountDisplayValue": "401100", "Description": "Advice"}  # fmt: skip
    assert http.post("/data/FreeTextInvoiceLines", json=line).status_code == 201
    key = f"dataAreaId='us01',InvoiceIdentifier='{header['InvoiceIdentifier']}'"
    posted = http.post(f"/data/FreeTextInvoiceHeaders({key})/{ENUM}PostInvoice", json={})
    assert posted.status_code == 200, posted.text
    return dict(posted.json())


def test_posting_opens_a_transaction_that_payments_settle(
    http: httpx.Client, emulator: Dynamics365Emulator
) -> None:
    account = http.get("/data/CustomersV3").json()["value"][0]["CustomerAccount"]
    header = post_invoice(http, account)
    assert header["IsPosted"] == "Yes" and header["InvoiceId"]
    (open_one,) = [r for r in emulator.receivables() if r.invoice_id == header["InvoiceId"]]
    assert (open_one.total, open_one.amount_due, open_one.status) == (200, 200, "Open")
    assert open_one.number == "P2C-1"
    emulator.record_payment("us01", header["InvoiceId"], Decimal(200), date(2026, 11, 20))
    (paid,) = [r for r in emulator.receivables() if r.invoice_id == header["InvoiceId"]]
    assert (paid.amount_due, paid.status) == (0, "Closed")
    where = f"Invoice eq '{header['InvoiceId']}'"
    (transaction,) = filtered(http, "CustTransBiEntities", where).json()["value"]
    assert transaction["Closed"].startswith("2026-11-20") and transaction["SettleAmountCur"] == 200
    line = {"dataAreaId": "us01", "InvoiceIdentifier": header["InvoiceIdentifier"],
            "LineNumber": 2, "Quantity": 1, "UnitPrice": 1,
            "MainAccountDisplayValue": "401100"}  # fmt: skip
    late = http.post("/data/FreeTextInvoiceLines", json=line)
    assert late.status_code == 400 and "posted" in late.json()["error"]["innererror"]["message"]


def test_service_protection_429_with_retry_after(world: World) -> None:
    emulator = Dynamics365Emulator(world, request_limit=2)
    headers = {"Authorization": f"Bearer {emulator.issue_token()}"}
    transport = InProcessTransport(emulator.app)
    with httpx.Client(transport=transport, base_url=BASE, headers=headers) as client:
        assert [client.get("/data/LegalEntities").status_code for _ in range(2)] == [200, 200]
        throttled = client.get("/data/LegalEntities")
    transport.close()
    assert throttled.status_code == 429 and int(throttled.headers["Retry-After"]) >= 1
    assert "exeeded the limit of 2" in throttled.json()["error"]["message"]


def test_a_lost_reply_still_applies_the_write(
    http: httpx.Client, emulator: Dynamics365Emulator
) -> None:
    emulator.lose_next_response(1)
    with pytest.raises(httpx.RemoteProtocolError):
        http.post("/data/CustomersV3", json=new_customer(CustomerAccount="GB-LOST"))
    assert http.post("/data/CustomersV3", json=new_customer()).status_code == 201  # one loss
    where = "CustomerAccount eq 'GB-LOST'"
    assert len(filtered(http, "CustomersV3", where).json()["value"]) == 1


def test_entities_choose_the_companies(world: World) -> None:
    emulator = Dynamics365Emulator(world, entities=[2])
    assert [c for c, _, _ in emulator.companies()] == ["gb01"]
    assert {r.company_id for r in emulator.receivables()} <= {"gb01"}
