"""Alerting state: alert instances, what each channel was last told about each group, silences
and the notification log. Everything the alert pipeline decides from is here, so a restart
neither sends a notification twice nor forgets one.

Severities (``page``, ``ticket``, ``info``) and channels (``email``, ``slack``) are the words of
``sync.store.vocabulary`` (``alerts.model`` re-exports them), kept as text.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sync.store.columns import Base
from sync.store.vocabulary import AlertState, ChannelKind, DeliveryStatus, Severity

ROW_ID = BigInteger().with_variant(Integer, "sqlite")


class AlertRow(Base):
    """One alert instance: a rule's condition over one label set, identified by its
    fingerprint, with the state it is in and what was last observed."""

    __tablename__ = "alerts"
    fingerprint: Mapped[str] = mapped_column(String(32), primary_key=True)
    rule: Mapped[str] = mapped_column(String(128), index=True)
    group_key: Mapped[str] = mapped_column(String(512))  # the rule and its group_by labels
    group_labels: Mapped[dict[str, Any]]
    labels: Mapped[dict[str, Any]]
    severity: Mapped[Severity]
    state: Mapped[AlertState] = mapped_column(index=True)
    pending_since: Mapped[datetime | None]
    active_since: Mapped[datetime | None]  # firing since
    resolved_at: Mapped[datetime | None]
    evaluated_at: Mapped[datetime]  # the last evaluation that saw the condition hold
    value: Mapped[float | None]
    threshold: Mapped[float | None]
    unit: Mapped[str] = mapped_column(String(16), default="")
    value_at_risk: Mapped[Decimal | None]
    currency: Mapped[str] = mapped_column(String(3), default="")
    summary: Mapped[str] = mapped_column(Text)
    link: Mapped[str] = mapped_column(Text)
    causes: Mapped[list[Any]]  # [{"label", "detail", "link"}]


class AlertGroupRow(Base):
    """A group of alerts (a rule and its group_by label values) as one channel knows it: when it
    next flushes and what the channel was last told (the firing and resolved fingerprints)."""

    __tablename__ = "alert_groups"
    channel: Mapped[ChannelKind] = mapped_column(primary_key=True)
    group_key: Mapped[str] = mapped_column(String(512), primary_key=True)
    rule: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime]
    next_flush_at: Mapped[datetime | None]  # null while the group has nothing to say
    last_notified_at: Mapped[datetime | None]
    last_firing: Mapped[list[Any]]  # fingerprints the last notification said fire
    last_resolved: Mapped[list[Any]]  # fingerprints it said had resolved


class SilenceRow(Base):
    """A person's decision to hear nothing about the alerts its matchers select, for a while."""

    __tablename__ = "alert_silences"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    matchers: Mapped[list[Any]]  # ['vendor="xero"', 'severity=~"ticket|info"']
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime] = mapped_column(index=True)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(128))
    comment: Mapped[str] = mapped_column(Text)
    expired_at: Mapped[datetime | None]
    expired_by: Mapped[str | None] = mapped_column(String(128))


class NotificationRow(Base):
    """One notification to one channel: logged before it is sent, with the message as rendered
    and how each attempt went (an error's text never holds a secret)."""

    __tablename__ = "alert_notifications"
    __table_args__ = (Index("ix_alert_notifications_due", "delivery", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(ROW_ID, primary_key=True)
    group_key: Mapped[str] = mapped_column(String(512), index=True)
    channel: Mapped[ChannelKind]
    rule: Mapped[str] = mapped_column(String(128))
    severity: Mapped[Severity]
    status: Mapped[AlertState]  # firing or resolved
    notification: Mapped[dict[str, Any]]  # what the channel is handed, to send it again
    message: Mapped[str] = mapped_column(Text)  # as rendered, secrets left out
    delivery: Mapped[DeliveryStatus]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(index=True)
    next_attempt_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
