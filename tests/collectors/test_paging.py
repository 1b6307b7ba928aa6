from __future__ import annotations

import httpx

from collectors.paging import Cursor, NextUrl, Offset, PageNumber, dig


def test_dig_follows_paths_and_tolerates_gaps() -> None:
    assert dig({"a": {"b": 1}}, "a.b") == 1
    assert dig({"a": None}, "a.b") is None


def test_next_url_follows_the_link_and_stops_on_null() -> None:
    request = httpx.Request("GET", "https://h.example/v2/time_entries?page=1&per_page=2")
    paginator = NextUrl("links.next")
    nxt = paginator.next_request(request, {"links": {"next": "https://h.example/v2/x?page=2"}})
    assert nxt == ("https://h.example/v2/x?page=2", {})
    assert paginator.next_request(request, {"links": {"next": None}}) is None


def test_next_url_resolves_relative_links() -> None:
    request = httpx.Request("GET", "https://sf.example/services/data/v60.0/query?q=x")
    nxt = NextUrl("nextRecordsUrl").next_request(
        request, {"nextRecordsUrl": "/services/data/v60.0/query/01g-2000"}
    )
    assert nxt == ("https://sf.example/services/data/v60.0/query/01g-2000", {})


def test_page_number_stops_at_the_page_count() -> None:
    paginator = PageNumber("Invoices")
    request = httpx.Request("GET", "https://x.example/Invoices?page=1&where=a")
    body = {"pagination": {"page": 1, "pageCount": 2}, "Invoices": [{}]}
    assert paginator.next_request(request, body) == (
        "https://x.example/Invoices",
        {"page": "2", "where": "a"},
    )
    last = httpx.Request("GET", "https://x.example/Invoices?page=2")
    assert paginator.next_request(last, {"pagination": {"pageCount": 2}, "Invoices": [{}]}) is None


def test_page_number_without_count_stops_on_a_short_page() -> None:
    paginator = PageNumber("items", page_count=None, page_size=2)
    request = httpx.Request("GET", "https://x.example/items?page=3")
    assert paginator.next_request(request, {"items": [{}, {}]}) == (
        "https://x.example/items",
        {"page": "4"},
    )
    assert paginator.next_request(request, {"items": [{}]}) is None


def test_offset_advances_by_what_arrived_and_stops_on_a_short_page() -> None:
    paginator = Offset("items", limit=2)
    first = httpx.Request("GET", "https://x.example/items?q=a")
    assert paginator.next_request(first, {"items": [{}, {}]}) == (
        "https://x.example/items",
        {"q": "a", "offset": "2", "limit": "2"},
    )
    later = httpx.Request("GET", "https://x.example/items?offset=4&limit=2")
    assert paginator.next_request(later, {"items": [{}]}) is None
    assert paginator.next_request(later, {"items": []}) is None


def test_offset_stops_at_the_reported_total() -> None:
    paginator = Offset("items", limit=2, total="total")
    request = httpx.Request("GET", "https://x.example/items?offset=2&limit=2")
    assert paginator.next_request(request, {"items": [{}, {}], "total": 4}) is None
    assert paginator.next_request(request, {"items": [{}, {}], "total": 5}) is not None


def test_offset_stops_when_the_vendor_says_there_is_no_more() -> None:
    paginator = Offset("items", limit=2, more="hasMore")
    request = httpx.Request("GET", "https://x.example/items?offset=2&limit=2")
    assert paginator.next_request(request, {"items": [{}, {}], "hasMore": False}) is None
    assert paginator.next_request(request, {"items": [{}, {}], "hasMore": True}) is not None


def test_cursor_sends_the_token_back_and_stops_without_one() -> None:
    paginator = Cursor("meta.nextCursor", param="page[after]")
    request = httpx.Request("GET", "https://b.example/employees?page[limit]=2")
    assert paginator.next_request(request, {"meta": {"nextCursor": "abc"}}) == (
        "https://b.example/employees",
        {"page[limit]": "2", "page[after]": "abc"},
    )
    assert paginator.next_request(request, {"meta": {"nextCursor": None}}) is None


def test_cursor_stops_when_the_vendor_repeats_the_token() -> None:
    request = httpx.Request("GET", "https://b.example/e?cursor=abc")
    assert Cursor("next").next_request(request, {"next": "abc"}) is None
