"""The Xero emulator: tokens, tenancy, invoice validation, idempotency, lost replies, limits."""

from __future__ import annotations

import httpx
import pytest

from sandbox.server import Sandbox
from tests.sandbox.clock import FakeClock
from tests.sandbox.conftest import xero_token
from tests.sandbox.xero_documents import invoice, put_and_lose_the_reply


def test_token_flow_and_bad_credentials(sandbox: Sandbox) -> None:
    with httpx.Client(transport=sandbox.transports()["xero"]) as client:
        granted = client.post(
            sandbox.xero_token_url,
            data={"grant_type": "client_credentials"},
            auth=(sandbox.xero.client_id, sandbox.xero.client_secret),
        ).json()
        assert granted["expires_in"] == 1800 and granted["token_type"] == "Bearer"
        refused = client.post(
            sandbox.xero_token_url,
            data={"grant_type": "client_credentials"},
            auth=(sandbox.xero.client_id, "wrong"),
        )
        assert refused.status_code == 400 and refused.json() == {"error": "invalid_client"}


def test_connections_name_the_tenant(xero: httpx.Client, sandbox: Sandbox) -> None:
    [connection] = xero.get(sandbox.xero_connections_url).json()
    assert connection["tenantId"] == sandbox.xero.tenant_id
    assert connection["tenantType"] == "ORGANISATION"
    assert connection["tenantName"] == "Meridian Advisory Ltd"


def test_tokens_expire(xero: httpx.Client, clock: FakeClock) -> None:
    assert xero.get("Invoices").status_code == 200
    clock.advance(seconds=1801)
    expired = xero.get("Invoices")
    assert expired.status_code == 401
    assert expired.json()["Title"] == "Unauthorized"
    assert expired.json()["Detail"] == "AuthenticationUnsuccessful"


@pytest.mark.parametrize("tenant", [None, "00000000-0000-0000-0000-000000000000"])
def test_tenant_header_is_required(xero: httpx.Client, tenant: str | None) -> None:
    request = xero.build_request("GET", "Invoices")
    if tenant is None:
        del request.headers["xero-tenant-id"]
    else:
        request.headers["xero-tenant-id"] = tenant
    response = xero.send(request)
    assert response.status_code == 403 and response.json()["Title"] == "Forbidden"


def test_create_computes_totals(xero: httpx.Client, sandbox: Sandbox) -> None:
    response = xero.put("Invoices", json={"Invoices": [invoice(sandbox, "P2C-0001")]})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["Status"] == "OK" and body["DateTimeUTC"].startswith("/Date(")
    [created] = body["Invoices"]
    assert [line["LineAmount"] for line in created["LineItems"]] == [2695.0, 331.0]
    assert created["SubTotal"] == created["Total"] == created["AmountDue"] == 3026.0
    assert created["TotalTax"] == 0 and created["AmountPaid"] == 0
    assert created["Status"] == "AUTHORISED" and created["DateString"] == "2025-03-01T00:00:00"
    assert created["Date"] == "/Date(1740787200000+0000)/"
    assert sandbox.xero.invoices()[0]["InvoiceID"] == created["InvoiceID"]


def test_single_object_body_and_default_draft(xero: httpx.Client, sandbox: Sandbox) -> None:
    single = invoice(sandbox, "P2C-0002")
    del single["Status"]
    created = xero.post("Invoices", json=single).json()["Invoices"][0]
    assert created["Status"] == "DRAFT"
    updated = xero.post(
        "Invoices", json={"Invoices": [{"InvoiceID": created["InvoiceID"], "Status": "AUTHORISED"}]}
    ).json()["Invoices"][0]
    assert updated["InvoiceID"] == created["InvoiceID"] and updated["Status"] == "AUTHORISED"
    assert len(sandbox.xero.invoices()) == 1


def test_summarized_errors_refuse_the_whole_batch(xero: httpx.Client, sandbox: Sandbox) -> None:
    bad = invoice(
        sandbox,
        "P2C-0004",
        Contact={"ContactID": "9" * 8 + "-0000-4000-8000-" + "0" * 12},
        LineItems=[],
        CurrencyCode="usd",
    )
    response = xero.put("Invoices", json={"Invoices": [invoice(sandbox, "P2C-0003"), bad]})
    assert response.status_code == 400
    error = response.json()
    assert error["ErrorNumber"] == 10 and error["Type"] == "ValidationException"
    messages = [m["Message"] for m in error["Elements"][0]["ValidationErrors"]]
    assert any("could not be found" in m for m in messages)
    assert any("line item" in m for m in messages) and any("currency" in m for m in messages)
    assert sandbox.xero.invoices() == []


def test_unsummarized_errors_save_the_valid_ones(xero: httpx.Client, sandbox: Sandbox) -> None:
    response = xero.put(
        "Invoices",
        params={"summarizeErrors": "false"},
        json={
            "Invoices": [
                invoice(sandbox, "P2C-0005"),
                invoice(sandbox, "P2C-0005"),
                invoice(sandbox, "P2C-0006", Type="WRONG"),
            ]
        },
    )
    assert response.status_code == 200
    ok, duplicate, wrong = response.json()["Invoices"]
    assert ok["HasErrors"] is False and ok["StatusAttributeString"] == "OK"
    assert duplicate["HasErrors"] is True
    assert duplicate["ValidationErrors"] == [{"Message": "Invoice # must be unique."}]
    assert wrong["HasErrors"] is True
    assert [i["InvoiceNumber"] for i in sandbox.xero.invoices()] == ["P2C-0005"]


def test_idempotency_key_replays_without_creating(xero: httpx.Client, sandbox: Sandbox) -> None:
    body = {"Invoices": [invoice(sandbox, "P2C-0007")]}
    first = xero.put("Invoices", json=body, headers={"Idempotency-Key": "inv-7"})
    again = xero.put("Invoices", json=body, headers={"Idempotency-Key": "inv-7"})
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert len(sandbox.xero.invoices()) == 1
    too_long = xero.put("Invoices", json=body, headers={"Idempotency-Key": "k" * 129})
    assert too_long.status_code == 400


def test_lost_reply_still_creates_and_redelivery_is_safe(
    xero: httpx.Client, sandbox: Sandbox
) -> None:
    body = {"Invoices": [invoice(sandbox, "P2C-0008")]}
    put_and_lose_the_reply(xero, sandbox, "Invoices", body, "inv-8")
    [stored] = sandbox.xero.invoices()
    retried = xero.put("Invoices", json=body, headers={"Idempotency-Key": "inv-8"})
    assert retried.status_code == 200
    assert retried.json()["Invoices"][0]["InvoiceID"] == stored["InvoiceID"]
    assert len(sandbox.xero.invoices()) == 1


def test_reads_filter_and_page(xero: httpx.Client, sandbox: Sandbox, clock: FakeClock) -> None:
    for n in range(5):
        xero.put("Invoices", json=invoice(sandbox, f"P2C-1{n:03d}"))
    clock.advance(minutes=20)  # well inside the token's 30 minutes
    xero.post("Invoices", json=invoice(sandbox, "P2C-2000", Status="DRAFT"))
    pages = [xero.get("Invoices", params={"page": p, "pageSize": 2}).json() for p in (1, 2, 3)]
    assert pages[0]["pagination"] == {"page": 1, "pageSize": 2, "pageCount": 3, "itemCount": 6}
    assert [len(p["Invoices"]) for p in pages] == [2, 2, 2]
    recent = xero.get("Invoices", headers={"If-Modified-Since": "2025-03-12T12:10:00"}).json()
    assert [i["InvoiceNumber"] for i in recent["Invoices"]] == ["P2C-2000"]
    drafts = xero.get("Invoices", params={"Statuses": "DRAFT,SUBMITTED"}).json()["Invoices"]
    assert [i["InvoiceNumber"] for i in drafts] == ["P2C-2000"]
    numbers = xero.get("Invoices", params={"InvoiceNumbers": "P2C-1001,P2C-1003"}).json()
    assert sorted(i["InvoiceNumber"] for i in numbers["Invoices"]) == ["P2C-1001", "P2C-1003"]
    one = numbers["Invoices"][0]["InvoiceID"]
    assert xero.get(f"Invoices/{one}").json()["Invoices"][0]["InvoiceID"] == one


def test_contacts_are_seeded_and_created(xero: httpx.Client, sandbox: Sandbox) -> None:
    seeded = xero.get("Contacts").json()["Contacts"]
    assert {c["Name"] for c in seeded} == {c.name for c in sandbox.world.customers}
    assert all(c["ContactStatus"] == "ACTIVE" and c["IsCustomer"] for c in seeded)
    name = sandbox.world.customers[1].name
    found = xero.get("Contacts", params={"where": f'Name=="{name}"'}).json()["Contacts"]
    assert [c["Name"] for c in found] == [name]
    created = xero.put(
        "Contacts", json={"Contacts": [{"Name": "New Co", "DefaultCurrency": "USD"}]}
    )
    assert created.status_code == 200
    assert xero.put("Contacts", json={"Contacts": [{"Name": "New Co"}]}).status_code == 400
    assert len(sandbox.xero.contacts()) == len(sandbox.world.customers) + 1


def test_rate_limit_per_tenant(clock: FakeClock) -> None:
    with (
        Sandbox(7, time_scale=0.01, now=clock) as box,
        httpx.Client(
            transport=box.transports()["xero"], base_url=box.xero_base_url + "/"
        ) as client,
    ):
        client.headers.update(
            {
                "Authorization": f"Bearer {xero_token(client, box)}",
                "xero-tenant-id": box.xero.tenant_id,
            }
        )
        first = client.get("Invoices")
        assert first.headers["X-MinLimit-Remaining"] == "59"
        assert int(first.headers["X-DayLimit-Remaining"]) == 4999
        assert "X-AppMinLimit-Remaining" in first.headers
        statuses = [client.get("Invoices").status_code for _ in range(70)]
        assert 429 in statuses
        refused = client.get("Invoices")
        if refused.status_code == 429:
            assert int(refused.headers["Retry-After"]) >= 1
            assert refused.headers["X-Rate-Limit-Problem"] == "minute"
