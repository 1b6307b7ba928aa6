from __future__ import annotations

import httpx

from collectors.paging import NextUrl, PageNumber, dig


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
