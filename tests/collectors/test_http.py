"""The shared call and page loop, against strict mock transports."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest

from collectors.errors import AuthError, RetryableError, SchemaDriftError
from collectors.http import RetryPolicy, Stream, call, make_client, pages
from collectors.paging import NextUrl

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


def client(transport: httpx.MockTransport) -> httpx.Client:
    return make_client("https://api.example.com/v2", transport=transport)


def test_retry_after_is_honoured_then_the_call_recovers() -> None:
    transport, seen = scripted(
        httpx.Response(429, headers={"Retry-After": "0.2"}), httpx.Response(200, json={"ok": 1})
    )
    started = time.monotonic()
    response = call(client(transport), "GET", "things", vendor="v", policy=FAST)
    assert response.json() == {"ok": 1}
    assert len(seen) == 2
    assert time.monotonic() - started >= 0.2


def test_transient_failures_are_bounded() -> None:
    transport, seen = scripted(*[httpx.Response(503)] * 3)
    with pytest.raises(RetryableError, match="503"):
        call(client(transport), "GET", "things", vendor="v", policy=FAST)
    assert len(seen) == 3


def test_timeouts_and_resets_are_retried() -> None:
    transport, seen = scripted(
        httpx.ReadTimeout("slow"),
        httpx.RemoteProtocolError("reset"),
        httpx.Response(200, json={}),
    )
    call(client(transport), "GET", "things", vendor="v", policy=FAST)
    assert len(seen) == 3


def test_auth_failures_are_not_retried() -> None:
    transport, seen = scripted(httpx.Response(401, json={"error": "invalid_token"}))
    with pytest.raises(AuthError, match="invalid_token"):
        call(client(transport), "GET", "things", vendor="v", policy=FAST)
    assert len(seen) == 1


def test_a_long_retry_after_is_capped() -> None:
    policy = RetryPolicy(attempts=2, max_retry_after=0.01)
    transport, _ = scripted(
        httpx.Response(429, headers={"Retry-After": "3600"}), httpx.Response(200, json={})
    )
    started = time.monotonic()
    call(client(transport), "GET", "x", vendor="v", policy=policy)
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
    got = list(pages(client(transport), stream, {"per_page": "2"}, vendor="v", policy=FAST))
    assert [len(p) for p in got] == [2, 2, 1]
    assert [r["id"] for p in got for r in p] == [0, 1, 2, 3, 4]


def test_a_body_without_the_collection_is_schema_drift() -> None:
    transport, _ = scripted(httpx.Response(200, json={"time_entry_list": []}))
    stream = Stream("items", "/items", "items", NextUrl())
    with pytest.raises(SchemaDriftError, match="no list at 'items'"):
        list(pages(client(transport), stream, {}, vendor="v", policy=FAST))


def test_invalid_json_is_retryable() -> None:
    transport, _ = scripted(*[httpx.Response(200, content=b'{"items": [')] * 3)
    stream = Stream("items", "/items", "items", NextUrl())
    with pytest.raises(RetryableError, match="not valid JSON"):
        list(pages(client(transport), stream, {}, vendor="v", policy=FAST))
