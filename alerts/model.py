"""What an alert is once evaluated, and what a channel is handed to send.

An :class:`Alert` is one instance of a rule's condition for one label set (a rule over practices
yields one alert per practice), identified by a stable :attr:`Alert.fingerprint` of its rule and
labels. A :class:`Notification` is one message to one channel about one group of alerts (grouped
by rule and the route's ``group_by`` labels), firing or resolved. Channels (:class:`Channel`)
render and send a notification; a failure raises :class:`DeliveryError`, saying whether trying
again later may succeed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Protocol

from sync.store import AlertStatus, ChannelKind, Severity


def fingerprint(rule: str, labels: Mapping[str, str]) -> str:
    """A stable identity for ``rule`` over ``labels``: the same on every evaluation and restart."""
    text = "\x1f".join([rule, *(f"{key}\x1e{labels[key]}" for key in sorted(labels))])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Cause:
    """One of the top causes behind an alert, e.g. a category with its count and money."""

    label: str  # e.g. "rate_card_missing"
    detail: str  # e.g. "37 entries · USD 48,200"
    link: str | None = None  # the dashboard view of just this cause


@dataclass(frozen=True)
class Alert:
    """One firing or resolved instance of a rule for one label set."""

    rule: str
    severity: Severity
    status: AlertStatus
    labels: Mapping[str, str]  # "rule", "severity", the rule's own labels and the slice
    summary: str  # the rule's summary template, rendered
    link: str  # the dashboard view that explains it
    starts_at: datetime
    ends_at: datetime | None = None  # when it resolved
    value: float | None = None  # what was observed (a count, a percent, days, a burn rate …)
    threshold: float | None = None
    unit: str = ""  # "%", "days", "entries", "×" …
    value_at_risk: Decimal | None = None  # money at stake, in ``currency``
    currency: str = ""
    causes: tuple[Cause, ...] = ()

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.rule, self.labels)


@dataclass(frozen=True)
class RulePolicy:
    """What the pipeline needs of a rule: how long its condition must hold before it fires
    (``for``), and the labels its alerts are grouped by besides the rule."""

    name: str
    severity: Severity
    hold_for: timedelta = timedelta(0)
    group_by: tuple[str, ...] = ()


@dataclass(frozen=True)
class Evaluation:
    """One rule evaluated at ``at``: the alerts whose condition holds now (firing candidates).

    A rule that could not be evaluated (its data missing, a KPI undefined) carries ``error`` and
    no alerts; the pipeline keeps that rule's alerts as they were instead of resolving them."""

    policy: RulePolicy
    at: datetime
    alerts: tuple[Alert, ...]
    error: str | None = None


@dataclass(frozen=True)
class Notification:
    """One message to one channel about one group of alerts."""

    group_key: str  # the rule and the group_by label values, e.g. "xero-posting{vendor=xero}"
    rule: str
    severity: Severity
    status: AlertStatus  # firing while any alert of the group fires
    group_labels: Mapping[str, str]
    alerts: tuple[Alert, ...]
    dashboard_url: str  # where "open plan2cash" points
    created_at: datetime
    kind: str = "notify"  # "notify" | "test" (alerts test sends a sample)
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def firing(self) -> tuple[Alert, ...]:
        return tuple(a for a in self.alerts if a.status is AlertStatus.FIRING)

    @property
    def resolved(self) -> tuple[Alert, ...]:
        return tuple(a for a in self.alerts if a.status is AlertStatus.RESOLVED)

    def value_at_risk(self) -> tuple[Decimal, str] | None:
        """The money at stake over the firing alerts, when they share one currency."""
        amounts = [(a.value_at_risk, a.currency) for a in self.firing if a.value_at_risk]
        currencies = {currency for _, currency in amounts}
        if not amounts or len(currencies) != 1:
            return None
        return sum((amount for amount, _ in amounts if amount), Decimal(0)), currencies.pop()


class DeliveryError(Exception):
    """A channel could not deliver; ``retryable`` says whether a later attempt may succeed.

    The message never holds a secret (no webhook URL, no password)."""

    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None):
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


class Channel(Protocol):
    """Renders and sends a notification; raises :class:`DeliveryError` when it cannot."""

    kind: ChannelKind

    def render(self, notification: Notification) -> str:
        """The message as it would be sent (for the notification log), secrets left out."""
        ...

    def send(self, notification: Notification) -> None: ...
