"""A realistic notification, marked as a test, for ``plan2cash alerts test --channel …``."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from alerts.model import Alert, AlertStatus, Cause, Notification, Severity

SAMPLE_RULE = "xero-posting"


def sample_notification(dashboard_url: str, now: datetime) -> Notification:
    """Xero refusing invoice posts for 20 minutes, USD 48,200 of invoices waiting: one firing
    page with its causes and links into ``dashboard_url``, ``kind="test"``."""
    base = dashboard_url.rstrip("/")
    labels = {"rule": SAMPLE_RULE, "severity": "page", "vendor": "xero", "flow": "invoices"}
    alert = Alert(
        rule=SAMPLE_RULE,
        severity=Severity.PAGE,
        status=AlertStatus.FIRING,
        labels=labels,
        summary="Xero posting failing: every invoice post refused for 20 minutes",
        link=f"{base}/health?vendor=xero",
        starts_at=now - timedelta(minutes=20),
        value=100.0,
        threshold=5.0,
        unit="%",
        value_at_risk=Decimal("48200"),
        currency="USD",
        causes=(
            Cause(
                "post_failed",
                "12 invoices refused · USD 41,700",
                f"{base}/exceptions?category=post_failed&status=open",
            ),
            Cause(
                "rate_card_missing",
                "37 entries held · USD 6,500",
                f"{base}/exceptions?category=rate_card_missing&status=open",
            ),
        ),
    )
    return Notification(
        group_key=f"{SAMPLE_RULE}{{vendor=xero}}",
        rule=SAMPLE_RULE,
        severity=Severity.PAGE,
        status=AlertStatus.FIRING,
        group_labels={"vendor": "xero"},
        alerts=(alert,),
        dashboard_url=dashboard_url,
        created_at=now,
        kind="test",
    )
