"""What the Xero connector sends validates against Xero's own OpenAPI spec (openapi-core).

The requests are captured from the connector itself (a strict mock transport answers them), so
the check covers ``invoice_body`` and the batch envelope, query and headers exactly as sent.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx
import orjson
import pytest
from openapi_core.validation.request.exceptions import InvalidRequestBody

from collectors.entities import Invoice, InvoiceLine
from collectors.erp import CreditApplication, CustomerDocument
from collectors.http import RetryPolicy
from collectors.xero import XeroConnector, XeroSettings, credit_note_body, invoice_body
from tests.sandbox.contract import XERO_SPEC, check_request

PREFIX = "/api.xro/2.0"
# openapi-core cannot check OAuth2 security schemes (our auth is tested in test_auth.py)
pytestmark = pytest.mark.filterwarnings("ignore:Unsupported scheme type:UserWarning")
FAST = RetryPolicy(attempts=1)
CONTACT = "5b96e86b-418e-48e8-8949-308c14aec278"  # the spec wants a UUID, as Xero issues


def capture() -> tuple[XeroConnector, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/token"):
            return httpx.Response(200, json={"access_token": "t", "expires_in": 1800})
        seen.append(request)
        if request.method == "GET":
            return httpx.Response(200, json={"CreditNotes": [], "Invoices": [], "Contacts": []})
        sent: Any = orjson.loads(request.content) if request.content else {}
        collection = next(iter(sent), "Invoices")
        echoed = [{**d, f"{collection[:-1]}ID": f"id-{i}"} for i, d in enumerate(sent[collection])]
        return httpx.Response(200, json={collection: echoed})

    settings = XeroSettings(
        base_url="https://api.xero.com/api.xro/2.0",
        token_url="https://identity.xero.com/connect/token",
        tenant_id="0f1a2b3c-0000-4000-8000-000000000001",
    )
    return XeroConnector(settings, transport=httpx.MockTransport(answer), policy=FAST), seen


def invoice(number: str) -> Invoice:
    line = InvoiceLine(
        description="Professional services — Ada Lovelace, 7.5 h",
        quantity=Decimal("7.5"),
        unit_amount=Decimal("180.0000"),
        amount=Decimal("1350.00"),
    )
    return Invoice(
        id=f"inv_{number}",
        number=number,
        source="plan2cash",
        source_id=number,
        updated_at=datetime(2026, 11, 1, tzinfo=UTC),
        customer_id="cus_1",
        contract_id="con_1",
        currency="USD",
        period_start=date(2026, 10, 1),
        period_end=date(2026, 10, 31),
        issue_date=date(2026, 11, 1),
        due_date=date(2026, 12, 1),
        lines=(line,),
        total=Decimal("1350.00"),
    )


def test_a_batch_of_invoices_we_put_validates_against_xeros_spec() -> None:
    connector, seen = capture()
    bodies = [
        (f"p2c-{n}", invoice_body(invoice(n), contact_id=CONTACT, account_code="200"))
        for n in ("P2C-202610-ACME-01", "P2C-202610-BETA-01")
    ]
    with connector.client() as client:
        connector.put_invoices(client, connector.tenant_id(client), bodies)
    (put,) = seen
    assert put.method == "PUT" and len(orjson.loads(put.content)["Invoices"]) == 2
    check_request(XERO_SPEC, put, PREFIX)


def test_a_credit_note_we_put_validates_against_xeros_spec() -> None:
    connector, seen = capture()
    body = credit_note_body(
        number="P2C-CN-0001",
        contact_id=CONTACT,
        issued=date(2026, 11, 25),
        currency="USD",
        lines=invoice("X").lines,
        account_code="200",
        reference="P2C-202610-ACME-01",
    )
    with connector.client() as client:
        connector.put_credit_notes(client, connector.tenant_id(client), [("p2c-cn-1", body)])
    check_request(XERO_SPEC, seen[0], PREFIX)


def test_a_credit_note_allocation_we_put_validates_against_xeros_spec() -> None:
    connector, seen = capture()
    with connector.client() as client:
        connector.apply_credit_note(
            client,
            connector.tenant_id(client),
            CreditApplication(
                "p2c-cn-1-allocation",
                "7be578f5-63af-45c8-9b00-dcc4732baf0b",
                "c45720a1-ade3-4a38-a064-d15489be6841",
                Decimal("270.00"),
                date(2026, 11, 25),
            ),
        )
    (put,) = seen
    assert put.url.path.endswith("/Allocations") and put.headers["Idempotency-Key"]
    check_request(XERO_SPEC, put, PREFIX)


def test_a_credit_note_look_up_validates_against_xeros_spec() -> None:
    connector, seen = capture()
    with connector.client() as client:
        assert connector.find_credit_notes(client, "t-1", ['CN-P2C-"1"']) == {}
    (get,) = seen
    assert get.url.params["where"] == 'CreditNoteNumber=="CN-P2C-\\"1\\""'
    check_request(XERO_SPEC, get, PREFIX)


def test_a_contact_we_create_validates_against_xeros_spec() -> None:
    connector, seen = capture()
    with connector.client() as client:
        connector.create_customer(
            client, "t-1", CustomerDocument("p2c-contact-1", "cus_1", "Acme", "USD")
        )
    check_request(XERO_SPEC, seen[0], PREFIX)


def test_the_check_has_teeth() -> None:
    connector, seen = capture()
    bad = invoice_body(invoice("N-1"), contact_id="not-a-uuid", account_code="200")
    with connector.client() as client:
        connector.put_invoices(client, "t-1", [("k", bad)])
    with pytest.raises(InvalidRequestBody, match="uuid"):
        check_request(XERO_SPEC, seen[0], PREFIX)
