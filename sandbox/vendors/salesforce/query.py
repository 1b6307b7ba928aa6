"""SOQL against the store: field checks, filtering, ordering, rendering and batched cursors.

A query is checked against the schema first (``INVALID_TYPE`` for an unknown object,
``INVALID_FIELD`` for an unknown column or relationship, or a literal of the wrong type), then
run over a snapshot of the records. Results come back in batches (2,000, or the
``Sforce-Query-Options: batchSize`` between 200 and 2,000); the rest stay behind a query locator
for ``/query/{locator}-{offset}``. Like Salesforce, at most ten cursors stay open; opening an
eleventh drops the oldest.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sandbox.vendors.salesforce.records import Record, Store
from sandbox.vendors.salesforce.schema import (
    NUMERIC,
    SOBJECTS,
    TEXT,
    FieldType,
    Lookup,
    SObject,
    record_id,
    sobject,
)
from sandbox.vendors.salesforce.soql import Condition, Group, Literal, Negation, Node, parse
from sandbox.vendors.salesforce.soql import SoqlError as QueryError

DEFAULT_BATCH = 2000
MIN_BATCH = 200
MAX_CURSORS = 10
_LITERAL_KINDS = {"datetime": "datetime", "date": "date", "boolean": "boolean"}


@dataclass(frozen=True)
class Column:
    """A resolved field path: lookups to follow, then a field of the last object."""

    hops: tuple[Lookup, ...]
    field: str
    type: FieldType


def resolve(root: SObject, path: str) -> Column:
    """``Name`` or ``Account.Name`` on ``root``; ``INVALID_FIELD`` when it does not exist."""
    *relations, name = path.split(".")
    current, hops = root, []
    for relation in relations:
        lookup = current.lookup(relation)
        if lookup is None:
            raise QueryError(
                "INVALID_FIELD",
                f"Didn't understand relationship '{relation}' in field path. If you are "
                "attempting to use a custom relationship, be sure to append the '__r' after the "
                "custom relationship name.",
            )
        hops.append(lookup)
        current = SOBJECTS[lookup.target]
    field = current.resolve(name)
    if field is None:
        raise QueryError(
            "INVALID_FIELD",
            f"No such column '{name}' on entity '{current.name}'. If you are attempting to use "
            "a custom field, be sure to append the '__c' after the custom field name.",
        )
    return Column(tuple(hops), field, current.fields[field])


def wire(value: Any, kind: FieldType) -> Any:
    """A stored value as Salesforce puts it in JSON."""
    if value is None:
        return None
    if isinstance(value, datetime):
        moment = value.astimezone(UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal) or kind in NUMERIC:
        return int(value) if kind == "int" else float(value)
    return value


def attributes(type_name: str, record_id_: str, version: str) -> dict[str, str]:
    return {"type": type_name, "url": f"/services/data/{version}/sobjects/{type_name}/{record_id_}"}


@dataclass
class _Cursor:
    records: list[dict[str, Any]]
    batch: int
    resource: str


class QueryEngine:
    """Runs SOQL over ``store`` and keeps the cursors of unfinished results."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._cursors: OrderedDict[str, _Cursor] = OrderedDict()
        self._serial = 0

    def run(
        self, text: str, *, version: str, batch: int, include_deleted: bool = False
    ) -> dict[str, Any]:
        query = parse(text)
        root = sobject(query.sobject)
        if root is None:
            raise QueryError(
                "INVALID_TYPE",
                f"sObject type '{query.sobject}' is not supported. If you are attempting to use "
                "a custom object, be sure to append the '__c' after the entity name.",
            )
        columns = [resolve(root, f) for f in query.fields]
        if len({(c.hops, c.field) for c in columns}) < len(columns):
            raise QueryError("MALFORMED_QUERY", "duplicate field selected")
        where = _checked(root, query.where) if query.where else None
        with self.store.lock:
            rows = [
                r
                for r in self.store.all(root.name)
                if (include_deleted or not r["IsDeleted"])
                and (where is None or where(r, self._related))
            ]
            for order in reversed(query.order):
                rows = _sorted(rows, resolve(root, order.field), order, self._related)
            rows = rows[query.offset or 0 :]
            rows = rows[: query.limit] if query.limit is not None else rows
            rendered = [self._render(root, r, columns, version) for r in rows]
        resource = "queryAll" if include_deleted else "query"
        return self._first(_Cursor(rendered, _batch(batch), resource), version)

    def more(self, locator: str, offset: int, *, version: str) -> dict[str, Any]:
        cursor = self._cursors.get(locator)
        if cursor is None or not 0 <= offset <= len(cursor.records):
            raise QueryError("INVALID_QUERY_LOCATOR", "invalid query locator")
        self._cursors.move_to_end(locator)
        return self._page(locator, cursor, offset, version)

    def _first(self, cursor: _Cursor, version: str) -> dict[str, Any]:
        if len(cursor.records) <= cursor.batch:
            return self._page("", cursor, 0, version)
        self._serial += 1
        locator = record_id("01g", self._serial)
        self._cursors[locator] = cursor
        while len(self._cursors) > MAX_CURSORS:
            self._cursors.popitem(last=False)
        return self._page(locator, cursor, 0, version)

    @staticmethod
    def _page(locator: str, cursor: _Cursor, offset: int, version: str) -> dict[str, Any]:
        end = offset + cursor.batch
        body: dict[str, Any] = {
            "totalSize": len(cursor.records),
            "done": end >= len(cursor.records),
        }
        if not body["done"]:
            body["nextRecordsUrl"] = f"/services/data/{version}/{cursor.resource}/{locator}-{end}"
        body["records"] = cursor.records[offset:end]
        return body

    def _related(self, record: Record | None, lookup: Lookup) -> Record | None:
        key = record.get(lookup.field) if record is not None else None
        return self.store.get(lookup.target, key) if key else None

    def _render(
        self, root: SObject, record: Record, columns: list[Column], version: str
    ) -> dict[str, Any]:
        out: dict[str, Any] = {"attributes": attributes(root.name, record["Id"], version)}
        for column in columns:
            self._put(out, record, column.hops, column, version)
        return out

    def _put(
        self,
        out: dict[str, Any],
        record: Record,
        hops: tuple[Lookup, ...],
        column: Column,
        version: str,
    ) -> None:
        if not hops:
            out[column.field] = wire(record.get(column.field), column.type)
            return
        hop = hops[0]
        target = self._related(record, hop)
        if hop.name not in out:
            out[hop.name] = (
                None
                if target is None
                else {"attributes": attributes(hop.target, target["Id"], version)}
            )
        if target is not None and out[hop.name] is not None:
            self._put(out[hop.name], target, hops[1:], column, version)


Related = Callable[[Record | None, Lookup], Record | None]
Predicate = Callable[[Record, Related], bool]


def _value(record: Record, column: Column, related: Related) -> Any:
    current: Record | None = record
    for hop in column.hops:
        current = related(current, hop)
    return None if current is None else current.get(column.field)


def _checked(root: SObject, node: Node) -> Predicate:
    """A predicate for ``node``, with every field and literal type checked now."""
    if isinstance(node, Negation):
        inner = _checked(root, node.item)
        return lambda r, rel: not inner(r, rel)
    if isinstance(node, Group):
        parts = [_checked(root, item) for item in node.items]
        if node.op == "AND":
            return lambda r, rel: all(p(r, rel) for p in parts)
        return lambda r, rel: any(p(r, rel) for p in parts)
    return _condition(root, node)


def _condition(root: SObject, condition: Condition) -> Predicate:
    column = resolve(root, condition.field)
    values = condition.value if isinstance(condition.value, tuple) else (condition.value,)
    for literal in values:
        _check_literal(column, literal)
    wanted = [_comparable(v.value, column.type) for v in values]
    op = condition.op

    def test(record: Record, related: Related) -> bool:
        value = _comparable(_value(record, column, related), column.type)
        if op in ("IN", "NOT IN"):
            return (value in wanted) == (op == "IN")
        return _compare(value, op, wanted[0])

    return test


def _check_literal(column: Column, literal: Literal) -> None:
    kind = column.type
    if literal.kind == "null":
        return
    expected = _LITERAL_KINDS.get(kind, "number" if kind in NUMERIC else "string")
    if kind in TEXT:
        expected = "string"
    if literal.kind != expected:
        quoted = " and should not be enclosed in quotes" if literal.kind == "string" else ""
        name = {"datetime": "dateTime", "string": "string"}.get(expected, expected)
        raise QueryError(
            "INVALID_FIELD",
            f"value of filter criterion for field '{column.field}' must be of type {name}{quoted}",
        )


def _comparable(value: Any, kind: FieldType) -> Any:
    if value is None:
        return None
    if kind in NUMERIC:
        return Decimal(str(value))
    if isinstance(value, str):
        return value.casefold()  # SOQL compares text without regard to case
    return value


def _compare(value: Any, op: str, wanted: Any) -> bool:
    if wanted is None or value is None:
        same = value is None and wanted is None
        return same if op == "=" else (not same if op == "!=" else False)
    if op == "=":
        return bool(value == wanted)
    if op == "!=":
        return bool(value != wanted)
    if op == "<":
        return bool(value < wanted)
    if op == "<=":
        return bool(value <= wanted)
    if op == ">":
        return bool(value > wanted)
    return bool(value >= wanted)


def _sorted(rows: list[Record], column: Column, order: Any, related: Related) -> list[Record]:
    present = [r for r in rows if _value(r, column, related) is not None]
    missing = [r for r in rows if _value(r, column, related) is None]
    present.sort(
        key=lambda r: _comparable(_value(r, column, related), column.type),
        reverse=order.descending,
    )
    return present + missing if order.nulls_last else missing + present


def _batch(requested: int) -> int:
    return max(MIN_BATCH, min(DEFAULT_BATCH, requested))
