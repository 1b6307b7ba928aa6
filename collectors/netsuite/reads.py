"""Reading NetSuite: SuiteQL queries and record collections, both paged by ``limit``/``offset``.

A record collection lists only ids and links (erps.md §3.4), so each page is followed by one
``GET`` per record with ``expandSubResources=true`` (its sublists inline). A record gone between
the two reads (404) is left out. SuiteQL is a ``POST`` with ``Prefer: transient``; its queries
always carry a stable ``ORDER BY`` so that paging neither skips nor repeats rows.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import quote

import httpx

from collectors.errors import ConfigError
from collectors.http import call_json
from collectors.paging import Offset
from collectors.streams import Stream, pages

Raw = dict[str, Any]
RECORDS = "/record/v1"
SUITEQL = "/query/v1/suiteql"
MAX_PAGE = 1000
IN_LIST = 200  # values per SuiteQL ``IN (…)``, to keep a query short


def suiteql_stream(page_size: int) -> Stream:
    return Stream(
        "suiteql",
        SUITEQL,
        "items",
        Offset("items", limit=page_size, total="totalResults"),
        cursor=None,
        headers={"Prefer": "transient"},
        method="POST",
    )


def record_stream(record_type: str, page_size: int) -> Stream:
    return Stream(
        record_type,
        f"{RECORDS}/{record_type}",
        "items",
        Offset("items", limit=page_size, total="totalResults"),
        cursor="lastModifiedDate",
    )


def suiteql(client: httpx.Client, query: str, page_size: int = MAX_PAGE) -> list[Raw]:
    """Every row of ``query``."""
    stream = suiteql_stream(page_size)
    params = {"limit": str(page_size), "offset": "0"}
    return [row for page in pages(client, stream, params, json={"q": query}) for row in page]


def in_lists(values: Sequence[str]) -> Iterator[list[str]]:
    for start in range(0, len(values), IN_LIST):
        yield list(values[start : start + IN_LIST])


def record(client: httpx.Client, record_type: str, record_id: str) -> Raw | None:
    """One record with its sublists, or ``None`` when it no longer exists."""
    try:
        body = call_json(
            client,
            "GET",
            f"{RECORDS.lstrip('/')}/{record_type}/{quote(record_id, safe=':')}",
            route=f"{RECORDS}/{record_type}/{{id}}",
            params={"expandSubResources": "true"},
        )
    except ConfigError as missing:
        if missing.status == 404:
            return None
        raise
    return body if isinstance(body, dict) else None


def record_pages(
    client: httpx.Client, record_type: str, q: str, page_size: int
) -> Iterator[list[Raw]]:
    """The records of ``record_type`` that ``q`` selects, in full, page by page."""
    stream = record_stream(record_type, page_size)
    params = {"q": q, "limit": str(page_size), "offset": "0"}
    for page in pages(client, stream, params):
        full = (record(client, record_type, str(item["id"])) for item in page)
        yield [r for r in full if r is not None]
