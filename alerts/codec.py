"""Alerts and notifications as JSON the store keeps, and back; an alert from its stored row.

A notification is kept as sent (``NotificationRow.notification``) so a retry hands the channel
the same message, whatever the alerts have done since.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from alerts.model import Alert, AlertStatus, Cause, Notification, Severity
from sync.store import AlertRow, AlertState


def alert_to_json(alert: Alert) -> dict[str, Any]:
    return {
        "rule": alert.rule,
        "severity": str(alert.severity),
        "status": str(alert.status),
        "labels": dict(alert.labels),
        "summary": alert.summary,
        "link": alert.link,
        "starts_at": alert.starts_at.isoformat(),
        "ends_at": alert.ends_at.isoformat() if alert.ends_at else None,
        "value": alert.value,
        "threshold": alert.threshold,
        "unit": alert.unit,
        "value_at_risk": None if alert.value_at_risk is None else str(alert.value_at_risk),
        "currency": alert.currency,
        "causes": causes_to_json(alert.causes),
    }


def alert_from_json(data: dict[str, Any]) -> Alert:
    return Alert(
        rule=data["rule"],
        severity=Severity(data["severity"]),
        status=AlertStatus(data["status"]),
        labels=dict(data["labels"]),
        summary=data["summary"],
        link=data["link"],
        starts_at=datetime.fromisoformat(data["starts_at"]),
        ends_at=datetime.fromisoformat(data["ends_at"]) if data.get("ends_at") else None,
        value=data.get("value"),
        threshold=data.get("threshold"),
        unit=data.get("unit", ""),
        value_at_risk=None if data.get("value_at_risk") is None else Decimal(data["value_at_risk"]),
        currency=data.get("currency", ""),
        causes=causes_from_json(data.get("causes", [])),
    )


def causes_to_json(causes: tuple[Cause, ...]) -> list[dict[str, Any]]:
    return [{"label": c.label, "detail": c.detail, "link": c.link} for c in causes]


def causes_from_json(data: list[dict[str, Any]]) -> tuple[Cause, ...]:
    return tuple(Cause(c["label"], c["detail"], c.get("link")) for c in data)


def notification_to_json(notification: Notification) -> dict[str, Any]:
    return {
        "group_key": notification.group_key,
        "rule": notification.rule,
        "severity": str(notification.severity),
        "status": str(notification.status),
        "group_labels": dict(notification.group_labels),
        "alerts": [alert_to_json(a) for a in notification.alerts],
        "dashboard_url": notification.dashboard_url,
        "created_at": notification.created_at.isoformat(),
        "kind": notification.kind,
        "extra": dict(notification.extra),
    }


def notification_from_json(data: dict[str, Any]) -> Notification:
    return Notification(
        group_key=data["group_key"],
        rule=data["rule"],
        severity=Severity(data["severity"]),
        status=AlertStatus(data["status"]),
        group_labels=dict(data["group_labels"]),
        alerts=tuple(alert_from_json(a) for a in data["alerts"]),
        dashboard_url=data["dashboard_url"],
        created_at=datetime.fromisoformat(data["created_at"]),
        kind=data.get("kind", "notify"),
        extra=dict(data.get("extra", {})),
    )


def alert_from_row(row: AlertRow) -> Alert:
    """The alert a stored instance stands for (a firing or resolved one; pending ones are not
    alerts yet)."""
    resolved = row.state is AlertState.RESOLVED
    started = row.active_since or row.pending_since or row.evaluated_at
    return Alert(
        rule=row.rule,
        severity=Severity(row.severity),
        status=AlertStatus.RESOLVED if resolved else AlertStatus.FIRING,
        labels={str(k): str(v) for k, v in row.labels.items()},
        summary=row.summary,
        link=row.link,
        starts_at=started,
        ends_at=row.resolved_at if resolved else None,
        value=row.value,
        threshold=row.threshold,
        unit=row.unit,
        value_at_risk=row.value_at_risk,
        currency=row.currency,
        causes=causes_from_json(row.causes),
    )
