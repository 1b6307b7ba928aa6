"""The Oracle Fusion emulator on the wire: auth, paging, q and finders, writes and their
refusals, the all-or-none batch, the rate limit, lost replies, and the world it holds."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from typing import Any

import httpx
import pytest

from sandbox.transport import InProcessTransport
from sandbox.vendors.oracle_fusion import OracleFusionEmulator
from sandbox.world.build import build_world
from sandbox.world.model import World
from tests.sandbox.clock import FakeClock

API = "http://fusion/fscmRestApi/resources/11.13.18.05"
CRM = "http://fusion/crmRestApi/resources/11.13.18.05"
UK = "Meridian Advisory UK Ltd BU"


@cache
def small_world() -> World:
    return build_world(7, size="small", today=date(2026, 11, 25))


def emulator(**kw: Any) -> OracleFusionEmulator:
    return OracleFusionEmulator(
        small_world(), now=FakeClock(datetime(2026, 11, 25, tzinfo=UTC)), **kw
    )


@pytest.fixture
def fusion() -> OracleFusionEmulator:
    return emulator()


@pytest.fixture
def http(fusion: OracleFusionEmulator) -> Iterator[httpx.Client]:
    transport = InProcessTransport(fusion.app)
    with httpx.Client(transport=transport, auth=(fusion.username, fusion.password)) as client:
        yield client


def customer(fusion: OracleFusionEmulator) -> str:
    return str(fusion.accounts()[0]["PartyNumber"])


def new_invoice(fusion: OracleFusionEmulator, number: str, **fields: Any) -> dict[str, Any]:
    return {
        "BusinessUnit": UK, "TransactionSource": "Manual", "TransactionNumber": number,
        "TransactionDate": "2026-11-20", "BillToCustomerNumber": customer(fusion),
        "InvoiceCurrencyCode": "GBP",
        "receivablesInvoiceLines": [{"Description": "Work", "Quantity": 2,
                                     "UnitSellingPrice": 150}],
        **fields,
    }  # fmt: skip


def test_calls_without_the_right_credentials_are_refused(fusion: OracleFusionEmulator) -> None:
    transport = InProcessTransport(fusion.app)
    with httpx.Client(transport=transport) as anonymous:
        refused = anonymous.get(f"{API}/receivablesInvoices")
        wrong = anonymous.get(f"{API}/receivablesInvoices", auth=(fusion.username, "nope"))
        token = anonymous.get(
            f"{API}/finBusinessUnitsLOV",
            headers={"Authorization": f"Bearer {fusion.issue_token()}"},
        )
    assert refused.status_code == wrong.status_code == 401
    assert refused.headers["WWW-Authenticate"].startswith("Basic")
    assert token.status_code == 200


def test_the_companies_are_the_world_s_entities_as_business_units() -> None:
    world = small_world()
    only_uk = emulator(entities={2})
    assert only_uk.companies() == [(UK, 2, "Meridian Advisory UK Ltd")]
    assert {i["BusinessUnit"] for i in only_uk.invoices(UK)} == {UK}
    assert len(only_uk.invoices(UK)) == sum(1 for i in world.invoices if i.legal_entity_id == 2)
    assert len(only_uk.accounts()) == sum(1 for c in world.customers if c.legal_entity_id == 2)


def test_history_equals_the_world_per_legal_entity(fusion: OracleFusionEmulator) -> None:
    world = small_world()
    for unit, entity, name in fusion.companies():
        assert unit == f"{name} BU"
        truth = {i.number: i.total for i in world.invoices if i.legal_entity_id == entity}
        held = {
            i["TransactionNumber"]: Decimal(str(i["EnteredAmount"])) for i in fusion.invoices(unit)
        }
        assert held == truth
    paid: dict[int, Decimal] = {}
    for payment in world.payments:
        paid[payment.invoice_id] = paid.get(payment.invoice_id, Decimal(0)) + payment.amount
    open_amounts = {r.number: r.amount_due for r in fusion.receivables()}
    for invoice in world.invoices:
        credited = sum(
            (n.amount for n in world.credit_notes if n.invoice_id == invoice.id), Decimal(0)
        )
        due = invoice.total - paid.get(invoice.id, Decimal(0)) - credited
        assert open_amounts.get(invoice.number, Decimal(0)) == max(due, Decimal(0))


def test_paging_follows_limit_offset_and_has_more(
    http: httpx.Client, fusion: OracleFusionEmulator
) -> None:
    total, seen, offset = len(fusion.invoices(UK)), [], 0
    while True:
        body = http.get(
            f"{API}/receivablesInvoices",
            params={
                "q": f"BusinessUnit='{UK}'",
                "limit": 20,
                "offset": offset,
                "totalResults": "true",
            },
        ).json()
        seen += [i["CustomerTransactionId"] for i in body["items"]]
        assert body["totalResults"] == total and body["count"] == len(body["items"])
        if not body["hasMore"]:
            break
        offset += body["count"]
    assert len(seen) == len(set(seen)) == total
    first = http.get(f"{API}/receivablesInvoices").json()
    assert (
        first["limit"] == 25
        and first["count"] == 25
        and "receivablesInvoiceLines" not in first["items"][0]
    )
    capped = http.get(f"{API}/receivablesInvoices", params={"limit": 1000}).json()
    assert capped["limit"] == 500


def test_q_finders_expand_and_only_data(http: httpx.Client, fusion: OracleFusionEmulator) -> None:
    a, b = (str(i["TransactionNumber"]) for i in fusion.invoices(UK)[:2])
    q = f"BusinessUnit='{UK}' and (TransactionNumber='{a}' or TransactionNumber='{b}')"
    body = http.get(
        f"{API}/receivablesInvoices",
        params={"q": q, "expand": "receivablesInvoiceLines", "onlyData": "true"},
    ).json()
    assert sorted(i["TransactionNumber"] for i in body["items"]) == sorted([a, b])
    assert all(i["receivablesInvoiceLines"] and "links" not in i for i in body["items"])
    v1 = http.get(
        f"{API}/receivablesInvoices", params={"q": f"BusinessUnit={UK};TransactionNumber={a}"}
    )
    assert [i["TransactionNumber"] for i in v1.json()["items"]] == [a]
    finder = http.get(
        f"{API}/receivablesInvoices",
        params={"finder": f"invoiceSearch;TransactionNumber={a},BusinessUnit={UK}"},
    )
    assert [i["TransactionNumber"] for i in finder.json()["items"]] == [a]
    late = http.get(
        f"{API}/receivablesInvoices", params={"q": "LastUpdateDate>='2030-01-01T00:00:00Z'"}
    )
    assert late.json()["items"] == []
    unknown = http.get(f"{API}/receivablesInvoices", params={"finder": "noSuchFinder;X=1"})
    assert unknown.status_code == 400
    assert unknown.headers["content-type"] == "application/vnd.oracle.adf.error+json"
    assert "noSuchFinder" in unknown.json()["o:errorDetails"][0]["detail"]


def test_an_invoice_is_created_incomplete_then_completed(
    http: httpx.Client, fusion: OracleFusionEmulator
) -> None:
    made = http.post(f"{API}/receivablesInvoices", json=new_invoice(fusion, "E-1"))
    assert made.status_code == 201
    created = made.json()
    assert created["InvoiceStatus"] == "Incomplete" and created["InvoiceBalanceAmount"] == 300
    item = f"{API}/receivablesInvoices/{created['CustomerTransactionId']}"
    done = http.patch(item, json={"InvoiceStatus": "Complete"})
    assert done.status_code == 200 and done.json()["InvoiceStatus"] == "Complete"
    refused = http.patch(item, json={"Comments": "edited"})
    assert refused.status_code == 400 and "Comments can't be updated" in refused.json()["detail"]
    duplicate = http.post(f"{API}/receivablesInvoices", json=new_invoice(fusion, "E-1"))
    assert duplicate.status_code == 400 and "E-1 already exists" in duplicate.json()["detail"]
    upsert = http.post(
        f"{API}/receivablesInvoices",
        json=new_invoice(fusion, "E-1"),
        headers={"Upsert-Mode": "true"},
    )
    assert upsert.status_code == 200
    assert upsert.json()["CustomerTransactionId"] == created["CustomerTransactionId"]
    assert http.get(f"{API}/receivablesInvoices/1").status_code == 404


def test_a_refused_invoice_lists_every_reason(
    http: httpx.Client, fusion: OracleFusionEmulator
) -> None:
    body = new_invoice(fusion, "E-2", BillToCustomerNumber="0", InvoiceCurrencyCode="pounds",
                       receivablesInvoiceLines=[])  # fmt: skip
    refused = http.post(f"{API}/receivablesInvoices", json=body)
    paths = [d["o:errorPath"] for d in refused.json()["o:errorDetails"]]
    assert refused.status_code == 400
    assert paths == ["BillToCustomerNumber", "InvoiceCurrencyCode", "receivablesInvoiceLines"]


def test_a_batch_is_all_or_none(http: httpx.Client, fusion: OracleFusionEmulator) -> None:
    def part(n: int, payload: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": f"p{n}",
            "path": "/receivablesInvoices",
            "operation": "create",
            "payload": payload,
        }

    bad = new_invoice(fusion, "B-2", BillToCustomerNumber="0")
    parts = [part(1, new_invoice(fusion, "B-1")), part(2, bad), part(3, new_invoice(fusion, "B-3"))]
    refused = http.post(API, json={"parts": parts})
    assert refused.status_code == 400
    assert [p["id"] for p in refused.json()["parts"]] == ["p2"]
    assert "bill-to customer 0" in refused.json()["parts"][0]["exception"]["detail"]
    assert not [i for i in fusion.invoices(UK) if str(i["TransactionNumber"]).startswith("B-")]
    applied = http.post(API, json={"parts": [parts[0], parts[2]]})
    assert applied.status_code == 200
    assert [p["payload"]["TransactionNumber"] for p in applied.json()["parts"]] == ["B-1", "B-3"]
    twice = http.post(
        API,
        json={"parts": [part(4, new_invoice(fusion, "B-4")), part(5, new_invoice(fusion, "B-4"))]},
    )
    assert twice.status_code == 400 and [p["id"] for p in twice.json()["parts"]] == ["p5"]


def test_a_lost_reply_still_applies_the_write(fusion: OracleFusionEmulator) -> None:
    fusion.lose_next_response(1)
    transport = InProcessTransport(fusion.app)
    with httpx.Client(transport=transport, auth=(fusion.username, fusion.password)) as http:
        with pytest.raises(httpx.RemoteProtocolError):
            http.post(f"{API}/receivablesInvoices", json=new_invoice(fusion, "L-1"))
        assert [i for i in fusion.invoices(UK) if i["TransactionNumber"] == "L-1"]
        after = http.post(f"{API}/receivablesInvoices", json=new_invoice(fusion, "L-2"))
    assert after.status_code == 201


def test_the_rate_limit_answers_429_with_retry_after() -> None:
    fusion = emulator(requests_per_minute=3)
    transport = InProcessTransport(fusion.app)
    with httpx.Client(transport=transport, auth=(fusion.username, fusion.password)) as http:
        statuses = [http.get(f"{API}/finBusinessUnitsLOV").status_code for _ in range(4)]
        refused = http.get(f"{API}/finBusinessUnitsLOV")
    assert statuses == [200, 200, 200, 429]
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.json()["title"] == "Too Many Requests"


def test_a_payment_settles_the_invoice_and_is_read_back(
    http: httpx.Client, fusion: OracleFusionEmulator
) -> None:
    body = new_invoice(fusion, "P-1", InvoiceStatus="Complete")
    made = http.post(f"{API}/receivablesInvoices", json=body).json()
    invoice_id, due = str(made["CustomerTransactionId"]), Decimal(300)
    assert invoice_id in {r.invoice_id for r in fusion.receivables()}
    receipt = fusion.record_payment(UK, invoice_id, due, date(2026, 11, 24))
    invoice = http.get(
        f"{API}/receivablesInvoices/{invoice_id}",
        params={"expand": "receivablesInvoiceInstallments"},
    ).json()
    assert invoice["InvoiceBalanceAmount"] == 0
    assert invoice["receivablesInvoiceInstallments"][0]["InstallmentStatus"] == "Closed"
    (paid,) = [r for r in fusion.receivables() if r.invoice_id == invoice_id]
    assert paid.amount_due == 0 and paid.total == due and not paid.payable
    read = http.get(
        f"{API}/standardReceipts/{receipt['StandardReceiptId']}", params={"expand": "all"}
    ).json()
    (application,) = read["standardReceiptApplications"]
    assert str(application["CustomerTransactionId"]) == invoice_id
    assert Decimal(str(application["AmountApplied"])) == due


def test_accounts_are_created_in_the_crm_registry(
    http: httpx.Client, fusion: OracleFusionEmulator
) -> None:
    made = http.post(
        f"{CRM}/accounts", json={"OrganizationName": "New Co", "SourceSystemReferenceValue": "k1"}
    )
    assert made.status_code == 201
    found = http.get(f"{CRM}/accounts", params={"q": "SourceSystemReferenceValue='k1'"}).json()
    assert [a["PartyNumber"] for a in found["items"]] == [made.json()["PartyNumber"]]
    nameless = http.post(f"{CRM}/accounts", json={})
    assert nameless.status_code == 400
