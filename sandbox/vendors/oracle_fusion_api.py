"""Fusion's REST resources over the books: collections, items, creates, updates, the credit memo
action and the ``parts[]`` batch.

Items are shown without their children unless ``expand`` names them (or ``all``); with
``onlyData=true`` they carry no ``links``. A collection is ordered by its key unless ``orderBy``
says otherwise. A create answers 201 with the item and its children, an update 200. A batch
(``POST`` on the version root, ``{"parts": [{id, path, operation, payload}]}``) is all-or-none
[confirmed]: when any part is refused nothing is applied and the 400 reply lists only the refused
parts, each with an ``exception`` in Fusion's error shape [the reply's exact shape is
unconfirmed]; ``get`` parts are not offered.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from sandbox.vendors import oracle_fusion_writes as writes
from sandbox.vendors.oracle_fusion_books import (
    CREDIT_MEMO_CHILDREN,
    INVOICE_CHILDREN,
    RECEIPT_CHILDREN,
    Books,
    Record,
)
from sandbox.vendors.oracle_fusion_query import (
    QueryError,
    collection,
    error,
    ordered,
    parse_finder,
    parse_q,
    refusal,
)
from sandbox.vendors.wire import FastJSON

API = "/fscmRestApi/resources/11.13.18.05"
CRM = "/crmRestApi/resources/11.13.18.05"
Create = Callable[[Books, Record, writes.Claims, bool], writes.Apply]
Update = Callable[[Books, Record, Record], writes.Apply]


@dataclass(frozen=True)
class Resource:
    """One REST resource: where it lives, its key, its children, finders and writes."""

    name: str
    root: str
    key: str
    items: Callable[[Books], Mapping[Any, Record]]
    children: tuple[str, ...] = ()
    finders: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    create: Create | None = None
    update: Update | None = None

    def find(self, books: Books, ident: str) -> Record | None:
        items = self.items(books)
        held = items.get(ident)
        if held is None and ident.isdigit():
            held = items.get(int(ident))
        return held


RESOURCES = {
    r.name: r
    for r in (
        Resource(
            "finBusinessUnitsLOV",
            API,
            "BusinessUnitId",
            lambda b: {u["BusinessUnitId"]: u for u in b.units.values()},
            finders={"KeywordFinder": ("SearchTerm",)},
        ),
        Resource(
            "receivablesInvoices",
            API,
            "CustomerTransactionId",
            lambda b: b.invoices,
            INVOICE_CHILDREN,
            {
                "invoiceSearch": (
                    "TransactionNumber",
                    "BusinessUnit",
                    "CrossReference",
                    "DocumentNumber",
                    "InvoiceStatus",
                    "BillToCustomerNumber",
                )
            },
            lambda b, p, c, upsert: writes.create_invoice(b, p, c, upsert=upsert),
            writes.update_invoice,
        ),
        Resource(
            "receivablesCreditMemos",
            API,
            "CustomerTransactionId",
            lambda b: b.credit_memos,
            CREDIT_MEMO_CHILDREN,
            {"creditMemoSearch": ("TransactionNumber", "BusinessUnit", "CrossReference")},
            lambda b, p, c, upsert: writes.create_credit_memo(b, p, c),
            writes.update_credit_memo,
        ),
        Resource(
            "standardReceipts",
            API,
            "StandardReceiptId",
            lambda b: b.receipts,
            RECEIPT_CHILDREN,
            {"ReceiptsFinder": ("ReceiptNumber", "BusinessUnit", "CustomerAccountNumber")},
        ),
        Resource(
            "accounts",
            CRM,
            "PartyNumber",
            lambda b: b.accounts,
            create=lambda b, p, c, upsert: writes.create_account(b, p),
        ),
    )
}


def render(
    record: Record, resource: Resource, href: str, *, expand: set[str], only_data: bool
) -> Record:
    """An item as the wire shows it: children when expanded, links unless ``onlyData``."""
    shown = {k: v for k, v in record.items() if k not in resource.children}
    for child in resource.children:
        if "all" in expand or child in expand:
            shown[child] = record[child]
    if not only_data:
        links = [{"rel": "self", "href": href, "name": resource.name, "kind": "item"}]
        links += [
            {"rel": "child", "href": f"{href}/child/{c}", "name": c, "kind": "collection"}
            for c in resource.children
        ]
        shown["links"] = links
    return shown


def expansions(query: Mapping[str, str]) -> set[str]:
    return {part.split(".")[0] for part in query.get("expand", "").split(",") if part}


def list_items(books: Books, resource: Resource, request: Request) -> Response:
    query = request.query_params
    try:
        found = list(resource.items(books).values())
        if query.get("finder"):
            found = [r for r in found if parse_finder(query["finder"], resource.finders)(r)]
        if query.get("q"):
            test = parse_q(query["q"])
            found = [r for r in found if test(r)]
        found = ordered(ordered(found, resource.key), query.get("orderBy"))
        base = str(request.url).split("?")[0]
        expand, only = expansions(query), query.get("onlyData", "").lower() == "true"
        body = collection(
            found,
            query,
            str(request.url),
            lambda r: render(
                r, resource, f"{base}/{r[resource.key]}", expand=expand, only_data=only
            ),
        )
    except QueryError as refused:
        return error(400, "Bad Request", str(refused))
    return FastJSON(body)


def get_item(books: Books, resource: Resource, request: Request, ident: str) -> Response:
    record = resource.find(books, ident)
    if record is None:
        return not_found(resource, ident)
    query = request.query_params
    expand, only = expansions(query), query.get("onlyData", "").lower() == "true"
    href = str(request.url).split("?")[0]
    return FastJSON(render(record, resource, href, expand=expand, only_data=only))


def not_found(resource: Resource, ident: str) -> Response:
    return error(404, "Not Found", f"The requested resource {resource.name}/{ident} doesn't exist.")


def refused(exc: writes.Refused) -> Response:
    return refusal(exc.status, exc.title, exc.found)


def body_of(raw: bytes) -> Record | None:
    try:
        parsed = orjson.loads(raw or b"null")
    except orjson.JSONDecodeError:
        return None
    return parsed if isinstance(parsed, dict) else None


@dataclass
class Part:
    """One part of a batch, checked: what it asked and what applying it will do."""

    ask: Record
    apply: writes.Apply | None = None
    failure: writes.Refused | None = None


def batch(books: Books, body: Record, upsert: bool) -> tuple[int, Record]:
    """Check every part, then apply all of them or none."""
    parts = body.get("parts")
    if not isinstance(parts, list) or not parts:
        return 400, _error_body("The batch request has no parts.")
    claims = writes.Claims()
    checked = [_check_part(books, part, claims, upsert) for part in parts]
    failed = [p for p in checked if p.failure is not None]
    if failed:
        return 400, {"parts": [_failed_part(p) for p in failed]}
    answered = []
    for part in checked:
        assert part.apply is not None
        _, record = part.apply()
        resource = RESOURCES[_path(part.ask)[0]]
        answered.append({**_echo(part.ask), "payload": _full(record, resource)})
    return 200, {"parts": answered}


def _check_part(books: Books, ask: Any, claims: writes.Claims, upsert: bool) -> Part:
    if not isinstance(ask, dict):
        return Part({}, failure=writes.invalid([("A batch part must be an object.", "parts")]))
    name, ident = _path(ask)
    resource = RESOURCES.get(name)
    operation, payload = ask.get("operation"), ask.get("payload")
    try:
        if resource is None or not isinstance(payload, dict):
            raise writes.invalid([(f"The part {ask.get('id')} can't be processed.", "path")])
        if operation == "create" and resource.create and not ident:
            return Part(ask, resource.create(books, payload, claims, upsert))
        if operation == "update" and resource.update and ident:
            record = resource.find(books, ident)
            if record is None:
                raise writes.Refused(404, "Not Found", [(f"{name}/{ident} doesn't exist.", "path")])
            return Part(ask, resource.update(books, record, payload))
        raise writes.invalid(
            [(f"The operation {operation} isn't enabled for batch execution.", "operation")]
        )
    except writes.Refused as exc:
        return Part(ask, failure=exc)


def _path(ask: Record) -> tuple[str, str]:
    parts = [p for p in str(ask.get("path") or "").split("/") if p]
    return (parts[0] if parts else ""), (parts[1] if len(parts) > 1 else "")


def _echo(ask: Record) -> Record:
    return {k: ask.get(k) for k in ("id", "path", "operation")}


def _full(record: Record, resource: Resource) -> Record:
    return render(record, resource, "", expand={"all"}, only_data=True)


def _failed_part(part: Part) -> Record:
    assert part.failure is not None
    failure = part.failure
    return {**_echo(part.ask), "exception": _error_body(*[d for d, _ in failure.found][:1],
                                                         status=failure.status,
                                                         found=failure.found)}  # fmt: skip


def _error_body(
    detail: str, *, status: int = 400, found: list[tuple[str, str]] | None = None
) -> Record:
    reasons = found or [(detail, "")]
    return {
        "title": "Bad Request" if status == 400 else "Not Found",
        "status": str(status),
        "detail": "; ".join(d for d, _ in reasons),
        "o:errorDetails": [{"detail": d, "o:errorPath": p} for d, p in reasons],
    }
