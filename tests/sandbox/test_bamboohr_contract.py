"""Every BambooHR emulator response the connector uses, validated against BambooHR's OpenAPI spec
(``shared/vendors/specs/bamboohr_public.yaml``, loaded once per session by ``contract.load_spec``;
the tests skip when the spec is missing)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from openapi_core.exceptions import OpenAPIError

from collectors.bamboohr import connector as connector_fields
from sandbox.vendors.bamboohr import BambooHREmulator
from tests.sandbox.bamboohr_world import NOW, build_world, client_for
from tests.sandbox.contract import SpecRequest, SpecResponse, load_spec

SPEC = "bamboohr_public.yaml"
SERVER = "https://meridian.bamboohr.com"  # the spec's server with its companyDomain filled in
GATEWAY_PREFIX = "/api/gateway.php/meridian"
LIST_FIELDS = ",".join(connector_fields.LIST_FIELDS)  # exactly what the connector asks for
DETAIL_FIELDS = ",".join(connector_fields.DETAIL_FIELDS)

pytestmark = pytest.mark.filterwarnings("ignore:Unsupported scheme type:UserWarning")


def check(response: httpx.Response, server: str = SERVER, prefix: str = "") -> None:
    """Raise unless ``response`` matches the spec's operation for its request (the emulator's
    ``prefix`` is swapped for the path of ``server``)."""
    spec = load_spec(SPEC)
    spec.validate_response(SpecRequest(response.request, server, prefix), SpecResponse(response))


@pytest.fixture
def api() -> Iterator[httpx.Client]:
    emulator = BambooHREmulator(build_world(), now=lambda: NOW)
    with client_for(emulator) as client:
        yield client


@pytest.mark.parametrize(
    "path, params",
    [
        ("employees", {"page[limit]": 5, "fields": LIST_FIELDS}),
        ("employees", {"filter[ids]": "2,4", "fields": LIST_FIELDS}),
        ("employees", {"filter[status]": "inactive"}),
        ("employees/changed", {"since": "2026-02-20T00:00:00+00:00", "type": "all"}),
        ("employees/changed", {"since": "2030-01-01T00:00:00+00:00"}),
        ("employees/4", {"fields": DETAIL_FIELDS}),
        ("employees/3", {"fields": DETAIL_FIELDS}),
        ("employees/directory", {}),
        ("time_off/requests", {"start": "2026-01-01", "end": "2026-12-31"}),
        ("time_off/whos_out", {"start": "2026-01-01", "end": "2026-12-31"}),
        ("meta/fields", {}),
        ("employees", {"page[after]": "garbage"}),
    ],
)
def test_responses_match_the_spec(api: httpx.Client, path: str, params: dict[str, Any]) -> None:
    response = api.get(path, params=params)
    assert response.status_code in (200, 400), response.text
    check(response)


def test_every_cursor_page_matches_the_spec(api: httpx.Client) -> None:
    response = api.get("employees", params={"page[limit]": 4, "fields": LIST_FIELDS})
    pages = 1
    while "next" in response.json()["_links"]:
        check(response)
        response = api.get(response.json()["_links"]["next"]["href"])
        pages += 1
    check(response)
    assert pages == 3


def test_the_gateway_form_is_the_same_operation(api: httpx.Client) -> None:
    response = api.get(
        "http://127.0.0.1:8713/api/gateway.php/meridian/v1/employees", params={"page[limit]": 2}
    )
    assert response.status_code == 200
    check(response, f"{SERVER}/api", GATEWAY_PREFIX)  # /api/gateway.php/meridian/v1 → /api/v1


def test_the_check_has_teeth(api: httpx.Client) -> None:
    response = api.get("employees", params={"page[limit]": 1})
    broken = response.content.replace(b'"employeeId":"1"', b'"employeeId":1', 1)
    assert broken != response.content
    tampered = httpx.Response(
        200, headers=response.headers, content=broken, request=response.request
    )
    with pytest.raises(OpenAPIError):
        check(tampered)
