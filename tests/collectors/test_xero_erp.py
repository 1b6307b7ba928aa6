"""Xero as ``collectors.erp.Erp``: companies are its organisations (only the pinned one when
``tenant_id`` is set), customers its contacts, and the protocol's documents become Xero's bodies
on the configured sales account; purchase invoices and deleted payments are none of plan2cash's
business, and a payment names the Xero id of the invoice it pays."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from decimal import Decimal

import httpx
import orjson
import pytest

from collectors.erp import (
    Company,
    CreditNoteDocument,
    CustomerDocument,
    Erp,
    PostedCreditNote,
    PostedInvoice,
)
from collectors.http import RetryPolicy
from collectors.xero import XeroConnector, XeroSettings
from sandbox.server import Sandbox
from tests.collectors.records import erp_invoice

FAST = RetryPolicy(attempts=3, initial=0.001, maximum=0.01, jitter=0.0)
TODAY = date(2026, 11, 25)


@pytest.fixture
def box() -> Iterator[Sandbox]:
    with Sandbox(7, today=TODAY, entities=2) as sandbox:
        yield sandbox


def connector(box: Sandbox, **settings: str) -> XeroConnector:
    return XeroConnector(XeroSettings(**settings), transport=box.transports()["xero"], policy=FAST)


def test_xero_is_an_erp() -> None:
    xero = XeroConnector(XeroSettings(batch_size=80))
    assert isinstance(xero, Erp)
    assert (xero.name, xero.label, xero.max_batch) == ("xero", "Xero", 50)
    assert XeroConnector(XeroSettings(batch_size=2)).max_batch == 2


def test_companies_are_the_organisations_or_only_the_pinned_one(box: Sandbox) -> None:
    us, uk = box.world.legal_entities
    with connector(box).client() as client:
        every = connector(box).companies(client)
    with connector(box, tenant_id=uk.xero_tenant_id).client() as client:
        pinned = connector(box, tenant_id=uk.xero_tenant_id).companies(client)
    with connector(box, tenant_id="elsewhere").client() as client:
        unreachable = connector(box, tenant_id="elsewhere").companies(client)
    assert every == [Company(us.xero_tenant_id, us.name), Company(uk.xero_tenant_id, uk.name)]
    assert pinned == [Company(uk.xero_tenant_id, uk.name)]
    assert unreachable == [Company("elsewhere", "")]


def test_documents_become_xero_bodies_on_the_sales_account() -> None:
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/token"):
            return httpx.Response(200, json={"access_token": "t", "expires_in": 1800})
        sent.append(request)
        body = orjson.loads(request.content)
        kind = next(iter(body))
        return httpx.Response(
            200, json={kind: [{**d, f"{kind[:-1]}ID": "x-1"} for d in body[kind]]}
        )

    settings = XeroSettings(tenant_id="t-1", sales_account_code="4100")
    xero = XeroConnector(settings, transport=httpx.MockTransport(answer), policy=FAST)
    note = CreditNoteDocument(
        key="p2c-cn-1",
        number="CN-1",
        customer_ref="contact-1",
        invoice_number="INV-1",
        invoice_ref="x-1",
        issued=TODAY,
        currency="USD",
        lines=erp_invoice("INV-1", "contact-1").invoice.lines,
    )
    with xero.client() as client:
        (posted,) = xero.post_invoices(
            client, "t-1", [replace(erp_invoice("INV-1", "contact-1"), key="p2c-inv-1")]
        )
        (credited,) = xero.post_credit_notes(client, "t-1", [note])
    assert isinstance(posted, PostedInvoice) and isinstance(credited, PostedCreditNote)
    (sent_invoice,) = orjson.loads(sent[0].content)["Invoices"]
    (sent_note,) = orjson.loads(sent[1].content)["CreditNotes"]
    assert sent[0].headers["Idempotency-Key"] == "p2c-inv-1"
    assert sent[1].headers["Idempotency-Key"] == "p2c-cn-1"
    assert (sent_invoice["Type"], sent_invoice["InvoiceNumber"]) == ("ACCREC", "INV-1")
    assert sent_invoice["Contact"] == {"ContactID": "contact-1"}
    assert (sent_note["Type"], sent_note["Reference"]) == ("ACCRECCREDIT", "INV-1")
    assert {
        line["AccountCode"] for line in [*sent_invoice["LineItems"], *sent_note["LineItems"]]
    } == {"4100"}


def test_a_customer_is_created_once_per_key_then_found_by_name(box: Sandbox) -> None:
    xero = connector(box)
    tenant = box.world.legal_entities[0].xero_tenant_id
    document = CustomerDocument("p2c-contact-x", "cus_x", "Initech Holdings", "USD")
    with xero.client() as client:
        made = xero.create_customer(client, tenant, document)
        again = xero.create_customer(client, tenant, document)  # a retry of the same create
        found = xero.find_customer(client, tenant, "Initech Holdings")
        raws = [raw for page in xero.customer_pages(client, tenant) for raw in page]
    assert made == again == found
    assert [raw["Name"] for raw in raws].count("Initech Holdings") == 1
    customer = xero.to_customer(next(r for r in raws if r["ContactID"] == made))
    assert customer is not None and customer.source_id == made


def test_sales_invoices_and_live_payments_are_read_back(box: Sandbox) -> None:
    xero = connector(box)
    tenant = box.world.legal_entities[0].xero_tenant_id
    with xero.client() as client:
        who = xero.create_customer(client, tenant, CustomerDocument("k", "c", "Umbrella", "USD"))
        (posted,) = xero.post_invoices(client, tenant, [erp_invoice("R-1", who)])
        assert isinstance(posted, PostedInvoice)
        box.xero.record_payment(tenant, posted.invoice_id, Decimal("100"), TODAY)
        invoices = [raw for page in xero.invoice_pages(client, tenant, None) for raw in page]
        payments = [raw for page in xero.payment_pages(client, tenant, None) for raw in page]
    (raw,) = [r for r in invoices if r["InvoiceNumber"] == "R-1"]
    read = xero.to_invoice(raw)
    assert read is not None and (read.status, read.amount_due) == ("posted", Decimal("275.00"))
    assert xero.to_invoice({**raw, "Type": "ACCPAY"}) is None
    (paid,) = [p for r in payments for p in xero.to_payments(r)]
    assert (paid.invoice_id, paid.amount) == (posted.invoice_id, Decimal("100.00"))
    assert xero.to_payments({**payments[0], "Status": "DELETED"}) == []
