"""Oracle ADF REST collections as Fusion serves them: the ``q`` expression, finders, ``orderBy``,
``limit``/``offset`` paging with ``hasMore``, ``expand``, ``onlyData`` and the error body.

``q`` is read in both framework forms: version 1 joins ``Attr=value`` conditions with ``;``;
version 2 and later (``REST-Framework-Version: 2``) take expressions with ``and``/``or``,
parentheses, quoted values and the operators ``= != < <= > >= LIKE``. Values compare as dates,
timestamps or numbers when both sides read as one, else as text. A finder
(``finder=name;Attr=value,Attr2=value``) binds equality conditions. The page limit defaults to 25
and is capped at 500 (the cap is [3rd-party]). Errors use ``application/vnd.oracle.adf.error+json``
``{title, status, detail, o:errorCode, o:errorDetails: [{detail, o:errorCode, o:errorPath}]}``
(the shape other Oracle cloud REST APIs document; [unconfirmed] for Fusion Financials).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sandbox.vendors.wire import FastJSON

Record = dict[str, Any]
Predicate = Callable[[Record], bool]
DEFAULT_LIMIT = 25
MAX_LIMIT = 500
ERROR_MEDIA_TYPE = "application/vnd.oracle.adf.error+json"
_TOKEN = re.compile(
    r"\s*(?:(?P<open>\()|(?P<close>\))|(?P<op><=|>=|!=|=|<|>|\bLIKE\b)"
    r"|'(?P<quoted>(?:[^']|'')*)'|(?P<word>[^\s()'<>=!;]+))",
    re.IGNORECASE,
)
_V1 = re.compile(r"(?P<attribute>\w+)\s*(?P<op><=|>=|!=|=|<|>)\s*(?P<value>.*)")
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


class QueryError(ValueError):
    """A query parameter Fusion refuses with 400."""


def error(status: int, title: str, detail: str, *, code: str = "", path: str = "") -> FastJSON:
    """Fusion's error reply for one reason."""
    return refusal(status, title, [(detail, path)], code=code)


def refusal(status: int, title: str, found: list[tuple[str, str]], *, code: str = "") -> FastJSON:
    """Fusion's error reply for ``(detail, errorPath)`` reasons: the first in ``detail``, every
    one in ``o:errorDetails``."""
    details = [
        {"detail": detail, "o:errorCode": code, **({"o:errorPath": path} if path else {})}
        for detail, path in found
    ]
    body = {
        "title": title,
        "status": str(status),
        "detail": "; ".join(detail for detail, _ in found),
        "o:errorCode": code,
        "o:errorDetails": details,
    }
    return FastJSON(body, status_code=status, headers={"content-type": ERROR_MEDIA_TYPE})


# --- q ------------------------------------------------------------------------------------------


def parse_q(text: str) -> Predicate:
    """``q`` as a predicate over a record; ``QueryError`` when it does not parse."""
    if ";" in text and "'" not in text:  # version 1: values run unquoted to the next ";"
        return _version_one(text)
    tokens = _tokens(text.replace(";", " and "))
    predicate, rest = _or(tokens)
    if rest:
        raise QueryError(f"unexpected {rest[0][1]!r} in q")
    return predicate


def _version_one(text: str) -> Predicate:
    tests: list[Predicate] = []
    for part in filter(str.strip, text.split(";")):
        match = _V1.fullmatch(part.strip())
        if match is None:
            raise QueryError(f"q cannot be read near {part!r}")
        tests.append(condition(match["attribute"], match["op"], match["value"]))
    return lambda record: all(test(record) for test in tests)


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            if text[position:].strip():
                raise QueryError(f"q cannot be read near {text[position : position + 20]!r}")
            break
        kind = match.lastgroup or ""
        value = match.group(kind) if kind else ""
        if kind == "quoted":
            value = value.replace("''", "'")
        elif kind == "word" and value.lower() in ("and", "or"):
            kind = value.lower()
        out.append((kind, value))
        position = match.end()
    return out


def _or(tokens: list[tuple[str, str]]) -> tuple[Predicate, list[tuple[str, str]]]:
    left, rest = _and(tokens)
    while rest and rest[0][0] == "or":
        right, rest = _and(rest[1:])
        left = _either(left, right)
    return left, rest


def _and(tokens: list[tuple[str, str]]) -> tuple[Predicate, list[tuple[str, str]]]:
    left, rest = _term(tokens)
    while rest and rest[0][0] == "and":
        right, rest = _term(rest[1:])
        left = _both(left, right)
    return left, rest


def _term(tokens: list[tuple[str, str]]) -> tuple[Predicate, list[tuple[str, str]]]:
    if tokens and tokens[0][0] == "open":
        inner, rest = _or(tokens[1:])
        if not rest or rest[0][0] != "close":
            raise QueryError("q has an unclosed parenthesis")
        return inner, rest[1:]
    if len(tokens) < 3 or tokens[0][0] != "word" or tokens[1][0] != "op":
        raise QueryError("q expects conditions like Attribute='value'")
    if tokens[2][0] not in ("quoted", "word"):
        raise QueryError(f"q has no value after {tokens[0][1]}{tokens[1][1]}")
    return condition(tokens[0][1], tokens[1][1].upper(), tokens[2][1]), tokens[3:]


def _either(a: Predicate, b: Predicate) -> Predicate:
    return lambda record: a(record) or b(record)


def _both(a: Predicate, b: Predicate) -> Predicate:
    return lambda record: a(record) and b(record)


def condition(attribute: str, op: str, value: str) -> Predicate:
    """One ``Attribute op value`` condition; a record without the attribute never matches."""
    if op == "LIKE":
        pattern = re.compile(re.escape(value).replace("%", ".*").replace("_", "."), re.I)
        return lambda r: r.get(attribute) is not None and bool(pattern.fullmatch(str(r[attribute])))
    compare = _OPS[op]

    def test(record: Record) -> bool:
        held = record.get(attribute)
        if held is None:
            return False
        left, right = comparable(held, value)
        return compare(left, right)

    return test


def comparable(held: Any, value: str) -> tuple[Any, Any]:
    """Both sides as timestamps, dates or numbers when both read as one; else as text."""
    for read in (_timestamp, _date, _number):
        left, right = read(held), read(value)
        if left is not None and right is not None:
            return left, right
    return str(held), value


def _timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str) or "T" not in value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else None


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else None
    except ValueError:
        return None


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


# --- finders, order, pages ----------------------------------------------------------------------


def parse_finder(text: str, known: Mapping[str, Iterable[str]]) -> Predicate:
    """``name;Attr=value,Attr2=value`` as equality conditions on the finder's bind variables."""
    name, _, binds = text.partition(";")
    if name not in known:
        raise QueryError(f"the finder {name!r} isn't defined for this resource")
    allowed = set(known[name])
    tests: list[Predicate] = []
    for bind in filter(None, binds.split(",")):
        attribute, sep, value = bind.partition("=")
        if not sep or attribute not in allowed:
            raise QueryError(f"{bind!r} isn't a bind variable of the finder {name}")
        tests.append(condition(attribute, "=", value))
    return lambda record: all(test(record) for test in tests)


def ordered(records: list[Record], order_by: str | None) -> list[Record]:
    """``orderBy=Attr:asc,Attr2:desc``; stable, absent values first."""
    for part in reversed([p for p in (order_by or "").split(",") if p]):
        attribute, _, direction = part.partition(":")
        records = sorted(records, key=_by(attribute), reverse=direction.lower() == "desc")
    return records


def _by(attribute: str) -> Callable[[Record], tuple[bool, Any]]:
    return lambda record: (record.get(attribute) is not None, _sort_key(record.get(attribute)))


def _sort_key(value: Any) -> Any:
    if isinstance(value, int | float):
        return (0, value, "")
    return (1, 0, str(value))


def page_window(query: Mapping[str, str]) -> tuple[int, int]:
    """``(limit, offset)`` from the query; ``QueryError`` for values that are not counts."""
    try:
        limit = int(query.get("limit", DEFAULT_LIMIT))
        offset = int(query.get("offset", 0))
    except ValueError:
        raise QueryError("limit and offset must be integers") from None
    if limit < 1 or offset < 0:
        raise QueryError("limit must be positive and offset not negative")
    return min(limit, MAX_LIMIT), offset


def collection(
    records: list[Record],
    query: Mapping[str, str],
    url: str,
    render: Callable[[Record], Record],
) -> Record:
    """One page of ``records`` in the ADF envelope; ``render`` shapes each item."""
    limit, offset = page_window(query)
    chunk = records[offset : offset + limit]
    body: Record = {
        "items": [render(r) for r in chunk],
        "count": len(chunk),
        "hasMore": offset + len(chunk) < len(records),
        "limit": limit,
        "offset": offset,
        "links": [{"rel": "self", "href": url, "name": "self", "kind": "collection"}],
    }
    if query.get("totalResults", "").lower() == "true":
        body["totalResults"] = len(records)
    return body
