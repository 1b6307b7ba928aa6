"""Alert rules as data: the ``[[alerts.rules]]`` tables of the settings, or the default rules that
ship with plan2cash (``alerts/default_rules.toml``), loaded into typed rules.

:func:`load_rules` refuses a bad rule with a :class:`RuleError` naming the rule (by name, or by
its position when it has none) and the key at fault: an unknown kind, a threshold out of range, an
unknown KPI, slice dimension, flow, category, vendor or SLI, an unknown summary placeholder, a
duplicate name.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Annotated, Any

from pydantic import Field, TypeAdapter, ValidationError

from alerts.model import RulePolicy
from alerts.rule_kinds import (
    CloseRiskRule,
    ExceptionsRule,
    KpiRule,
    SloRule,
    StalenessRule,
    VendorRule,
)

Rule = Annotated[
    KpiRule | ExceptionsRule | StalenessRule | VendorRule | SloRule | CloseRiskRule,
    Field(discriminator="kind"),
]
KINDS = ("kpi", "exceptions", "staleness", "vendor", "slo", "close_risk")
RULE: TypeAdapter[Rule] = TypeAdapter(Rule)


class RuleError(ValueError):
    """A rule that cannot be loaded; the message names the rule and the key."""

    def __init__(self, rule: str, key: str, problem: str) -> None:
        super().__init__(f"alerts.rules {rule}: {key}: {problem}")
        self.rule, self.key, self.problem = rule, key, problem


@dataclass(frozen=True)
class RuleSet:
    """The rules in force, in the order given; names are unique."""

    rules: tuple[Rule, ...]

    def __iter__(self) -> Iterator[Rule]:
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)

    def __getitem__(self, name: str) -> Rule:
        for rule in self.rules:
            if rule.name == name:
                return rule
        raise KeyError(name)

    def kinds(self) -> set[str]:
        return {rule.kind for rule in self.rules}

    def of_kind(self, kind: str) -> list[Rule]:
        return [rule for rule in self.rules if rule.kind == kind]

    @property
    def policies(self) -> tuple[RulePolicy, ...]:
        return tuple(rule.policy for rule in self.rules)


def default_tables() -> list[dict[str, Any]]:
    """The default rules' tables, as shipped."""
    text = resources.files("alerts").joinpath("default_rules.toml").read_text(encoding="utf-8")
    return list(tomllib.loads(text)["rules"])


def load_rules(tables: Sequence[dict[str, Any]] | None) -> RuleSet:
    """``tables`` as typed rules (None: the default rules; an empty list: no rules)."""
    given = default_tables() if tables is None else list(tables)
    rules: list[Rule] = []
    seen: set[str] = set()
    for index, table in enumerate(given):
        rule = _one(index, table)
        if rule.name in seen:
            raise RuleError(_who(index, table), "name", f"duplicate rule name {rule.name!r}")
        seen.add(rule.name)
        rules.append(rule)
    return RuleSet(tuple(rules))


def _who(index: int, table: Any) -> str:
    name = table.get("name") if isinstance(table, dict) else None
    return f"[{index}] {name!r}" if isinstance(name, str) and name else f"[{index}]"


def _one(index: int, table: Any) -> Rule:
    who = _who(index, table)
    if not isinstance(table, dict):
        raise RuleError(who, "rule", "a rule is a table of keys")
    kind = table.get("kind")
    if kind not in KINDS:
        raise RuleError(who, "kind", f"unknown kind {kind!r} (known: {', '.join(KINDS)})")
    try:
        return RULE.validate_python(table)
    except ValidationError as error:
        first = error.errors()[0]
        where = [str(part) for part in first["loc"][1:]]  # the first part is the kind tag
        message = str(first["msg"]).removeprefix("Value error, ")
        if where:
            raise RuleError(who, ".".join(where), message) from None
        raise RuleError(who, *_key_of(message)) from None


def _key_of(message: str) -> tuple[str, str]:
    """The key a rule-level check names at the start of its message (``"kpi: …"``), and the
    rest of the message."""
    head, colon, rest = message.partition(":")
    return (head.strip(), rest.strip()) if colon and len(head) < 60 else ("rule", message)
