"""Outbound hygiene: requests stay on the configured origins, response bodies have a cap."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import httpx
import orjson
import pytest

from collectors.errors import OffOriginError, ResponseTooLargeError
from collectors.harvest import HarvestConnector, HarvestSettings
from collectors.http import RetryPolicy, call, make_client
from collectors.outbound import origin
from collectors.paging import NextUrl
from collectors.salesforce import SalesforceConnector, SalesforceSettings
from collectors.streams import Stream, pages
from collectors.xero import XeroConnector, XeroSettings

FAST = RetryPolicy(attempts=3, initial=0.001, maximum=0.01, jitter=0.0)
THINGS = Stream("things", "/things", "things", NextUrl("links.next"))


def recording(
    answer: Callable[[httpx.Request], httpx.Response],
) -> tuple[httpx.MockTransport, list[httpx.Request]]:
    """A transport that answers with ``answer`` and keeps every request it was sent."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer(request)

    return httpx.MockTransport(handler), seen


def test_origins_compare_scheme_host_and_default_port() -> None:
    assert origin("https://API.example.com/v2") == origin("https://api.example.com:443/x")
    assert origin("http://api.example.com") != origin("https://api.example.com")
    assert origin("https://api.example.com:8443") != origin("https://api.example.com")


@pytest.mark.parametrize(
    "link",
    [
        "https://evil.example/v2/things?page=2",
        "http://api.example.com/v2/things?page=2",  # the same host, but plain HTTP
        "https://api.example.com:8443/v2/things?page=2",
        "//evil.example/v2/things?page=2",  # protocol-relative
    ],
)
def test_a_next_link_off_the_origin_is_refused_before_it_is_sent(link: str) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"things": [{"id": 1}], "links": {"next": link}})

    transport, seen = recording(answer)
    client = make_client(
        "https://api.example.com/v2", transport=transport, vendor="acme", policy=FAST
    )
    target = origin(httpx.URL("https://api.example.com/v2/things").join(link))
    with pytest.raises(OffOriginError, match=re.escape(target[1])) as refused:
        list(pages(client, THINGS, {}))
    assert "acme" in str(refused.value) and "configured origin" in str(refused.value)
    assert [origin(r.url) for r in seen] == [origin("https://api.example.com")]


def test_an_off_origin_url_given_to_call_is_refused_and_not_retried() -> None:
    transport, seen = recording(lambda request: httpx.Response(200, json={}))
    client = make_client(
        "https://api.example.com/v2", transport=transport, vendor="acme", policy=FAST
    )
    with pytest.raises(OffOriginError, match=r"evil\.example"):
        call(client, "GET", "https://evil.example/steal")
    assert seen == []


def test_a_harvest_next_link_to_another_host_is_refused_on_the_hot_path() -> None:
    body = {"time_entries": [], "links": {"next": "https://evil.example/v2/time_entries?page=2"}}
    transport, seen = recording(lambda request: httpx.Response(200, json=body))
    connector = HarvestConnector(HarvestSettings(), transport=transport, policy=FAST)
    with connector.client() as client, pytest.raises(OffOriginError, match=r"evil\.example"):
        list(connector.time_entry_pages(client))
    assert all(r.url.host == "127.0.0.1" for r in seen) and len(seen) == 1


def test_xero_reaches_its_identity_server_and_connections_but_nothing_else() -> None:
    settings = XeroSettings(
        base_url="https://api.xero.com/api.xro/2.0",
        token_url="https://identity.xero.com/connect/token",
        connections_url="https://api.xero.com/connections",
    )

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.host == "identity.xero.com":
            return httpx.Response(200, json={"access_token": "t", "expires_in": 1800})
        return httpx.Response(200, json=[{"tenantId": "T1", "tenantType": "ORGANISATION"}])

    transport, seen = recording(answer)
    connector = XeroConnector(settings, transport=transport, policy=FAST)
    with connector.client() as client:
        assert connector.tenant_id(client) == "T1"
        with pytest.raises(OffOriginError, match=r"evil\.example"):
            call(client, "GET", "https://evil.example/x")
    assert [r.url.host for r in seen] == ["identity.xero.com", "api.xero.com"]


def _salesforce(
    granted: str, **settings: object
) -> tuple[SalesforceConnector, list[httpx.Request]]:
    """A connector on acme's My Domain whose token responses name ``granted`` as the instance."""

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/services/oauth2/token":
            grant = {"access_token": "sf-token", "instance_url": granted}
            return httpx.Response(200, json=grant)
        return httpx.Response(200, json={"records": [], "done": True})

    transport, seen = recording(answer)
    config = SalesforceSettings(login_url="https://acme.my.salesforce.com", **settings)
    return SalesforceConnector(config, transport=transport, policy=FAST), seen


def test_a_salesforce_instance_url_elsewhere_is_refused_and_never_reached() -> None:
    connector, seen = _salesforce("https://evil.example")
    with pytest.raises(OffOriginError, match=r"evil\.example") as refused:
        connector.client()
    assert "instance_url" in str(refused.value)
    assert [r.url.host for r in seen] == ["acme.my.salesforce.com"]


def test_a_salesforce_instance_over_plain_http_is_refused() -> None:
    connector, _ = _salesforce("http://acme.my.salesforce.com")
    with pytest.raises(OffOriginError, match=r"http://acme\.my\.salesforce\.com"):
        connector.client()


@pytest.mark.parametrize(
    "instance, settings",
    [
        ("https://acme.my.salesforce.com", {}),  # what client credentials on My Domain answer
        ("https://na1.salesforce.com", {}),  # Salesforce's own domains
        ("https://crm.acme.example", {"instance_hosts": ("crm.acme.example",)}),
        ("https://ignored.example", {"instance_url": "https://acme.my.salesforce.com"}),
    ],
)
def test_a_salesforce_instance_on_an_allowed_origin_is_used(
    instance: str, settings: dict[str, object]
) -> None:
    connector, seen = _salesforce(instance, **settings)
    with connector.client() as client:
        list(connector.pages(client, "accounts"))
        api = str(client.base_url)
    assert seen[-1].url.host == httpx.URL(api).host
    assert "ignored" not in api


def big(size: int, *, declared: bool) -> tuple[httpx.Response, _Chunks | None]:
    """A JSON body of about ``size`` bytes, with a ``Content-Length`` or sent in chunks."""
    body = orjson.dumps({"things": [{"id": 1, "pad": "x" * size}]})
    if declared:
        return httpx.Response(200, content=body), None
    chunks = _Chunks(body[start : start + 1024] for start in range(0, len(body), 1024))
    return httpx.Response(200, stream=chunks), chunks


class _Chunks(httpx.SyncByteStream):
    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self.read = 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._chunks:
            self.read += len(chunk)
            yield chunk


@pytest.mark.parametrize("declared", [True, False])
def test_a_response_over_the_cap_is_refused(declared: bool) -> None:
    reply, chunks = big(20_000, declared=declared)
    transport, seen = recording(lambda request: reply)
    client = make_client(
        "https://api.example.com",
        transport=transport,
        vendor="acme",
        policy=FAST,
        max_response_bytes=8_000,
    )
    with pytest.raises(ResponseTooLargeError, match="max_response_bytes") as refused:
        list(pages(client, THINGS, {}))
    assert "acme GET https://api.example.com/things" in str(refused.value)
    assert len(seen) == 1  # not retried: the body would not shrink
    if chunks is not None:  # read up to the cap, not to the end
        assert chunks.read < 10_000


def test_a_response_under_the_cap_reads_whole() -> None:
    transport, _ = recording(lambda request: big(5_000, declared=False)[0])
    client = make_client("https://api.example.com", transport=transport, max_response_bytes=8_000)
    [page] = list(pages(client, THINGS, {}))
    assert len(page[0]["pad"]) == 5_000


def test_a_connector_reads_its_cap_from_its_settings() -> None:
    reply = orjson.dumps({"time_entries": [{"id": 1, "notes": "x" * 4_000}], "links": {}})
    transport, _ = recording(lambda request: httpx.Response(200, content=reply))
    settings = HarvestSettings(max_response_bytes=2_000)
    connector = HarvestConnector(settings, transport=transport, policy=FAST)
    with connector.client() as client, pytest.raises(ResponseTooLargeError, match="2,000"):
        list(connector.time_entry_pages(client))
