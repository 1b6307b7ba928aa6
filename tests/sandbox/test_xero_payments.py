"""The Xero emulator's payments: created over the API or by the simulated customers, lowering
what the invoice has due, listed incrementally; requests and replies checked against the spec."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest

from sandbox.server import Sandbox
from tests.sandbox.clock import FakeClock
from tests.sandbox.conftest import xero_token
from tests.sandbox.xero_documents import checked, invoice, posted_invoice, put_unsummarized

pytestmark = pytest.mark.filterwarnings("ignore:Unsupported scheme type:UserWarning")
BANK = {"Code": "090"}


def payment(invoice_id: str, amount: float, **over: Any) -> dict[str, Any]:
    body = {
        "Invoice": {"InvoiceID": invoice_id},
        "Account": BANK,
        "Date": "2025-03-10",
        "Amount": amount,
        "Reference": "wire 7781",
    }
    return body | over


def test_a_payment_lowers_what_is_due_then_pays_the_invoice(
    xero: httpx.Client, sandbox: Sandbox
) -> None:
    bill = posted_invoice(xero, sandbox, "P2C-4001")  # 3,026.00 due
    part = checked(xero.put("Payments", json={"Payments": [payment(bill["InvoiceID"], 1000.0)]}))
    assert part.status_code == 200, part.text
    [made] = part.json()["Payments"]
    assert made["Amount"] == 1000.0 and made["Status"] == "AUTHORISED"
    assert made["PaymentType"] == "ACCRECPAYMENT" and made["Account"]["Code"] == "090"
    assert made["Invoice"]["InvoiceNumber"] == "P2C-4001"
    after = xero.get(f"Invoices/{bill['InvoiceID']}").json()["Invoices"][0]
    assert after["AmountDue"] == 2026.0 and after["AmountPaid"] == 1000.0
    assert (
        after["Status"] == "AUTHORISED" and after["Payments"][0]["PaymentID"] == made["PaymentID"]
    )
    by_number = payment("", 2026.0, Invoice={"InvoiceNumber": "P2C-4001"})
    rest = checked(xero.post("Payments", json=by_number))  # POST takes one bare Payment
    assert rest.status_code == 200, rest.text
    paid = xero.get(f"Invoices/{bill['InvoiceID']}").json()["Invoices"][0]
    assert paid["Status"] == "PAID" and paid["AmountDue"] == 0
    assert paid["FullyPaidOnDate"] == "/Date(1741564800000+0000)/"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"Amount": 5000.0}, "exceeds the amount outstanding"),
        ({"Account": None}, "An Account must be specified"),
        ({"Account": {"Code": "200"}}, "is not a valid code"),
        ({"Invoice": {"InvoiceID": "00000000-0000-4000-8000-000000000000"}}, "could not be found"),
        ({"Date": None}, "Date must be specified"),
        ({"Amount": -5}, "greater than zero"),
    ],
)
def test_invalid_payments_are_refused(
    xero: httpx.Client, sandbox: Sandbox, change: dict[str, Any], reason: str
) -> None:
    bill = posted_invoice(xero, sandbox, "P2C-4002")
    body = {k: v for k, v in (payment(bill["InvoiceID"], 10.0) | change).items() if v is not None}
    refused = checked(xero.put("Payments", json={"Payments": [body]}), valid_request=False)
    assert refused.status_code == 400 and refused.json()["Type"] == "ValidationException"
    assert reason in refused.text
    assert sandbox.xero.payments() == []


def test_a_draft_invoice_takes_no_payment(xero: httpx.Client, sandbox: Sandbox) -> None:
    body = invoice(sandbox, "P2C-4003", Status="DRAFT")
    draft = xero.put("Invoices", json={"Invoices": [body]}).json()["Invoices"][0]
    refused = xero.put("Payments", json=payment(draft["InvoiceID"], 10.0))
    assert refused.status_code == 400 and "Authorised documents" in refused.text


def test_unsummarized_errors_come_back_per_payment(xero: httpx.Client, sandbox: Sandbox) -> None:
    bill = posted_invoice(xero, sandbox, "P2C-4004")
    response = put_unsummarized(
        xero,
        "Payments",
        [
            payment(bill["InvoiceID"], 3000.0),
            payment(bill["InvoiceID"], 100.0),  # only 26.00 is left by then
        ],
    )
    assert response.status_code == 200
    ok, over = response.json()["Payments"]
    assert ok["StatusAttributeString"] == "OK"
    assert over["HasErrors"] is True and "outstanding" in over["ValidationErrors"][0]["Message"]
    assert len(sandbox.xero.payments()) == 1


def test_idempotency_key_replays_a_payment(xero: httpx.Client, sandbox: Sandbox) -> None:
    bill = posted_invoice(xero, sandbox, "P2C-4005")
    body = {"Payments": [payment(bill["InvoiceID"], 500.0)]}
    first = xero.put("Payments", json=body, headers={"Idempotency-Key": "pay-1"})
    again = xero.put("Payments", json=body, headers={"Idempotency-Key": "pay-1"})
    assert first.json() == again.json() and len(sandbox.xero.payments()) == 1
    due = xero.get(f"Invoices/{bill['InvoiceID']}").json()["Invoices"][0]["AmountDue"]
    assert due == 2526.0


def test_payments_are_listed_incrementally(
    xero: httpx.Client, sandbox: Sandbox, clock: FakeClock
) -> None:
    bill = posted_invoice(xero, sandbox, "P2C-4006")
    xero.put("Payments", json=payment(bill["InvoiceID"], 100.0))
    clock.advance(minutes=10)
    sandbox.xero.record_payment(
        sandbox.xero.tenant_id, bill["InvoiceID"], Decimal("200"), date(2025, 3, 11)
    )
    everything = checked(xero.get("Payments", params={"page": 1, "pageSize": 1})).json()
    assert everything["pagination"]["itemCount"] == 2 and len(everything["Payments"]) == 1
    recent = checked(
        xero.get("Payments", headers={"If-Modified-Since": "2025-03-12T12:05:00"})
    ).json()
    assert [p["Amount"] for p in recent["Payments"]] == [200.0]
    assert recent["Payments"][0]["Date"] == "/Date(1741651200000+0000)/"
    one = recent["Payments"][0]["PaymentID"]
    assert xero.get(f"Payments/{one}").json()["Payments"][0]["PaymentID"] == one


def test_history_payments_are_listed_with_their_invoices() -> None:
    with (
        Sandbox(7, size="small") as box,
        httpx.Client(transport=box.transports()["xero"], base_url=box.xero_base_url + "/") as c,
    ):
        c.headers["Authorization"] = f"Bearer {xero_token(c, box)}"
        found = []
        for tenant in box.xero.tenant_ids:
            c.headers["xero-tenant-id"] = tenant
            found += checked(c.get("Payments", params={"page": 1, "pageSize": 1000})).json()[
                "Payments"
            ]
    world = {p.amount for p in box.world.payments}
    assert len(found) == len(box.world.payments)
    assert {Decimal(str(p["Amount"])) for p in found} <= world
    assert all(p["Invoice"]["CurrencyCode"] for p in found)
