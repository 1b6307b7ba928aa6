"""What every alert rule has: a name, a kind, a severity, how long its condition must hold
(``for``), labels, a summary template and the labels its alerts are grouped by.

Durations are written ``"30s"``, ``"10m"``, ``"2h"``, ``"3d"`` (or a number of seconds). A summary
is a template of bare ``{placeholders}`` naming the alert's fields (:data:`COMMON_FIELDS`, the
kind's own slice labels, the rule's labels); an unknown placeholder or a format spec is refused
when the rule loads, so a rule never fails to render at three in the morning.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from datetime import timedelta
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from alerts.model import RulePolicy, Severity

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")
NAME = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,79}$"
COMMON_FIELDS = ("rule", "severity", "value", "threshold", "unit", "value_at_risk", "currency")


def parse_duration(value: Any) -> timedelta:
    """``"10m"``, ``"2h"``, ``"3d"``, ``"45s"`` or a number of seconds, as a ``timedelta``."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError(f"a duration is like '10m', '2h', '3d' or seconds, not {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        found = DURATION.match(str(value))
        if not found:
            raise ValueError(f"a duration is like '10m', '2h', '3d' or seconds, not {value!r}")
        seconds = float(found.group(1)) * UNITS[found.group(2)]
    if seconds < 0:
        raise ValueError(f"a duration cannot be negative: {value!r}")
    return timedelta(seconds=seconds)


def duration_text(length: timedelta) -> str:
    """``5m``, ``6h``, ``3d``: a duration as rules write it (the inverse of :func:`parse_duration`
    for whole seconds)."""
    seconds = int(length.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


def placeholders(template: str) -> list[str]:
    """The names a template uses; refuses format specs, conversions and positional fields."""
    names = []
    for _text, name, spec, conversion in string.Formatter().parse(template):
        if name is None:
            continue
        if not name.isidentifier():
            raise ValueError(f"summary: placeholder {{{name}}} is not a field name")
        if spec or conversion:
            raise ValueError(
                f"summary: placeholder {{{name}}} takes no format; values come formatted"
            )
        names.append(name)
    return names


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


def render(template: str, fields: Mapping[str, object]) -> str:
    """The template with each placeholder replaced (an absent field renders empty)."""
    shown = _Blank({k: "" if v is None else str(v) for k, v in fields.items()})
    return template.format_map(shown)


class RuleBase(BaseModel):
    """The fields every kind shares. Kinds add their parameters and say which slice labels
    their alerts carry (``slice_fields``, usable in the summary and ``group_by``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    slice_fields: ClassVar[tuple[str, ...]] = ()
    default_summary: ClassVar[str] = "{rule}: {value} {unit} (threshold {threshold})"

    name: str = Field(pattern=NAME)
    severity: Severity = Severity.TICKET
    hold_for: Duration = Field(default=timedelta(0), alias="for")
    labels: dict[str, str] = Field(default_factory=dict)
    summary: str | None = None
    group_by: tuple[str, ...] = ()

    def fields(self) -> tuple[str, ...]:
        """The names a summary may use and ``group_by`` may name."""
        return (*COMMON_FIELDS, *self.slice_fields, *self.labels)

    @model_validator(mode="after")
    def _known_fields(self) -> RuleBase:
        allowed = set(self.fields())
        for name in placeholders(self.summary or ""):
            if name not in allowed:
                raise ValueError(
                    f"summary: unknown placeholder {{{name}}} (known: {', '.join(sorted(allowed))})"
                )
        labels = (set(self.fields()) - {"value", "threshold", "unit", "value_at_risk"}) | {
            "severity"
        }
        for label in self.group_by:
            if label not in labels:
                raise ValueError(f"group_by: unknown label {label!r} (known: {sorted(labels)})")
        return self

    @property
    def policy(self) -> RulePolicy:
        return RulePolicy(
            name=self.name, severity=self.severity, hold_for=self.hold_for, group_by=self.group_by
        )

    @property
    def template(self) -> str:
        return self.summary or self.default_summary
