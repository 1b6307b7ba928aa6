"""The OData service root (``/data``) of the emulated environment: entity sets, single entities
by composite key, creates, and the two bound actions the sandbox offers.

Entity sets: ``LegalEntities`` (not per company), ``CustomersV3``, ``FreeTextInvoiceHeaders``,
``FreeTextInvoiceLines`` (read and create) and ``CustTransBiEntities`` (read only). A read sees
the default company (the first) unless it says ``cross-company=true``; a create names its company
in ``dataAreaId`` (the default company when absent). A create answers 201 with the entity.

Posting a free text invoice has no documented OData operation [unconfirmed: deployments add a
custom service or action, or post in a batch job]; the sandbox offers the bound action
``FreeTextInvoiceHeaders(<key>)/Microsoft.Dynamics.DataEntities.PostInvoice``. Settling a credit
note against an invoice likewise [unconfirmed]:
``FreeTextInvoiceHeaders(<key>)/Microsoft.Dynamics.DataEntities.SettleWithInvoice`` with
``{InvoiceId, Amount, SettlementDate}``. Both answer 200 with the header as it now stands.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson
from starlette.requests import Request

from sandbox.vendors.dynamics365_books import Books, Record, money
from sandbox.vendors.dynamics365_odata import (
    ODataError,
    key_of,
    page,
    parse_query,
    write_failed,
)

ACTIONS = "Microsoft.Dynamics.DataEntities."
_PATH = re.compile(r"^(?P<set>\w+)(?:\((?P<key>[^)]*)\))?(?:/(?P<action>[\w.]+))?$")


@dataclass(frozen=True)
class EntitySet:
    """A public collection: its key fields, its rows in one company, how one is created."""

    keys: tuple[str, ...]
    rows: Callable[[Books], list[Record]]
    create: Callable[[Books, Record], Record] | None = None


SETS: dict[str, EntitySet] = {
    "CustomersV3": EntitySet(
        ("dataAreaId", "CustomerAccount"),
        lambda b: list(b.customers.values()),
        Books.create_customer,
    ),
    "FreeTextInvoiceHeaders": EntitySet(
        ("dataAreaId", "InvoiceIdentifier"),
        lambda b: list(b.headers.values()),
        Books.create_header,
    ),
    "FreeTextInvoiceLines": EntitySet(
        ("dataAreaId", "InvoiceIdentifier", "LineNumber"),
        lambda b: [line for lines in b.lines.values() for line in lines],
        Books.create_line,
    ),
    "CustTransBiEntities": EntitySet(("dataAreaId", "SourceKey"), lambda b: list(b.transactions)),
}


class Service:
    """Reads and writes against the companies' books (``books``: by ``dataAreaId``, the
    default company first)."""

    def __init__(self, books: dict[str, Books], root: str) -> None:
        self.books = books
        self.root = root

    def _books(self, company: str) -> Books:
        if company not in self.books:
            raise ODataError(400, f"Company '{company}' does not exist.")
        return self.books[company]

    def _default(self) -> Books:
        return next(iter(self.books.values()))

    def route(self, request: Request) -> tuple[str, str | None, str | None]:
        match = _PATH.match(request.path_params["path"])
        if match is None or (match["set"] not in SETS and match["set"] != "LegalEntities"):
            raise ODataError(
                404, f"Resource not found for the segment '{request.path_params['path']}'."
            )
        return match["set"], match["key"], match["action"]

    def read(self, request: Request) -> Record:
        name, key, action = self.route(request)
        if action:
            raise ODataError(405, f"The action '{action}' must be invoked with POST.")
        url = f"{str(request.base_url).rstrip('/')}{self.root}/{name}"
        params = dict(request.query_params)
        context = f"{str(request.base_url).rstrip('/')}{self.root}/$metadata#{name}"
        if name == "LegalEntities":
            query = parse_query(params, request.headers.get("prefer", ""))
            return page(url, params, query, self._legal_entities(), context)
        if key is not None:
            return {"@odata.context": f"{context}/$entity", **self._one(name, key)}
        query = parse_query(params, request.headers.get("prefer", ""))
        chosen = self.books.values() if query.cross_company else [self._default()]
        rows = [row for books in chosen for row in SETS[name].rows(books)]
        return page(url, params, query, rows, context)

    def _legal_entities(self) -> list[Record]:
        return [
            {"LegalEntityId": company.upper(), "Name": books.name, "dataAreaId": company}
            for company, books in self.books.items()
        ]

    def _one(self, name: str, key: str) -> Record:
        entity = SETS[name]
        given = key_of(key)
        if set(given) != set(entity.keys):
            raise ODataError(
                400,
                "The number of keys specified in the URI does not match number of key "
                f"properties for the resource '{name}'.",
            )
        books = self.books.get(given["dataAreaId"])
        for row in SETS[name].rows(books) if books else []:
            if all(str(row[k]) == given[k] or _same_number(row[k], given[k]) for k in given):
                return row
        raise ODataError(404, f"Resource not found for the segment '{name}({key})'.")

    def create(self, request: Request, raw: bytes) -> Record:
        name, key, action = self.route(request)
        if action is not None:
            return self._act(name, key or "", action, _body(raw))
        entity = SETS.get(name)
        if entity is None or entity.create is None or key is not None:
            raise ODataError(405, f"The entity set '{name}' does not accept POST.")
        body = _body(raw)
        books = self._books(str(body.get("dataAreaId") or next(iter(self.books))))
        with books.lock:
            return entity.create(books, body)

    def _act(self, name: str, key: str, action: str, body: Record) -> Record:
        if name != "FreeTextInvoiceHeaders" or not action.startswith(ACTIONS):
            raise ODataError(404, f"Resource not found for the segment '{action}'.")
        header = self._one(name, key)
        books = self._books(header["dataAreaId"])
        with books.lock:
            verb = action.removeprefix(ACTIONS)
            if verb == "PostInvoice":
                return books.post(header["InvoiceIdentifier"])
            if verb == "SettleWithInvoice":
                return _settle(books, header, body)
        raise ODataError(404, f"Resource not found for the segment '{action}'.")


def _settle(books: Books, header: Record, body: Record) -> Record:
    """Settle a posted credit note against an open invoice of the same customer."""
    table = "CustSettlement"
    credit = books.transaction(header["InvoiceId"]) if header["IsPosted"] == "Yes" else None
    debit = books.transaction(str(body.get("InvoiceId") or ""))
    if credit is None or money(credit["AmountCur"]) >= 0:
        raise write_failed(table, f"{header['InvoiceIdentifier']} is not a posted credit note.")
    if debit is None or money(debit["AmountCur"]) <= 0:
        raise write_failed(table, f"Invoice '{body.get('InvoiceId')}' is not an open invoice.")
    if debit["AccountNum"] != credit["AccountNum"]:
        raise write_failed(table, "The credit note and the invoice belong to other customers.")
    try:
        amount = money(body["Amount"])
        on = date.fromisoformat(str(body["SettlementDate"])[:10])
    except (KeyError, ValueError, InvalidOperation):
        raise write_failed(table, "Amount and SettlementDate must be filled in.") from None
    books.settle(debit, credit, amount, on)
    return header


def _body(raw: bytes) -> Record:
    try:
        body = orjson.loads(raw or b"{}")
    except orjson.JSONDecodeError:
        body = None
    if not isinstance(body, dict):
        raise ODataError(400, "The request body is not a valid JSON entity.")
    return body


def _same_number(value: Any, text: str) -> bool:
    try:
        return isinstance(value, int | float) and Decimal(str(value)) == Decimal(text)
    except InvalidOperation:
        return False
