"""The two query languages of NetSuite's REST web services, as far as the sandbox speaks them.

**Record collection filters** (``GET /record/v1/{type}?q=…``, erps.md §3.5): conditions
``<field> <OPERATOR> <value>`` joined by ``AND``; a value is a bare word or number, a
``"quoted string"`` or a ``[list]``. Operators: ``ANY_OF``/``NONE_OF`` (a reference's id or a
plain value), ``IS``/``IS_NOT``/``START_WITH`` (text, case-insensitive), ``EQUAL``/``GREATER``/
``LESS`` (numbers), and ``ON``/``AFTER``/``BEFORE``/``ON_OR_AFTER``/``ON_OR_BEFORE`` for dates in
the account's format, ``M/D/YYYY`` or ``M/D/YY`` with an optional ``h:mm am`` (minute precision;
the account's time zone is taken as UTC [unconfirmed]). ``OR`` and parentheses are refused.

**SuiteQL** (``POST /query/v1/suiteql``): ``SELECT <columns | *> FROM <table> [WHERE <condition>
(AND <condition>)*] [ORDER BY <column> [ASC|DESC], …]``, a condition being ``<column> <op>
<literal>`` (``=``, ``!=``, ``<>``, ``<``, ``<=``, ``>``, ``>=``) or ``<column> IN (<literal>,
…)`` with ``'text'`` (``''`` escapes a quote) or number literals. Anything else is refused as
``InvalidQuery``, as NetSuite refuses a query it cannot run.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

Row = dict[str, Any]


class InvalidQuery(ValueError):
    """A ``q`` filter or a SuiteQL query the sandbox cannot run; the text says why."""


# --- record collection filters --------------------------------------------------------------

_CONDITION = re.compile(
    r'\s*(?P<field>\w+)\s+(?P<op>[A-Z_]+)\s+(?P<value>"(?:[^"\\]|\\.)*"|\[[^\]]*\]|[^\s"\[\]]+)'
    r"\s*(?P<rest>.*)",
    re.DOTALL,
)
_DATE_FORMATS = ("%m/%d/%Y %I:%M %p", "%m/%d/%Y %H:%M", "%m/%d/%Y", "%m/%d/%y")
_DATE_OPS = {"ON", "AFTER", "BEFORE", "ON_OR_AFTER", "ON_OR_BEFORE"}
_TEXT_OPS = {"IS", "IS_NOT", "START_WITH", "ANY_OF", "NONE_OF"}
_NUMBER_OPS = {"EQUAL", "GREATER", "LESS", "GREATER_OR_EQUAL", "LESS_OR_EQUAL"}
Predicate = Callable[[Mapping[str, Any]], bool]


def record_filter(q: str | None) -> Predicate:
    """A predicate over REST records for the ``q`` parameter (every record when empty)."""
    conditions: list[Predicate] = []
    rest = (q or "").strip()
    while rest:
        match = _CONDITION.fullmatch(rest)
        if match is None:
            raise InvalidQuery(f"Invalid query parameter q: cannot read {rest[:60]!r}.")
        conditions.append(_condition(match["field"], match["op"].upper(), match["value"]))
        rest = match["rest"].strip()
        if rest:
            head, _, tail = rest.partition(" ")
            if head.upper() != "AND":
                raise InvalidQuery(f"Invalid query parameter q: unsupported {head!r}.")
            rest = tail
    return lambda record: all(check(record) for check in conditions)


def _condition(field: str, op: str, raw: str) -> Predicate:
    values = _values(raw)
    if op in _DATE_OPS:
        bound, whole_day = _account_date(values[0])
        return lambda record: _compare_date(_field(record, field), op, bound, whole_day)
    if op in _TEXT_OPS:
        wanted = {v.casefold() for v in values}

        def text(record: Mapping[str, Any]) -> bool:
            value = _field(record, field)
            shown = str(value.get("id") if isinstance(value, dict) else value).casefold()
            if op == "START_WITH":
                return any(shown.startswith(w) for w in wanted)
            return (shown in wanted) != (op in ("IS_NOT", "NONE_OF"))

        return text
    if op in _NUMBER_OPS:
        number = _decimal(values[0])
        return lambda record: _compare_number(_field(record, field), op, number)
    raise InvalidQuery(f"Invalid query parameter q: unknown operator {op}.")


def _values(raw: str) -> list[str]:
    if raw.startswith("["):
        return [v.strip().strip('"') for v in raw[1:-1].split(",") if v.strip()]
    return [raw[1:-1].replace('\\"', '"') if raw.startswith('"') else raw]


def _field(record: Mapping[str, Any], name: str) -> Any:
    wanted = name.casefold()
    for key, value in record.items():
        if key.casefold() == wanted:
            return value
    raise InvalidQuery(f"Invalid query parameter q: unknown field {name}.")


def _account_date(text: str) -> tuple[datetime, bool]:
    """The instant a date in the account's format names, and whether it names a whole day."""
    for form in _DATE_FORMATS:
        try:
            parsed = datetime.strptime(text.strip(), form).replace(tzinfo=UTC)
        except ValueError:
            continue
        return parsed, "%M" not in form
    raise InvalidQuery(f"Invalid query parameter q: {text!r} is not a date in the account format.")


def _compare_date(value: Any, op: str, bound: datetime, whole_day: bool) -> bool:
    moment = _instant(value)
    if moment is None:
        return False
    if whole_day:
        day, target = moment.date(), bound.date()
        return _ordered(day, target, op)
    return _ordered(moment.replace(second=0, microsecond=0), bound, op)


def _ordered(left: date | datetime, right: date | datetime, op: str) -> bool:
    return {
        "ON": left == right,
        "AFTER": left > right,
        "BEFORE": left < right,
        "ON_OR_AFTER": left >= right,
        "ON_OR_BEFORE": left <= right,
    }[op]


def _instant(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _decimal(text: Any) -> Decimal:
    try:
        return Decimal(str(text))
    except InvalidOperation:
        raise InvalidQuery(f"Invalid query parameter q: {text!r} is not a number.") from None


def _compare_number(value: Any, op: str, number: Decimal) -> bool:
    try:
        have = Decimal(str(value))
    except InvalidOperation:
        return False
    return {
        "EQUAL": have == number,
        "GREATER": have > number,
        "LESS": have < number,
        "GREATER_OR_EQUAL": have >= number,
        "LESS_OR_EQUAL": have <= number,
    }[op]


# --- SuiteQL ----------------------------------------------------------------------------------

_SELECT = re.compile(
    r"\s*SELECT\s+(?P<columns>.+?)\s+FROM\s+(?P<table>\w+)"
    r"(?:\s+WHERE\s+(?P<where>.+?))?(?:\s+ORDER\s+BY\s+(?P<order>.+?))?\s*;?\s*",
    re.IGNORECASE | re.DOTALL,
)
_LITERAL = r"'(?:[^']|'')*'|-?\d+(?:\.\d+)?"
_SQL_CONDITION = re.compile(
    rf"\s*(?P<column>\w+)\s*(?:(?P<op><>|!=|<=|>=|=|<|>)\s*(?P<value>{_LITERAL})"
    rf"|\s+IN\s*\((?P<values>\s*(?:{_LITERAL})(?:\s*,\s*(?:{_LITERAL}))*\s*)\))\s*",
    re.IGNORECASE,
)
_AND = re.compile(r"\s+AND\s+(?=(?:[^']*'[^']*')*[^']*$)", re.IGNORECASE)


def suiteql(query: str, tables: Mapping[str, Callable[[], list[Row]]]) -> list[Row]:
    """The rows ``query`` selects from ``tables`` (table name → its rows), null columns left out
    of each row as NetSuite leaves them out."""
    match = _SELECT.fullmatch(query or "")
    if match is None:
        raise InvalidQuery("Invalid search query. The query is not a SELECT the sandbox runs.")
    table = match["table"].lower()
    if table not in tables:
        raise InvalidQuery(
            f"Invalid search query. Search error occurred: Record '{table}' was not found."
        )
    rows = tables[table]()
    columns = _columns(match["columns"], rows, table)
    for condition in _AND.split(match["where"]) if match["where"] else []:
        rows = [row for row in rows if _sql_condition(condition, table)(row)]
    for column, descending in reversed(_order(match["order"])):
        rows.sort(key=_by(column), reverse=descending)
    return [{c: row[c] for c in columns if row.get(c) is not None} for row in rows]


def _columns(text: str, rows: list[Row], table: str) -> list[str]:
    known = set(rows[0]) if rows else set()
    if text.strip() == "*":
        return sorted(known)
    columns = [c.strip().lower() for c in text.split(",")]
    for column in columns:
        if not re.fullmatch(r"\w+", column) or (rows and column not in known):
            raise InvalidQuery(
                f"Invalid search query. Search error occurred: Field '{column}' for record "
                f"'{table}' was not found."
            )
    return columns


def _sql_condition(text: str, table: str) -> Callable[[Row], bool]:
    match = _SQL_CONDITION.fullmatch(text)
    if match is None:
        raise InvalidQuery(f"Invalid search query. Cannot read the condition {text.strip()!r}.")
    column = match["column"].lower()
    if match["values"] is not None:
        wanted = {_literal(v) for v in re.findall(_LITERAL, match["values"])}
        return lambda row: _text(row.get(column)) in wanted
    value, op = _literal(match["value"]), match["op"]
    if op in ("=", "!=", "<>"):
        return lambda row: (_text(row.get(column)) == value) == (op == "=")
    return lambda row: row.get(column) is not None and _ordered_sql(row[column], op, value)


def _literal(text: str) -> str:
    return text[1:-1].replace("''", "'") if text.startswith("'") else str(Decimal(text))


def _text(value: Any) -> str:
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return str(Decimal(str(value)))
    return "" if value is None else str(value)


def _ordered_sql(value: Any, op: str, literal: str) -> bool:
    left, right = _sort_key(value), _sort_key(literal)
    if left[0] != right[0]:
        return False
    return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op]


def _sort_key(value: Any) -> tuple[int, Any]:
    try:
        return 0, Decimal(str(value))
    except InvalidOperation:
        return 1, str(value)


def _by(column: str) -> Callable[[Row], tuple[int, Any]]:
    return lambda row: _sort_key(row.get(column))


def _order(text: str | None) -> list[tuple[str, bool]]:
    if not text:
        return []
    order = []
    for part in text.split(","):
        words = part.split()
        if not words or len(words) > 2 or not re.fullmatch(r"\w+", words[0]):
            raise InvalidQuery(f"Invalid search query. Cannot order by {part.strip()!r}.")
        order.append((words[0].lower(), len(words) == 2 and words[1].upper() == "DESC"))
    return order


__all__ = ["InvalidQuery", "Row", "record_filter", "suiteql"]
