"""OData calls against one F&O environment: every row of a filtered read across its pages, a
create sent once, and a bound action sent once.

Reads ask ``cross-company=true`` with a ``dataAreaId`` filter (without it F&O answers for the
caller's default company only) and a page size in ``Prefer: odata.maxpagesize`` [unconfirmed
that F&O honours it; it pages at most 10,000 rows either way and the page loop follows
``@odata.nextLink``]. Creates and actions are sent a single time: the protocol has no
idempotency key, so the caller looks before it sends again (``collectors.idempotency``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import httpx

from collectors.http import call_json
from collectors.paging import NextUrl
from collectors.streams import Stream, pages

Raw = dict[str, Any]
ACTIONS = "Microsoft.Dynamics.DataEntities."
NEXT_LINK = NextUrl("@odata.nextLink")


def stream(entity_set: str, key: str) -> Stream:
    return Stream(
        entity_set, f"/{entity_set}", "value", NEXT_LINK, key=key, cursor="SysModifiedDateTime"
    )


STREAMS = {
    "legal_entities": stream("LegalEntities", "LegalEntityId"),
    "customers": stream("CustomersV3", "CustomerAccount"),
    "headers": stream("FreeTextInvoiceHeaders", "InvoiceIdentifier"),
    # a line's key is composite; its row version tells one page of lines from the next
    "lines": stream("FreeTextInvoiceLines", "@odata.etag"),
    "transactions": stream("CustTransBiEntities", "SourceKey"),
}


def in_company(company: str, condition: str | None = None) -> dict[str, str]:
    """The parameters of a read across companies narrowed to ``company`` (and ``condition``)."""
    where = f"dataAreaId eq '{company}'" + (f" and {condition}" if condition else "")
    return {"cross-company": "true", "$filter": where}


def read_pages(
    client: httpx.Client, name: str, params: Mapping[str, str], page_size: int
) -> Iterator[list[Raw]]:
    headers = {"Prefer": f"odata.maxpagesize={page_size}"}
    return pages(client, STREAMS[name], params, headers=headers)


def rows(client: httpx.Client, name: str, params: Mapping[str, str], page_size: int) -> list[Raw]:
    """Every row the read returns, all pages."""
    return [row for page in read_pages(client, name, params, page_size) for row in page]


def create(client: httpx.Client, name: str, body: Raw) -> Raw:
    """``POST /data/<set>``, once; the created entity."""
    created: Raw = call_json(client, "POST", STREAMS[name].path.lstrip("/"), json=body, once=True)
    return created


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def act(client: httpx.Client, name: str, key: Mapping[str, str], action: str, body: Raw) -> Raw:
    """A bound action on one entity, once: ``POST /data/<set>(<key>)/<namespace>.<action>``."""
    path = STREAMS[name].path
    segment = ",".join(f"{field}={_literal(value)}" for field, value in key.items())
    route = f"{path}({{key}})/{action}"
    url = f"{path.lstrip('/')}({segment})/{ACTIONS}{action}"
    done: Raw = call_json(client, "POST", url, route=route, json=body, once=True)
    return done
