"""A SOQL parser for the subset plan2cash uses, strict about what it accepts.

::

    SELECT f1, f2, Rel.Field FROM Object
      [WHERE cond {AND|OR} cond ...]       -- mixing AND and OR needs parentheses, as in SOQL
      [ORDER BY f [ASC|DESC] [NULLS FIRST|LAST], ...] [LIMIT n] [OFFSET n]

    cond := field op literal | field [NOT] IN (literal, ...) | NOT cond | ( conditions )
    op   := = | != | <> | < | <= | > | >=
    literal := 'string' | 123 | 1.5 | true | false | null | 2024-01-01 | 2024-01-01T00:00:00Z

Keywords are case-insensitive; datetime and date literals are unquoted. Anything else is a
``MALFORMED_QUERY``. Field names are checked against the schema later (``query.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<string>'(?:[^'\\]|\\.)*')
     |(?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:?\d{2}))
     |(?P<date>\d{4}-\d{2}-\d{2})(?![\w:])
     |(?P<number>-?\d+(?:\.\d+)?)(?![\w.])
     |(?P<op><=|>=|!=|<>|=|<|>)
     |(?P<punct>[(),])
     |(?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
    )""",
    re.VERBOSE,
)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\"}


class SoqlError(ValueError):
    """A query Salesforce would refuse; ``code`` is its ``errorCode``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Literal:
    kind: str  # string | number | boolean | null | date | datetime
    value: Any


@dataclass(frozen=True)
class Condition:
    field: str
    op: str  # = != < <= > >= IN NOT IN
    value: Literal | tuple[Literal, ...]


@dataclass(frozen=True)
class Group:
    op: str  # AND | OR
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Negation:
    item: Node


Node = Condition | Group | Negation


@dataclass(frozen=True)
class Order:
    field: str
    descending: bool
    nulls_last: bool


@dataclass(frozen=True)
class Query:
    fields: tuple[str, ...]
    sobject: str
    where: Node | None
    order: tuple[Order, ...]
    limit: int | None
    offset: int | None


Token = tuple[str, str]  # (kind, text)


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            near = text[position:].strip()[:20]
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{near}'")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.at = 0

    def peek(self) -> Token | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def keyword(self, *words: str) -> bool:
        """Consume the keywords ``words`` if they come next."""
        ahead = self.tokens[self.at : self.at + len(words)]
        if len(ahead) == len(words) and all(
            k == "name" and t.upper() == w for (k, t), w in zip(ahead, words, strict=True)
        ):
            self.at += len(words)
            return True
        return False

    def expect(self, kind: str, text: str | None = None) -> str:
        token = self.peek()
        if token is None:
            raise SoqlError("MALFORMED_QUERY", "unexpected end of query")
        if token[0] != kind or (text is not None and token[1].upper() != text):
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{token[1]}'")
        self.at += 1
        return token[1]

    def name(self) -> str:
        return self.expect("name")

    def query(self) -> Query:
        self.expect("name", "SELECT")
        fields = [self.name()]
        while self.peek() == ("punct", ","):
            self.at += 1
            fields.append(self.name())
        if any(f.upper() == "FROM" for f in fields):
            raise SoqlError("MALFORMED_QUERY", "unexpected token: 'FROM'")
        self.expect("name", "FROM")
        sobject = self.name()
        where = self.conditions() if self.keyword("WHERE") else None
        order = self.order() if self.keyword("ORDER", "BY") else ()
        limit = self.count() if self.keyword("LIMIT") else None
        offset = self.count() if self.keyword("OFFSET") else None
        if self.peek() is not None:
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{self.tokens[self.at][1]}'")
        return Query(tuple(fields), sobject, where, order, limit, offset)

    def count(self) -> int:
        text = self.expect("number")
        if not text.isdigit():
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{text}'")
        return int(text)

    def conditions(self) -> Node:
        items, ops = [self.unit()], set()
        while True:
            if self.keyword("AND"):
                ops.add("AND")
            elif self.keyword("OR"):
                ops.add("OR")
            else:
                break
            items.append(self.unit())
        if len(ops) > 1:
            raise SoqlError(
                "MALFORMED_QUERY", "unexpected token: mix AND and OR only within parentheses"
            )
        return items[0] if len(items) == 1 else Group(ops.pop(), tuple(items))

    def unit(self) -> Node:
        if self.keyword("NOT"):
            return Negation(self.unit())
        if self.peek() == ("punct", "("):
            self.at += 1
            inner = self.conditions()
            self.expect("punct", ")")
            return inner
        return self.condition()

    def condition(self) -> Condition:
        field = self.name()
        if self.keyword("NOT", "IN"):
            return Condition(field, "NOT IN", self.values())
        if self.keyword("IN"):
            return Condition(field, "IN", self.values())
        op = self.expect("op")
        return Condition(field, "!=" if op == "<>" else op, self.literal())

    def values(self) -> tuple[Literal, ...]:
        self.expect("punct", "(")
        values = [self.literal()]
        while self.peek() == ("punct", ","):
            self.at += 1
            values.append(self.literal())
        self.expect("punct", ")")
        return tuple(values)

    def literal(self) -> Literal:
        token = self.peek()
        if token is None:
            raise SoqlError("MALFORMED_QUERY", "unexpected end of query")
        self.at += 1
        kind, text = token
        if kind in ("string", "datetime", "date", "number"):
            return _LITERALS[kind](text)
        if kind == "name" and text.lower() in ("true", "false"):
            return Literal("boolean", text.lower() == "true")
        if kind == "name" and text.lower() == "null":
            return Literal("null", None)
        raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{text}'")

    def order(self) -> tuple[Order, ...]:
        orders = [self.one_order()]
        while self.peek() == ("punct", ","):
            self.at += 1
            orders.append(self.one_order())
        return tuple(orders)

    def one_order(self) -> Order:
        field = self.name()
        descending = self.keyword("DESC")
        if not descending:
            self.keyword("ASC")
        nulls_last = descending  # Salesforce's defaults: NULLS FIRST ascending, LAST descending
        if self.keyword("NULLS", "FIRST"):
            nulls_last = False
        elif self.keyword("NULLS", "LAST"):
            nulls_last = True
        return Order(field, descending, nulls_last)


def _string(text: str) -> Literal:
    body = re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), text[1:-1])
    return Literal("string", body)


def _datetime(text: str) -> Literal:
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return Literal("datetime", parsed.astimezone(UTC))


_LITERALS = {
    "string": _string,
    "datetime": _datetime,
    "date": lambda text: Literal("date", date.fromisoformat(text)),
    "number": lambda text: Literal("number", Decimal(text)),
}


def parse(text: str) -> Query:
    """The query in ``text``, or ``SoqlError`` with Salesforce's error code."""
    if not text or not text.strip():
        raise SoqlError("MALFORMED_QUERY", "A query string has to be specified")
    return _Parser(text).query()
