"""Label matchers, as Alertmanager writes them: ``name="value"``, ``name!="value"``,
``name=~"regex"``, ``name!~"regex"``.

A label an alert does not carry reads as the empty string (so ``team=""`` selects alerts without
a team). Regular expressions are anchored at both ends: ``vendor=~"xe"`` does not match
``xero``. A matcher that cannot be read raises :class:`MatcherError` naming it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum


class MatchOp(StrEnum):
    EQUAL = "="
    NOT_EQUAL = "!="
    REGEX = "=~"
    NOT_REGEX = "!~"


class MatcherError(ValueError):
    """A matcher that cannot be read; the message quotes it."""


_MATCHER = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$")


@dataclass(frozen=True)
class Matcher:
    """One condition on one label."""

    name: str
    op: MatchOp
    value: str

    def __post_init__(self) -> None:
        if self.op in (MatchOp.REGEX, MatchOp.NOT_REGEX):
            try:
                re.compile(self.value)
            except re.error as exc:
                raise MatcherError(f"{self}: not a regular expression ({exc})") from None

    @classmethod
    def parse(cls, text: str) -> Matcher:
        """``vendor="xero"`` (quotes optional) → a matcher; :class:`MatcherError` otherwise."""
        found = _MATCHER.match(text)
        if not found:
            raise MatcherError(f'{text!r}: not a matcher; write name="value", !=, =~ or !~')
        name, op, value = found.groups()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        return cls(name, MatchOp(op), value)

    def matches(self, labels: Mapping[str, str]) -> bool:
        value = labels.get(self.name, "")
        if self.op is MatchOp.EQUAL:
            return value == self.value
        if self.op is MatchOp.NOT_EQUAL:
            return value != self.value
        found = re.fullmatch(self.value, value) is not None
        return found if self.op is MatchOp.REGEX else not found

    def __str__(self) -> str:
        return f'{self.name}{self.op}"{self.value}"'


def parse_matchers(items: Iterable[str | Matcher] | Mapping[str, str]) -> tuple[Matcher, ...]:
    """Matchers from their texts, or from a table of label → value (each an equality)."""
    if isinstance(items, Mapping):
        return tuple(Matcher(str(k), MatchOp.EQUAL, str(v)) for k, v in items.items())
    return tuple(m if isinstance(m, Matcher) else Matcher.parse(str(m)) for m in items)


def match_all(matchers: Iterable[Matcher], labels: Mapping[str, str]) -> bool:
    """Every matcher holds for ``labels`` (no matchers: every alert)."""
    return all(m.matches(labels) for m in matchers)
