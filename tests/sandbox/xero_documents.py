"""Xero documents as the accounting API takes them, for the Xero emulator tests, and the spec
check every such test makes of its requests and replies."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from sandbox.server import Sandbox
from sandbox.vendors.xero_projection import contact_id
from tests.sandbox.contract import XERO_SPEC, check_request, check_response

PREFIX = "/api.xro/2.0"


def _line(description: str, quantity: float, unit_amount: float) -> dict[str, Any]:
    return {
        "Description": description,
        "Quantity": quantity,
        "UnitAmount": unit_amount,
        "AccountCode": "200",
    }


def _authorised(sandbox: Sandbox, fields: dict[str, Any]) -> dict[str, Any]:
    """``fields`` of an authorised, tax-free document to the world's first customer."""
    client = sandbox.world.customers[0]
    entity = sandbox.world.legal_entities[client.legal_entity_id - 1]
    return {
        "Contact": {"ContactID": contact_id(entity, client.id)},
        "CurrencyCode": client.currency,
        "LineAmountTypes": "NoTax",
        "Status": "AUTHORISED",
    } | fields


def invoice(sandbox: Sandbox, number: str, **overrides: Any) -> dict[str, Any]:
    """A sales invoice of 3,026.00 (12.25 h at 220 and 3 at 110.333)."""
    lines = [_line("Consulting, February", 12.25, 220.0), _line("Analysis, February", 3, 110.333)]
    fields = {"Type": "ACCREC", "InvoiceNumber": number, "Reference": "2025-02 services"}
    dates = {"Date": "2025-03-01", "DueDate": "2025-03-31"}
    return _authorised(sandbox, fields | dates | {"LineItems": lines}) | overrides


def credit_note(sandbox: Sandbox, number: str, **overrides: Any) -> dict[str, Any]:
    """A sales credit note of 220.00 (2 h at 110)."""
    fields = {"Type": "ACCRECCREDIT", "CreditNoteNumber": number, "Reference": "P2C-202502-ACME"}
    lines = [_line("Hours corrected", 2, 110.0)]
    return _authorised(sandbox, fields | {"Date": "2025-03-05", "LineItems": lines}) | overrides


def checked(response: httpx.Response, *, valid_request: bool = True) -> httpx.Response:
    """The response, once it (and the request that caused it, unless that was meant to be
    invalid) agrees with the spec."""
    if valid_request and response.request.content:
        check_request(XERO_SPEC, response.request, PREFIX)
    check_response(XERO_SPEC, response, PREFIX)
    return response


def posted_invoice(xero: httpx.Client, sandbox: Sandbox, number: str) -> dict[str, Any]:
    response = xero.put("Invoices", json={"Invoices": [invoice(sandbox, number)]})
    assert response.status_code == 200, response.text
    return dict(response.json()["Invoices"][0])


def put_unsummarized(
    xero: httpx.Client, collection: str, documents: list[dict[str, Any]]
) -> httpx.Response:
    """PUT ``documents`` to ``collection`` asking for an outcome per document; spec-checked."""
    body = {collection: documents}
    return checked(xero.put(collection, params={"summarizeErrors": "false"}, json=body))


def put_and_lose_the_reply(
    xero: httpx.Client, sandbox: Sandbox, collection: str, body: dict[str, Any], key: str
) -> None:
    """PUT ``body`` to ``collection`` under Idempotency-Key ``key`` with the emulator set to drop
    its reply: the request is served, the client sees the connection close."""
    sandbox.xero.lose_next_response()
    with pytest.raises(httpx.RemoteProtocolError):
        xero.put(collection, json=body, headers={"Idempotency-Key": key})
