"""Building one :class:`~alerts.model.Alert` from a rule, a slice and what was measured: its labels,
the rendered summary and the dashboard link. Shared by every kind's evaluation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from urllib.parse import urlencode

from alerts.model import Alert, AlertStatus, Cause
from alerts.rule_base import RuleBase, render


@dataclass(frozen=True)
class Context:
    """When the rules are evaluated and where the dashboard's links point."""

    now: datetime
    dashboard_url: str

    def link(self, path: str, query: Mapping[str, str | Sequence[str] | None] | None = None) -> str:
        """``<dashboard_url>/<path>?<query>`` (``None`` values left out, lists repeated)."""
        base = self.dashboard_url.rstrip("/") + "/" + path.lstrip("/")
        kept = {k: v for k, v in (query or {}).items() if v is not None}
        return f"{base}?{urlencode(kept, doseq=True)}" if kept else base


def shown(value: float | Decimal | None) -> str:
    """A number as a person reads it: thousands separated, two decimals unless whole."""
    if value is None:
        return "—"
    number = float(value)
    return f"{number:,.0f}" if number == round(number) else f"{number:,.2f}"


@dataclass(frozen=True)
class Measured:
    """What one slice of a rule measured."""

    labels: Mapping[str, str]  # the slice: practice, flow, vendor, category, currency …
    value: float
    threshold: float
    unit: str
    link: str
    value_at_risk: Decimal | None = None
    currency: str = ""
    causes: tuple[Cause, ...] = ()
    fields: Mapping[str, str] | None = None  # extra summary fields (e.g. the period)


def alert(rule: RuleBase, measured: Measured, ctx: Context) -> Alert:
    """The firing alert of ``rule`` for one slice."""
    labels = {
        "rule": rule.name,
        "severity": rule.severity.value,
        **rule.labels,
        **{k: v for k, v in measured.labels.items() if v},
    }
    if measured.currency:
        labels["currency"] = measured.currency
    fields = {
        **labels,
        **(measured.fields or {}),
        "value": shown(measured.value),
        "threshold": shown(measured.threshold),
        "unit": measured.unit,
        "value_at_risk": shown(measured.value_at_risk) if measured.value_at_risk else "",
        "currency": measured.currency,
    }
    return Alert(
        rule=rule.name,
        severity=rule.severity,
        status=AlertStatus.FIRING,
        labels=labels,
        summary=render(rule.template, fields),
        link=measured.link,
        starts_at=ctx.now,
        value=measured.value,
        threshold=measured.threshold,
        unit=measured.unit,
        value_at_risk=measured.value_at_risk,
        currency=measured.currency,
        causes=measured.causes,
    )


def beyond(value: float | None, *, above: float | None, below: float | None) -> bool:
    """Whether ``value`` is past the threshold (strictly); an unknown value never is."""
    if value is None:
        return False
    if above is not None:
        return value > above
    return below is not None and value < below
