"""The Xero emulator's credit notes: create and update, batch errors, idempotent replay,
allocations to invoices, incremental reads; requests and replies checked against the spec."""

from __future__ import annotations

import httpx
import pytest

from sandbox.server import Sandbox
from tests.sandbox.clock import FakeClock
from tests.sandbox.conftest import xero_token
from tests.sandbox.xero_documents import (
    checked,
    credit_note,
    posted_invoice,
    put_and_lose_the_reply,
    put_unsummarized,
)

pytestmark = pytest.mark.filterwarnings("ignore:Unsupported scheme type:UserWarning")


def test_put_creates_a_credit_note_with_computed_totals(
    xero: httpx.Client, sandbox: Sandbox
) -> None:
    response = checked(
        xero.put(
            "CreditNotes",
            json={"CreditNotes": [credit_note(sandbox, "CN-P2C-1")]},
            headers={"Idempotency-Key": "cn-1"},
        )
    )
    assert response.status_code == 200, response.text
    [note] = response.json()["CreditNotes"]
    assert note["Type"] == "ACCRECCREDIT" and note["Status"] == "AUTHORISED"
    assert note["Total"] == note["SubTotal"] == note["RemainingCredit"] == 220.0
    assert note["CreditNoteNumber"] == "CN-P2C-1" and note["Allocations"] == []
    assert note["Date"] == "/Date(1741132800000+0000)/"
    assert note["UpdatedDateUTC"].startswith("/Date(") and note["Contact"]["Name"]
    assert [n["CreditNoteID"] for n in sandbox.xero.credit_notes()] == [note["CreditNoteID"]]


def test_a_number_is_issued_when_none_is_sent(xero: httpx.Client, sandbox: Sandbox) -> None:
    body = credit_note(sandbox, "")
    del body["CreditNoteNumber"]
    created = xero.post("CreditNotes", json=body).json()["CreditNotes"][0]
    assert created["CreditNoteNumber"] == "CN-0001"


def test_summarized_errors_refuse_the_batch(xero: httpx.Client, sandbox: Sandbox) -> None:
    bad = credit_note(sandbox, "CN-BAD", LineItems=[], Type="ACCREC")
    refused = checked(
        xero.put("CreditNotes", json={"CreditNotes": [credit_note(sandbox, "CN-OK"), bad]}),
        valid_request=False,
    )
    assert refused.status_code == 400
    error = refused.json()
    assert error["Type"] == "ValidationException" and error["ErrorNumber"] == 10
    messages = [m["Message"] for m in error["Elements"][0]["ValidationErrors"]]
    assert any("line item" in m for m in messages) and any(
        "credit note type" in m for m in messages
    )
    assert sandbox.xero.credit_notes() == []


def test_unsummarized_errors_come_back_per_credit_note(
    xero: httpx.Client, sandbox: Sandbox
) -> None:
    ghost = "9" * 8 + "-0000-4000-8000-" + "0" * 12
    response = put_unsummarized(
        xero,
        "CreditNotes",
        [
            credit_note(sandbox, "CN-A"),
            credit_note(sandbox, "CN-A"),
            credit_note(sandbox, "CN-B", Contact={"ContactID": ghost}),
        ],
    )
    assert response.status_code == 200
    ok, duplicate, stranger = response.json()["CreditNotes"]
    assert ok["StatusAttributeString"] == "OK" and "ValidationErrors" not in ok
    assert duplicate["ValidationErrors"] == [{"Message": "Credit Note # must be unique."}]
    assert stranger["HasErrors"] is True and "could not be found" in str(stranger)
    assert [n["CreditNoteNumber"] for n in sandbox.xero.credit_notes()] == ["CN-A"]


def test_idempotency_key_replays_and_a_lost_reply_is_safe(
    xero: httpx.Client, sandbox: Sandbox
) -> None:
    body = {"CreditNotes": [credit_note(sandbox, "CN-R")]}
    put_and_lose_the_reply(xero, sandbox, "CreditNotes", body, "cn-r")
    again = xero.put("CreditNotes", json=body, headers={"Idempotency-Key": "cn-r"})
    twice = xero.put("CreditNotes", json=body, headers={"Idempotency-Key": "cn-r"})
    assert again.status_code == 200 and again.json() == twice.json()
    [stored] = sandbox.xero.credit_notes()
    assert again.json()["CreditNotes"][0]["CreditNoteID"] == stored["CreditNoteID"]


def test_post_updates_and_put_does_not(xero: httpx.Client, sandbox: Sandbox) -> None:
    draft = xero.post("CreditNotes", json=credit_note(sandbox, "CN-D", Status="DRAFT"))
    note = draft.json()["CreditNotes"][0]
    assert note["Status"] == "DRAFT"
    change = {"CreditNoteID": note["CreditNoteID"], "Status": "AUTHORISED"}
    assert xero.put("CreditNotes", json=change).status_code == 400
    updated = checked(xero.post(f"CreditNotes/{note['CreditNoteID']}", json=change))
    assert updated.json()["CreditNotes"][0]["Status"] == "AUTHORISED"
    back = xero.post("CreditNotes", json={**change, "Status": "DRAFT"})
    assert back.status_code == 400 and "not of valid status" in back.text
    assert len(sandbox.xero.credit_notes()) == 1


def test_an_allocation_credits_the_invoice(xero: httpx.Client, sandbox: Sandbox) -> None:
    bill = posted_invoice(xero, sandbox, "P2C-3001")  # 3,026.00 due
    note = xero.put("CreditNotes", json=credit_note(sandbox, "CN-X")).json()["CreditNotes"][0]
    path = f"CreditNotes/{note['CreditNoteID']}/Allocations"
    allocation = {
        "Invoice": {"InvoiceID": bill["InvoiceID"]},
        "Amount": 120.0,
        "Date": "2025-03-06",
    }
    response = checked(xero.put(path, json={"Allocations": [allocation]}))
    assert response.status_code == 200, response.text
    [made] = response.json()["Allocations"]
    assert made["Amount"] == 120.0 and made["Invoice"]["InvoiceID"] == bill["InvoiceID"]
    after = xero.get(f"Invoices/{bill['InvoiceID']}").json()["Invoices"][0]
    assert after["AmountDue"] == 2906.0 and after["AmountCredited"] == 120.0
    assert after["CreditNotes"][0]["CreditNoteID"] == note["CreditNoteID"]
    left = xero.get(f"CreditNotes/{note['CreditNoteID']}").json()["CreditNotes"][0]
    assert left["RemainingCredit"] == 100.0 and left["Status"] == "AUTHORISED"
    too_much = checked(xero.put(path, json={**allocation, "Amount": 150.0}))
    assert too_much.status_code == 400 and "remaining credit" in too_much.text
    rest = xero.put(path, json={**allocation, "Amount": 100.0})
    assert rest.status_code == 200
    spent = xero.get(f"CreditNotes/{note['CreditNoteID']}").json()["CreditNotes"][0]
    assert spent["Status"] == "PAID" and spent["RemainingCredit"] == 0
    unknown = xero.put(
        "CreditNotes/00000000-0000-4000-8000-000000000000/Allocations", json=allocation
    )
    assert unknown.status_code == 404


def test_a_credit_note_can_settle_an_invoice_as_it_is_created(
    xero: httpx.Client, sandbox: Sandbox
) -> None:
    bill = posted_invoice(xero, sandbox, "P2C-3002")
    line = {"Description": "Write-off", "Quantity": 1, "UnitAmount": 3026.0, "AccountCode": "200"}
    body = credit_note(
        sandbox,
        "CN-FULL",
        LineItems=[line],
        Allocations=[
            {"Invoice": {"InvoiceID": bill["InvoiceID"]}, "Amount": 3026.0, "Date": "2025-03-07"}
        ],
    )
    note = checked(xero.put("CreditNotes", json={"CreditNotes": [body]})).json()["CreditNotes"][0]
    assert note["Status"] == "PAID" and note["RemainingCredit"] == 0
    settled = xero.get(f"Invoices/{bill['InvoiceID']}").json()["Invoices"][0]
    assert settled["Status"] == "PAID" and settled["AmountDue"] == 0
    assert settled["AmountCredited"] == 3026.0
    wrong = credit_note(sandbox, "CN-WRONG", Allocations=[{"Invoice": {"InvoiceID": "nope"}}])
    refused = xero.put("CreditNotes", json=wrong)
    assert refused.status_code == 400 and "Invoice could not be found" in refused.text


def test_reads_page_and_follow_if_modified_since(
    xero: httpx.Client, sandbox: Sandbox, clock: FakeClock
) -> None:
    for n in range(3):
        xero.put("CreditNotes", json=credit_note(sandbox, f"CN-P{n}"))
    clock.advance(minutes=10)
    xero.put("CreditNotes", json=credit_note(sandbox, "CN-LATE"))
    first = checked(xero.get("CreditNotes", params={"page": 1, "pageSize": 3}))
    assert first.json()["pagination"] == {"page": 1, "pageSize": 3, "pageCount": 2, "itemCount": 4}
    recent = checked(xero.get("CreditNotes", headers={"If-Modified-Since": "2025-03-12T12:05:00"}))
    assert [n["CreditNoteNumber"] for n in recent.json()["CreditNotes"]] == ["CN-LATE"]
    assert xero.get("CreditNotes", params={"page": "x"}).status_code == 400


def test_history_credit_notes_are_listed_settled() -> None:
    with (
        Sandbox(7, size="small") as box,
        httpx.Client(
            transport=box.transports()["xero"], base_url=box.xero_base_url + "/"
        ) as client,
    ):
        client.headers["Authorization"] = f"Bearer {xero_token(client, box)}"
        notes = []
        for tenant in box.xero.tenant_ids:
            client.headers["xero-tenant-id"] = tenant
            page = checked(client.get("CreditNotes", params={"page": 1}))
            notes += page.json()["CreditNotes"]
    assert len(notes) == len(box.world.credit_notes)
    assert all(n["Status"] == "PAID" and n["RemainingCredit"] == 0 for n in notes)
    assert all(n["Allocations"][0]["Amount"] == n["Total"] for n in notes)
