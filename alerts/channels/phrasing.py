"""How a notification reads in every channel: its title, money, measures and slice.

The title is what a person sees first (an email subject, a Slack header and fallback text): the
severity, what happened, the slice (the group's labels) and the money at stake, e.g.
``[PAGE] Xero refuses invoice posts — vendor=xero — USD 48,200 at risk``; a group that cleared
reads ``[RESOLVED] …``; a sample sent by ``plan2cash alerts test`` starts ``[TEST]``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from alerts.model import Alert, AlertStatus, Cause, Notification

TOP_CAUSES = 5
TEST_KIND = "test"


def money(amount: Decimal, currency: str) -> str:
    """``USD 48,200``; cents only on small amounts that have them (``EUR 12.50``)."""
    whole = amount == amount.to_integral_value() or abs(amount) >= 1000
    figure = f"{amount:,.0f}" if whole else f"{amount:,.2f}"
    return f"{currency} {figure}".strip()


def number(value: float) -> str:
    """A measure as people write it: ``58.2``, ``1,250``, ``14.4`` (at most two decimals)."""
    text = f"{value:,.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def measure(value: float | None, unit: str) -> str:
    """``58.2 %``, ``45 days``, ``14.4×``: the unit glued on when it is a symbol; ``—`` for
    no value."""
    if value is None:
        return "—"
    if not unit:
        return number(value)
    return f"{number(value)}{unit}" if unit in ("×", "x") else f"{number(value)} {unit}"


def value_vs_threshold(alert: Alert) -> str | None:
    """``58.2 % (threshold 65 %)``, or None when the alert has no observed value."""
    if alert.value is None:
        return None
    observed = measure(alert.value, alert.unit)
    if alert.threshold is None:
        return observed
    return f"{observed} (threshold {measure(alert.threshold, alert.unit)})"


def at_risk(alert: Alert) -> str | None:
    """``USD 48,200`` when the alert puts money at stake."""
    if not alert.value_at_risk:
        return None
    return money(alert.value_at_risk, alert.currency)


def slice_of(labels: Mapping[str, str]) -> str:
    """``vendor=xero, practice=advisory``: the labels a group shares, in their given order."""
    return ", ".join(f"{key}={value}" for key, value in labels.items())


def moment(at: datetime) -> str:
    """``2024-05-02 09:15 UTC`` (naive times are taken as UTC)."""
    zone = at.tzname() or "UTC"
    return f"{at:%Y-%m-%d %H:%M} {zone}"


def is_test(notification: Notification) -> bool:
    return notification.kind == TEST_KIND


def tag(notification: Notification) -> str:
    """``[PAGE]``, ``[TICKET]``, ``[INFO]`` while firing; ``[RESOLVED]`` once cleared."""
    if notification.status is AlertStatus.RESOLVED:
        return "[RESOLVED]"
    return f"[{notification.severity.value.upper()}]"


def headline(notification: Notification) -> str:
    """The one alert's summary, or the rule with its counts when the group holds several."""
    shown = notification.firing or notification.resolved
    if len(shown) == 1:
        return shown[0].summary
    return f"{notification.rule}: {counts(notification)}"


def counts(notification: Notification) -> str:
    """``3 firing · 1 resolved`` (a zero count is left out)."""
    parts = [
        f"{len(group)} {name}"
        for name, group in (("firing", notification.firing), ("resolved", notification.resolved))
        if group
    ]
    return " · ".join(parts) or "no alerts"


def title(notification: Notification) -> str:
    """The subject line: tag, headline, slice and the money at stake while firing."""
    parts = [f"{tag(notification)} {headline(notification)}"]
    if notification.group_labels:
        parts.append(slice_of(notification.group_labels))
    stake = notification.value_at_risk()
    if stake is not None and notification.status is AlertStatus.FIRING:
        parts.append(f"{money(*stake)} at risk")
    text = " ".join(" — ".join(parts).split())  # one line, whatever the summary held
    return f"[TEST] {text}" if is_test(notification) else text


def top_causes(alerts: Iterable[Alert], limit: int = TOP_CAUSES) -> tuple[Cause, ...]:
    """The first ``limit`` distinct causes over ``alerts``, in the order the alerts give them."""
    seen: dict[tuple[str, str], Cause] = {}
    for alert in alerts:
        for cause in alert.causes:
            seen.setdefault((cause.label, cause.detail), cause)
    return tuple(seen.values())[:limit]


def shown_alerts(notification: Notification) -> tuple[Alert, ...]:
    """The alerts a message lists: the firing ones first, then the resolved."""
    return notification.firing + notification.resolved


@dataclass(frozen=True)
class AlertLine:
    """One alert as a message lists it, every part already worded."""

    status: str  # "FIRING" | "RESOLVED"
    summary: str
    link: str
    measure: str | None
    at_risk: str | None
    since: str
    ended: str | None
    labels: str
    causes: tuple[Cause, ...]


def alert_line(alert: Alert) -> AlertLine:
    return AlertLine(
        status=alert.status.value.upper(),
        summary=alert.summary,
        link=alert.link,
        measure=value_vs_threshold(alert),
        at_risk=at_risk(alert),
        since=moment(alert.starts_at),
        ended=moment(alert.ends_at) if alert.ends_at else None,
        labels=slice_of({k: v for k, v in alert.labels.items() if k not in ("rule", "severity")}),
        causes=alert.causes[:TOP_CAUSES],
    )
