"""Posting to NetSuite at most once: an upsert by external id per document.

``PUT /record/v1/{type}/eid:<our key>`` creates the record when the account has none with that
external id and updates it otherwise (erps.md §3.8), so a retried or replayed post of the same
document (the same key, the same body) lands on the one record: a reply lost after NetSuite saved
the record is resent and changes nothing. NetSuite answers 204 with the record's URL in
``Location``, whose last segment is its internal id (erps.md §3.3) [unconfirmed that an upsert
answers as a create does]. Synchronous, so one request per document: the async batch of up to
100 needs job polling and NetSuite's idempotency key works only there. A refused document is a
``RecordError`` with NetSuite's ``o:errorDetails``; the others go on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import quote

import httpx

from collectors.errors import RecordError, SchemaDriftError
from collectors.http import call
from collectors.netsuite.mapping import VENDOR, suiteql_text
from collectors.netsuite.reads import RECORDS, in_lists, suiteql

T = TypeVar("T")
MAX_BATCH = 100  # the documents we post per call of post_invoices (NetSuite's async batch cap)
STATUS_COLUMNS = "id, tranid, status, foreigntotal, foreignamountremaining"


def upsert(client: httpx.Client, record_type: str, key: str, body: dict[str, Any]) -> str:
    """Create or update the record with external id ``key``; its internal id."""
    response = call(
        client,
        "PUT",
        f"{RECORDS.lstrip('/')}/{record_type}/eid:{quote(key, safe='')}",
        route=f"{RECORDS}/{record_type}/eid:{{key}}",
        json=body,
    )
    return location_id(response)


def location_id(response: httpx.Response) -> str:
    """The internal id at the end of a write's ``Location``."""
    location = response.headers.get("Location", "")
    record_id = location.rstrip("/").rsplit("/", 1)[-1]
    if not location or not record_id.isdigit():
        raise SchemaDriftError(
            f"netsuite {response.request.method} answered {response.status_code} without the "
            f"record's Location ({location!r}); whether it was saved is unknown",
            vendor=VENDOR,
        )
    return record_id


def transactions(
    client: httpx.Client, company: str, column: str, values: Sequence[str], *also: str
) -> list[dict[str, Any]]:
    """The status rows of the company's transactions whose ``column`` is one of ``values``
    and that meet the conditions ``also``."""
    rows: list[dict[str, Any]] = []
    for chunk in in_lists(list(values)):
        listed = ", ".join(suiteql_text(v) for v in chunk)
        conditions = [f"subsidiary = {suiteql_text(company)}", *also, f"{column} IN ({listed})"]
        rows += suiteql(
            client,
            f"SELECT {STATUS_COLUMNS} FROM transaction WHERE {' AND '.join(conditions)} "
            "ORDER BY id",
        )
    return rows


def post_documents(
    client: httpx.Client,
    company: str,
    record_type: str,
    documents: Sequence[tuple[str, str, dict[str, Any]]],
    read: Callable[[dict[str, Any]], T],
) -> list[T | RecordError]:
    """Upsert ``(key, number, body)`` documents in order; one outcome each: what NetSuite holds
    (``read`` from its SuiteQL status row), or why it refused or cannot be told."""
    saved: list[str | RecordError] = []
    for key, number, body in documents:
        try:
            saved.append(upsert(client, record_type, key, body))
        except RecordError as refused:
            saved.append(
                RecordError(
                    f"netsuite refused {number}: {refused.details or refused}",
                    vendor=VENDOR,
                    status=refused.status,
                    details=refused.details,
                    body=refused.body,
                )
            )
    ids = [s for s in saved if isinstance(s, str)]
    rows = transactions(client, company, "id", ids) if ids else []
    by_id = {str(row.get("id")): row for row in rows}
    return [
        s if isinstance(s, RecordError) else _outcome(number, by_id.get(s), read)
        for (_, number, _), s in zip(documents, saved, strict=True)
    ]


def _outcome(
    number: str, row: dict[str, Any] | None, read: Callable[[dict[str, Any]], T]
) -> T | RecordError:
    if row is None:
        return SchemaDriftError(
            f"netsuite saved {number} but does not list it; whether it holds it is unknown",
            vendor=VENDOR,
        )
    try:
        return read(row)
    except (KeyError, TypeError, ValueError, ArithmeticError, RecordError) as exc:
        return SchemaDriftError(
            f"netsuite status of {number} cannot be read: {exc!r}", vendor=VENDOR, details=row
        )
