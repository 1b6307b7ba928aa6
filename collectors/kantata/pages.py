"""Kantata's normalised, ID-keyed pages, and the page loop that reads them.

A Kantata list answers ``{count, meta: {page_count, ...}, results: [{key, id}], <plural>:
{"<id>": {...}}, <side-loaded>: {...}}``. ``IdKeyed`` turns one body into the records of the
collection in ``results`` order, and keeps every ID-keyed collection of the body (the primary
one and whatever ``include`` side-loaded) for lookups while mapping.

The shared ``collectors.http.pages`` loop expects a list at ``body[stream.records]`` and hands
back only that list, which would drop the side-loads. Until it grows a hook for it, this module
runs the same loop on the same parts (``call_json`` with its retries, pacing and spans, the
``PageNumber`` paginator on ``meta.page_count``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from collectors.errors import SchemaDriftError
from collectors.http import DEFAULT_POLICY, RetryPolicy, Stream, call_json
from collectors.pacing import Pacer
from collectors.paging import MAX_PAGES, PageTrail

Raw = dict[str, Any]


@dataclass(frozen=True)
class KantataPage:
    """One page: the records of the stream, in order, and every ID-keyed collection sent."""

    records: list[Raw]
    collections: Mapping[str, Mapping[str, Raw]] = field(default_factory=dict)

    def lookup(self, collection: str, record_id: Any) -> Raw | None:
        """A record of ``collection`` by id, from the page or its side-loads."""
        if record_id is None:
            return None
        return self.collections.get(collection, {}).get(str(record_id))


@dataclass(frozen=True)
class IdKeyed:
    """Extracts the records of ``collection`` from a normalised Kantata body."""

    collection: str

    def extract(self, body: Any, *, vendor: str) -> KantataPage:
        if not isinstance(body, dict) or not isinstance(body.get("results"), list):
            raise SchemaDriftError(
                f"{vendor} {self.collection}: response has no 'results' list",
                vendor=vendor,
                details=sorted(body) if isinstance(body, dict) else type(body).__name__,
            )
        keyed = {k: v for k, v in body.items() if isinstance(v, dict) and k != "meta"}
        objects = keyed.get(self.collection, {})
        records: list[Raw] = []
        for ref in body["results"]:
            if not isinstance(ref, dict) or ref.get("key") != self.collection:
                continue
            record = objects.get(str(ref.get("id")))
            if not isinstance(record, dict):
                raise SchemaDriftError(
                    f"{vendor} {self.collection}: result {ref.get('id')!r} is not in the body",
                    vendor=vendor,
                    details=ref,
                )
            records.append(record)
        return KantataPage(records, keyed)


def id_keyed_pages(
    client: httpx.Client,
    stream: Stream,
    params: Mapping[str, str],
    *,
    vendor: str,
    policy: RetryPolicy = DEFAULT_POLICY,
    pacer: Pacer | None = None,
    max_pages: int = MAX_PAGES,
) -> Iterator[KantataPage]:
    """Every page of ``stream`` until ``meta.page_count``, one span per call; a loop that repeats
    itself or passes ``max_pages`` stops with ``PagingError`` (``PageTrail``)."""
    extractor = IdKeyed(stream.records)
    url = stream.path.lstrip("/")
    query = dict(params)
    trail = PageTrail(vendor, stream.name, max_pages)
    while True:
        response, body = call_json(
            client, "GET", url, vendor=vendor, route=stream.path, policy=policy, pacer=pacer,
            params=query,
        )  # fmt: skip
        page = extractor.extract(body, vendor=vendor)
        trail.arrived(response.request, PageTrail.fingerprint(page.records, stream.key))
        yield page
        following = stream.paginator.next_request(response.request, body)
        if following is None:
            return
        url, query = trail.follow(response.request, following)
