"""OData v4 as Dynamics 365 finance and operations serves it: ``$filter``, ``$select``,
``$top``/``$skip``, ``$count``, ``$orderby``, server-driven paging and the error body.

``$filter`` knows eq, ne, gt, ge, lt, le, and, or, not and parentheses over string, number,
boolean, ``null``, date-time (``2024-02-22T12:00:00Z``) and enum literals
(``Microsoft.Dynamics.DataEntities.NoYes'Yes'``); ``has``, ``in`` and functions are refused, as
F&O refuses them. ``Field eq '*text*'`` matches with wildcards; strings compare without regard to
case (the database collation). Server-driven paging: a page holds at most 10,000 records (or
fewer when the client asks with ``Prefer: odata.maxpagesize``, which the sandbox honours
[unconfirmed for F&O]) and ``@odata.nextLink`` carries every option with the next ``$skip``.
"""

from __future__ import annotations

import fnmatch
import re
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from sandbox.vendors.wire import FastJSON

MAX_PAGE_SIZE = 10_000
Record = dict[str, Any]
Predicate = Callable[[Record], bool]
WRITE_EXCEPTION = "Microsoft.Dynamics.Platform.Integration.Services.OData.AxODataWriteException"
QUERY_EXCEPTION = "Microsoft.OData.ODataException"
_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<enum>[A-Za-z_][\w.]*'(?:[^']|'')*')"
    r"|(?P<dt>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2}))"
    r"|(?P<num>-?\d+(?:\.\d+)?)|(?P<paren>[()])|(?P<name>[A-Za-z_][\w.]*)|(?P<bad>\S))"
)
_COMPARE = {"eq", "ne", "gt", "ge", "lt", "le"}


class ODataError(ValueError):
    """A request F&O refuses: its status and the OData error body's texts."""

    def __init__(self, status: int, message: str, inner: str = "", kind: str = "") -> None:
        super().__init__(message)
        self.status, self.message, self.inner, self.kind = status, message, inner, kind


def error_reply(error: ODataError, headers: Mapping[str, str] | None = None) -> FastJSON:
    """The OData error body: ``code`` is empty as F&O leaves it, the Infolog in ``innererror``."""
    body: Record = {"error": {"code": "", "message": error.message}}
    if error.inner:
        body["error"]["innererror"] = {
            "message": error.inner,
            "type": error.kind or WRITE_EXCEPTION,
            "stacktrace": "   at Microsoft.Dynamics.Platform.Integration.Services.OData",
        }
    return FastJSON(body, status_code=error.status, headers=dict(headers or {}))


def write_failed(table: str, infolog: str, status: int = 400) -> ODataError:
    """A create or action the business logic refused, with its Infolog text."""
    return ODataError(
        status,
        "An error has occurred.",
        f"Write failed for table row of type '{table}'. Infolog: Error: {infolog}",
    )


def _bad_query(text: str) -> ODataError:
    return ODataError(400, "The query specified in the URI is not valid. " + text)


# --- $filter --------------------------------------------------------------------------------


def _literal(kind: str, text: str) -> Any:
    if kind == "str":
        return text[1:-1].replace("''", "'")
    if kind == "enum":
        return text[text.index("'") + 1 : -1]
    if kind == "dt":
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    if kind == "num":
        return float(text)
    return {"true": True, "false": False, "null": None}[text]


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens: list[tuple[str, str]] = []
        for match in _TOKEN.finditer(text):
            kind = match.lastgroup or "bad"
            if kind == "bad":
                raise _bad_query(f"Syntax error at '{match.group(kind)}' in $filter.")
            self.tokens.append((kind, match.group(kind)))
        self.at = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise _bad_query("Expression expected at the end of $filter.")
        self.at += 1
        return token

    def word(self, *words: str) -> bool:
        token = self.peek()
        if token and token[0] == "name" and token[1].lower() in words:
            self.at += 1
            return True
        return False

    def expression(self) -> Predicate:
        terms = [self.conjunction()]
        while self.word("or"):
            terms.append(self.conjunction())
        return terms[0] if len(terms) == 1 else lambda r: any(t(r) for t in terms)

    def conjunction(self) -> Predicate:
        terms = [self.unary()]
        while self.word("and"):
            terms.append(self.unary())
        return terms[0] if len(terms) == 1 else lambda r: all(t(r) for t in terms)

    def unary(self) -> Predicate:
        if self.word("not"):
            inner = self.unary()
            return lambda r: not inner(r)
        if self.peek() == ("paren", "("):
            self.take()
            inner = self.expression()
            if self.take() != ("paren", ")"):
                raise _bad_query("')' expected in $filter.")
            return inner
        return self.comparison()

    def comparison(self) -> Predicate:
        kind, field = self.take()
        if kind != "name":
            raise _bad_query(f"A property name is expected, not {field}.")
        op_kind, op = self.take()
        if op.lower() in ("has", "in") or self.peek() == ("paren", "("):
            raise _bad_query(f"The operator or function '{op}' is not supported.")
        if op_kind != "name" or op.lower() not in _COMPARE:
            raise _bad_query(f"Unknown operator '{op}' in $filter.")
        value_kind, text = self.take()
        if value_kind not in ("str", "enum", "dt", "num") and text not in ("true", "false", "null"):
            raise _bad_query(f"A literal is expected after '{op}', not {text}.")
        return _comparison(field, op.lower(), _literal(value_kind, text))


def _comparison(field: str, op: str, literal: Any) -> Predicate:
    def test(record: Record) -> bool:
        value = _typed(record.get(field), literal)
        if op == "eq" and isinstance(literal, str) and "*" in literal:
            return isinstance(value, str) and fnmatch.fnmatchcase(value.lower(), literal.lower())
        if op in ("eq", "ne"):
            return (value == _folded(literal)) == (op == "eq")
        if value is None or literal is None:
            return False
        try:
            return {"gt": value > literal, "ge": value >= literal, "lt": value < literal,
                    "le": value <= literal}[op]  # fmt: skip
        except TypeError:
            return False

    return test


def _folded(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _typed(value: Any, like: Any) -> Any:
    """A record's value in the type of the literal it is compared with."""
    if isinstance(like, datetime) and isinstance(value, str):
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    if isinstance(like, float) and isinstance(value, int | float | str) and value != "":
        return float(value)
    return _folded(value)


def parse_filter(text: str | None) -> Predicate:
    """The predicate a ``$filter`` stands for (every record when absent)."""
    if not text:
        return lambda record: True
    parser = _Parser(text)
    predicate = parser.expression()
    if parser.peek() is not None:
        raise _bad_query(f"Unexpected '{parser.peek()[1]}' in $filter.")  # type: ignore[index]
    return predicate


# --- query options and the page ---------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    """The options of one collection request."""

    where: Predicate
    select: tuple[str, ...]
    top: int | None
    skip: int
    count: bool
    order: tuple[str, bool] | None
    cross_company: bool
    page_size: int


def _integer(params: Mapping[str, str], name: str) -> int | None:
    raw = params.get(name)
    if raw is None:
        return None
    if not raw.isdigit():
        raise _bad_query(f"Invalid value '{raw}' for {name}; a non-negative integer is expected.")
    return int(raw)


def parse_query(params: Mapping[str, str], prefer: str) -> Query:
    """The query options of ``params``; ``ODataError`` for one F&O would refuse."""
    order = None
    if params.get("$orderby"):
        field, _, direction = params["$orderby"].strip().partition(" ")
        order = (field, direction.strip().lower() == "desc")
    asked = re.search(r"odata\.maxpagesize=(\d+)", prefer)
    page_size = min(MAX_PAGE_SIZE, max(1, int(asked.group(1)))) if asked else MAX_PAGE_SIZE
    select = tuple(s.strip() for s in params.get("$select", "").split(",") if s.strip())
    return Query(
        where=parse_filter(params.get("$filter")),
        select=select,
        top=_integer(params, "$top"),
        skip=_integer(params, "$skip") or 0,
        count=params.get("$count", "").lower() == "true",
        order=order,
        cross_company=params.get("cross-company", "").lower() == "true",
        page_size=page_size,
    )


def page(
    url: str, params: Mapping[str, str], query: Query, records: Sequence[Record], context: str
) -> Record:
    """One page of the records that pass the query, with the nextLink to the rest."""
    chosen = [r for r in records if query.where(r)]
    if query.order is not None:
        field, descending = query.order
        chosen.sort(key=lambda r: (r.get(field) is None, str(r.get(field))), reverse=descending)
    total = len(chosen)
    end = total if query.top is None else min(total, query.skip + query.top)
    shown = chosen[query.skip : min(end, query.skip + query.page_size)]
    body: Record = {"@odata.context": context}
    if query.count:
        body["@odata.count"] = total
    body["value"] = [_selected(r, query.select) for r in shown]
    following = query.skip + len(shown)
    if shown and following < end:
        rest = {k: v for k, v in params.items() if k != "$skip"}
        if query.top is not None:
            rest["$top"] = str(end - following)
        body["@odata.nextLink"] = f"{url}?{urlencode({**rest, '$skip': str(following)})}"
    return body


def _selected(record: Record, select: tuple[str, ...]) -> Record:
    shown = {k: v for k, v in record.items() if not select or k in select or k == "dataAreaId"}
    tag = zlib.crc32(repr(sorted(record.items())).encode())
    return {"@odata.etag": f'W/"{tag:08x}"', **shown}


def key_of(segment: str) -> dict[str, str]:
    """``dataAreaId='us01',CustomerAccount='US-001'`` as a dict (all key fields, quoted)."""
    pairs = re.findall(r"(\w+)='((?:[^']|'')*)'", segment)
    return {name: value.replace("''", "'") for name, value in pairs}
