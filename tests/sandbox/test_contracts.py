"""Emulator traffic validated against the vendors' OpenAPI specs (shared/vendors/specs)."""

from __future__ import annotations

import httpx
import pytest
from openapi_core.exceptions import OpenAPIError

from sandbox.server import Sandbox
from tests.sandbox.contract import HARVEST_SPEC, XERO_SPEC, check_request, check_response
from tests.sandbox.xero_documents import invoice

pytestmark = pytest.mark.filterwarnings("ignore:Unsupported scheme type:UserWarning")
XERO_PREFIX = "/api.xro/2.0"


@pytest.mark.parametrize(
    "path", ["time_entries", "projects", "users", "clients", "user_assignments"]
)
def test_harvest_lists_match_the_spec(harvest: httpx.Client, path: str) -> None:
    check_response(HARVEST_SPEC, harvest.get(path, params={"per_page": 500}), "/v2")


def test_harvest_cursor_page_and_single_entry_match_the_spec(
    harvest: httpx.Client, sandbox: Sandbox
) -> None:
    first = harvest.get("projects", params={"per_page": 2})
    check_response(HARVEST_SPEC, harvest.get(first.json()["links"]["next"]), "/v2")
    for entry_id in sandbox.firm.faults:  # the odd ones: null assignments, phantom project
        check_response(HARVEST_SPEC, harvest.get(f"time_entries/{entry_id}"), "/v2")


def test_the_check_has_teeth(harvest: httpx.Client) -> None:
    response = harvest.get("time_entries", params={"per_page": 1})
    broken = response.content.replace(b'"hours":', b'"hours":"many","was":', 1)
    tampered = httpx.Response(
        200, headers=response.headers, content=broken, request=response.request
    )
    with pytest.raises(OpenAPIError):
        check_response(HARVEST_SPEC, tampered, "/v2")


def test_xero_invoice_writes_and_reads_match_the_spec(xero: httpx.Client, sandbox: Sandbox) -> None:
    created = xero.put(
        "Invoices",
        json={"Invoices": [invoice(sandbox, "P2C-9001")]},
        headers={"Idempotency-Key": "contract-1"},
    )
    check_request(XERO_SPEC, created.request, XERO_PREFIX)
    check_response(XERO_SPEC, created, XERO_PREFIX)
    check_response(XERO_SPEC, xero.get("Invoices", params={"page": 1}), XERO_PREFIX)
    invoice_id = created.json()["Invoices"][0]["InvoiceID"]
    check_response(XERO_SPEC, xero.get(f"Invoices/{invoice_id}"), XERO_PREFIX)
    check_response(XERO_SPEC, xero.get("Contacts", params={"page": 1}), XERO_PREFIX)


def test_xero_error_bodies_match_the_spec(xero: httpx.Client, sandbox: Sandbox) -> None:
    duplicate = {"Invoices": [invoice(sandbox, "P2C-9002")]}
    assert xero.put("Invoices", json=duplicate).status_code == 200
    refused = xero.put("Invoices", json=duplicate)
    assert refused.status_code == 400
    check_response(XERO_SPEC, refused, XERO_PREFIX)
    mixed = xero.post("Invoices", params={"summarizeErrors": "false"}, json=duplicate)
    check_response(XERO_SPEC, mixed, XERO_PREFIX)
