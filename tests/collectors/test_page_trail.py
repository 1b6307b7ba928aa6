"""Every read ends: a repeated next request, a repeated page or a read past its bound of pages
stops with ``PagingError`` — in the shared loop, whatever parse hook reads its pages (the default
JSON list, Harvest's time entry frames and windows, Kantata's ID-keyed pages)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import httpx
import orjson
import pytest

from collectors.errors import PagingError
from collectors.harvest import HarvestConnector, HarvestSettings
from collectors.http import RetryPolicy, make_client
from collectors.kantata import IdKeyed, KantataConnector, KantataSettings
from collectors.paging import NextUrl, PageTrail
from collectors.streams import Stream, pages

FAST = RetryPolicy(attempts=2, initial=0.001, maximum=0.01, jitter=0.0)
BASE = "http://127.0.0.1:8711/v2"
THINGS = Stream("things", "/things", "things", NextUrl("links.next"))


def serving(
    body: Callable[[httpx.Request], dict[str, Any]],
) -> tuple[httpx.MockTransport, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) > 50:
            raise AssertionError("the loop did not stop")
        return httpx.Response(200, content=orjson.dumps(body(request)))

    return httpx.MockTransport(handler), seen


def page_no(request: httpx.Request) -> int:
    return int(request.url.params.get("page", "1"))


def test_a_next_link_back_to_a_fetched_page_stops() -> None:
    def body(request: httpx.Request) -> dict[str, Any]:
        n = page_no(request)
        back = f"{BASE}/things?page={1 if n == 2 else 2}"  # page 2 links back to page 1
        return {"things": [{"id": n}], "links": {"next": back}}

    transport, seen = serving(body)
    client = make_client(BASE, transport=transport, vendor="acme", policy=FAST)
    read: list[list[dict[str, Any]]] = []
    with pytest.raises(PagingError, match="repeats one already made"):
        read.extend(pages(client, THINGS, {"page": "1"}))
    assert [p[0]["id"] for p in read] == [1, 2] and len(seen) == 2


def test_the_same_link_with_its_parameters_reordered_is_a_repeat() -> None:
    def body(request: httpx.Request) -> dict[str, Any]:
        return {"things": [{"id": page_no(request)}], "links": {"next": f"{BASE}/things?b=2&a=1"}}

    transport, seen = serving(body)
    client = make_client(BASE, transport=transport, vendor="acme", policy=FAST)
    with pytest.raises(PagingError, match="acme things"):
        list(pages(client, THINGS, {"a": "1", "b": "2"}))
    assert len(seen) == 1


def test_a_page_identical_to_the_one_before_stops_before_it_is_handed_on() -> None:
    def body(request: httpx.Request) -> dict[str, Any]:
        n = page_no(request)  # every link is new, every page the same
        return {"things": [{"id": 7}, {"id": 8}], "links": {"next": f"{BASE}/things?page={n + 1}"}}

    transport, seen = serving(body)
    client = make_client(BASE, transport=transport, vendor="acme", policy=FAST)
    read: list[list[dict[str, Any]]] = []
    with pytest.raises(PagingError, match="page 2 repeats page 1"):
        read.extend(pages(client, THINGS, {}))
    assert len(read) == 1 and len(seen) == 2


def test_the_shared_loop_stops_at_its_bound_without_sending_the_next_request() -> None:
    def body(request: httpx.Request) -> dict[str, Any]:
        n = page_no(request)
        return {"things": [{"id": n}], "links": {"next": f"{BASE}/things?page={n + 1}"}}

    transport, seen = serving(body)
    client = make_client(BASE, transport=transport, vendor="acme", policy=FAST)
    with pytest.raises(PagingError, match="more than 3 pages"):
        list(pages(client, THINGS, {}, max_pages=3))
    assert len(seen) == 3


def _harvest(body: Callable[[httpx.Request], dict[str, Any]]) -> tuple[HarvestConnector, list[Any]]:
    transport, seen = serving(body)
    connector = HarvestConnector(HarvestSettings(base_url=BASE), transport=transport, policy=FAST)
    return connector, seen


def _entries(request: httpx.Request, *, link_to: int | None) -> dict[str, Any]:
    n = page_no(request)
    following = f"{BASE}/time_entries?page={link_to}&per_page=2000" if link_to else None
    return {
        "time_entries": [{"id": n, "spent_date": "2026-11-02", "hours": 1.0}],
        "total_entries": 99,
        "links": {"next": following},
    }


def test_harvest_time_entry_pages_stop_on_a_repeated_link() -> None:
    connector, seen = _harvest(lambda r: _entries(r, link_to=1))  # every page links to page 1
    with connector.client() as client, pytest.raises(PagingError, match="time_entries"):
        list(connector.time_entry_pages(client))
    assert len(seen) == 2


def test_harvest_time_entry_pages_stop_on_a_repeated_page() -> None:
    def body(request: httpx.Request) -> dict[str, Any]:
        entry = {"id": 5, "spent_date": "2026-11-02", "hours": 1.0}
        n = page_no(request)
        return {"time_entries": [entry], "links": {"next": f"{BASE}/time_entries?page={n + 1}"}}

    connector, seen = _harvest(body)
    with connector.client() as client, pytest.raises(PagingError, match="repeats page 1"):
        list(connector.time_entry_pages(client))
    assert len(seen) == 2


def test_harvest_window_pages_loop_is_bounded_and_stops_on_a_repeat() -> None:
    day = date(2026, 11, 2)
    connector, seen = _harvest(lambda r: _entries(r, link_to=page_no(r) + 1))
    with connector.client() as client, pytest.raises(PagingError, match="more than 4 pages"):
        list(connector.window_pages(client, day, day, max_pages=4))
    assert len(seen) == 4
    connector, seen = _harvest(lambda r: _entries(r, link_to=2))  # page 2 links to itself
    with connector.client() as client, pytest.raises(PagingError, match="repeats one already"):
        list(connector.window_pages(client, day, day))
    assert len(seen) == 2


def test_kantata_pages_stop_when_the_page_count_never_ends() -> None:
    def body(request: httpx.Request) -> dict[str, Any]:
        n = page_no(request)
        return {
            "count": 10**6,
            "meta": {"page_count": 10**6},
            "results": [{"key": "workspaces", "id": str(n)}],
            "workspaces": {str(n): {"id": str(n)}},
        }

    transport, seen = serving(body)
    kantata = KantataConnector(KantataSettings(), transport=transport, policy=FAST)
    stream = kantata.streams["workspaces"]
    keyed = IdKeyed(stream.records)
    with kantata.client() as client, pytest.raises(PagingError, match="more than 5 pages"):
        list(
            pages(client, stream, {}, parse=lambda r: keyed.page(r, vendor="kantata"), max_pages=5)
        )
    assert len(seen) == 5


def test_empty_pages_never_count_as_repeats() -> None:
    trail = PageTrail("acme", "things")
    for n in (1, 2):
        trail.arrived(httpx.Request("GET", f"{BASE}/things?page={n}"), None)
    assert trail.pages == 2
