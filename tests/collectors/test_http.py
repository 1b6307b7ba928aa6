"""The shared call and page loop, against strict mock transports."""

from __future__ import annotations

import email.utils
import math
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from collectors.errors import AuthError, ConfigError, RecordError, RetryableError, SchemaDriftError
from collectors.http import RetryPolicy, call, call_json, decode, make_client
from collectors.pacing import Limit, Pacer
from collectors.paging import NextUrl
from collectors.streams import Stream, pages

FAST = RetryPolicy(attempts=3, initial=0.001, maximum=0.01, jitter=0.0)


def scripted(
    *replies: httpx.Response | Exception,
) -> tuple[httpx.MockTransport, list[httpx.Request]]:
    """A transport that answers with ``replies`` in order and fails on any extra call."""
    seen: list[httpx.Request] = []
    queue = list(replies)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if not queue:
            raise AssertionError(f"unexpected call {request.method} {request.url}")
        reply = queue.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return reply

    return httpx.MockTransport(handler), seen


def client(
    transport: httpx.MockTransport,
    vendor: str = "v",
    policy: RetryPolicy = FAST,
    pacer: Pacer | None = None,
) -> httpx.Client:
    return make_client(
        "https://api.example.com/v2", transport=transport, vendor=vendor, policy=policy, pacer=pacer
    )


def test_retry_after_is_honoured_then_the_call_recovers() -> None:
    transport, seen = scripted(
        httpx.Response(429, headers={"Retry-After": "0.2"}), httpx.Response(200, json={"ok": 1})
    )
    started = time.monotonic()
    response = call(client(transport), "GET", "things")
    assert response.json() == {"ok": 1}
    assert len(seen) == 2
    assert time.monotonic() - started >= 0.2


def test_transient_failures_are_bounded() -> None:
    transport, seen = scripted(*[httpx.Response(503)] * 3)
    with pytest.raises(RetryableError, match="503"):
        call(client(transport), "GET", "things")
    assert len(seen) == 3


def test_timeouts_and_resets_are_retried() -> None:
    transport, seen = scripted(
        httpx.ReadTimeout("slow"),
        httpx.RemoteProtocolError("reset"),
        httpx.Response(200, json={}),
    )
    call(client(transport), "GET", "things")
    assert len(seen) == 3


def test_auth_failures_are_not_retried() -> None:
    transport, seen = scripted(httpx.Response(401, json={"error": "invalid_token"}))
    with pytest.raises(AuthError, match="invalid_token"):
        call(client(transport), "GET", "things")
    assert len(seen) == 1


def test_a_long_retry_after_is_capped() -> None:
    policy = RetryPolicy(attempts=2, max_retry_after=0.01)
    transport, _ = scripted(
        httpx.Response(429, headers={"Retry-After": "3600"}), httpx.Response(200, json={})
    )
    started = time.monotonic()
    call(client(transport, policy=policy), "GET", "x")
    assert time.monotonic() - started < 1


def _pages_handler(total: int, per_page: int) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params.get("page", "1"))
        items = [{"id": i} for i in range((page - 1) * per_page, min(total, page * per_page))]
        following = (
            f"https://api.example.com/v2/items?page={page + 1}" if page * per_page < total else None
        )
        return httpx.Response(200, json={"items": items, "links": {"next": following}})

    return handler


def test_page_loop_follows_links_until_exhausted() -> None:
    transport = httpx.MockTransport(_pages_handler(total=5, per_page=2))
    stream = Stream("items", "/items", "items", NextUrl())
    got = list(pages(client(transport), stream, {"per_page": "2"}))
    assert [len(p) for p in got] == [2, 2, 1]
    assert [r["id"] for p in got for r in p] == [0, 1, 2, 3, 4]


def test_a_body_without_the_collection_is_schema_drift() -> None:
    transport, _ = scripted(httpx.Response(200, json={"time_entry_list": []}))
    stream = Stream("items", "/items", "items", NextUrl())
    with pytest.raises(SchemaDriftError, match="no list at 'items'"):
        list(pages(client(transport), stream, {}))


def test_invalid_json_is_retryable() -> None:
    transport, _ = scripted(*[httpx.Response(200, content=b'{"items": [')] * 3)
    stream = Stream("items", "/items", "items", NextUrl())
    with pytest.raises(RetryableError, match="not valid JSON"):
        list(pages(client(transport), stream, {}))


def test_retry_after_as_an_http_date_is_honoured() -> None:
    soon = email.utils.format_datetime(datetime.now(UTC) + timedelta(seconds=2), usegmt=True)
    transport, seen = scripted(
        httpx.Response(429, headers={"Retry-After": soon}), httpx.Response(200, json={})
    )
    started = time.monotonic()
    call(client(transport), "GET", "x")
    assert len(seen) == 2 and time.monotonic() - started >= 1.0


def test_503_with_retry_after_is_a_rate_limit_and_recovers() -> None:
    transport, seen = scripted(
        httpx.Response(503, headers={"Retry-After": "0"}), httpx.Response(200, json={})
    )
    call(client(transport, vendor="bamboohr"), "GET", "x")
    assert len(seen) == 2


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ConnectTimeout("connect"),
        httpx.ReadTimeout("hang"),
        httpx.ConnectError("refused"),
        httpx.ReadError("reset by peer"),
        httpx.RemoteProtocolError("peer closed connection without sending complete message body"),
    ],
)
def test_every_transport_failure_ends_in_a_bounded_classified_error(failure: Exception) -> None:
    transport, seen = scripted(*[failure] * FAST.attempts)
    with pytest.raises(RetryableError) as caught:
        call(client(transport, vendor="harvest"), "GET", "things?access_token=abc")
    assert len(seen) == FAST.attempts
    message = str(caught.value)
    assert message.startswith("harvest GET https://api.example.com/v2/things")
    assert type(failure).__name__ in message and "abc" not in message


def test_a_cut_body_is_retried_inside_the_page_loop_and_recovers() -> None:
    transport, seen = scripted(
        httpx.Response(200, content=b'{"items": [{"id": 1}, {"i'),
        httpx.Response(200, json={"items": [{"id": 1}], "links": {"next": None}}),
    )
    stream = Stream("items", "/items", "items", NextUrl())
    got = list(pages(client(transport), stream, {}))
    assert got == [[{"id": 1}]] and len(seen) == 2


def test_call_json_names_vendor_method_url_and_status_when_json_stays_invalid() -> None:
    transport, _ = scripted(*[httpx.Response(200, content=b"<html>")] * FAST.attempts)
    with pytest.raises(RetryableError, match=r"xero GET https://api\.example\.com/v2/x → 200"):
        call_json(client(transport, vendor="xero"), "GET", "x")


def test_a_4xx_names_the_vendor_text_and_is_not_retried() -> None:
    body = {"Elements": [{"ValidationErrors": [{"Message": "Contact missing"}]}]}
    transport, seen = scripted(httpx.Response(400, json=body))
    with pytest.raises(RecordError, match=r"xero PUT .* → 400: Contact missing") as caught:
        call(client(transport, vendor="xero"), "PUT", "Invoices")
    assert caught.value.body == body and len(seen) == 1


def test_an_unusable_scheme_is_a_config_error() -> None:
    transport, _ = scripted(httpx.UnsupportedProtocol("ftp"))
    with pytest.raises(ConfigError):
        call(client(transport), "GET", "x")


def test_spans_record_attempt_retry_wait_and_pacing_wait(spans: InMemorySpanExporter) -> None:
    transport, _ = scripted(
        httpx.Response(429, headers={"Retry-After": "0.05"}), httpx.Response(200, json={})
    )
    pacer = Pacer([Limit(100, 1.0)])
    call(client(transport, pacer=pacer), "GET", "x", route="/x")
    first, second = spans.get_finished_spans()
    assert first.attributes is not None and second.attributes is not None
    assert first.attributes["attempt"] == 1 and first.attributes["retry.wait_s"] == 0
    assert first.attributes["retry_after"] == 0.05
    assert second.attributes["attempt"] == 2 and second.attributes["retry.wait_s"] == 0.05
    assert "pacing.wait_s" in second.attributes
    assert pacer.admitted == 2


def test_a_retry_after_holds_the_pacer_for_every_thread() -> None:
    transport, _ = scripted(
        httpx.Response(429, headers={"Retry-After": "0.1"}), httpx.Response(200, json={})
    )
    pacer = Pacer([Limit(100, 1.0)])
    call(client(transport, pacer=pacer), "GET", "x")
    assert pacer._held_until > 0


def test_a_number_json_cannot_hold_is_read_not_taken_for_a_cut_body() -> None:
    request = httpx.Request("GET", "https://api.example.com/things")
    body = b'{"things": [{"id": 1, "rate": 1e400, "cap": NaN, "fee": -Infinity}]}'
    decoded = decode(httpx.Response(200, content=body, request=request), vendor="example")
    (thing,) = decoded["things"]
    assert thing["rate"] == math.inf and math.isnan(thing["cap"]) and thing["fee"] == -math.inf
    with pytest.raises(RetryableError, match="not valid JSON"):
        decode(httpx.Response(200, content=b'{"things": [{"id', request=request), vendor="x")
