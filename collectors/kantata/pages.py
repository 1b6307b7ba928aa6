"""Kantata's normalised, ID-keyed pages.

A Kantata list answers ``{count, meta: {page_count, ...}, results: [{key, id}], <plural>:
{"<id>": {...}}, <side-loaded>: {...}}``. ``IdKeyed`` turns one body into the records of the
collection in ``results`` order, and keeps every ID-keyed collection of the body (the primary
one and whatever ``include`` side-loaded) for lookups while mapping. As the shared page loop's
parse hook (``IdKeyed.page``) it hands on the whole ``KantataPage``, side-loads included.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from collectors.errors import SchemaDriftError
from collectors.http import decode
from collectors.paging import PageTrail
from collectors.streams import Page

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

    def page(self, response: httpx.Response, *, vendor: str) -> Page[KantataPage]:
        """One response of a list, for the page loop (its parse hook)."""
        body = decode(response, vendor=vendor)
        page = self.extract(body, vendor=vendor)
        return Page(page, body, PageTrail.fingerprint(page.records, "id"))
