"""Delivery: send the notifications whose time has come, outside any transaction, and record
each outcome in a short transaction of its own.

A send that fails with a retryable :class:`DeliveryError` is tried again on a later pass after
an exponential backoff (at least the channel's ``retry_after``); the channel's other due
notifications wait for that same moment instead of each failing in turn. A permanent failure,
or the last attempt failing, leaves the notification ``failed`` with the error (never a secret)
for the notification log to show. Nothing a channel raises leaves this step, and one channel's
failure does not hold up another. A crash between a send and its record sends that one
notification again: delivery is at least once, each decision exactly once.

Two messages to one channel are ``min_gap_seconds`` apart at least (Slack: one a second per
webhook); the clock and the sleep are injected so tests never wait.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from alerts.codec import notification_from_json
from alerts.model import Channel, ChannelKind, DeliveryError, Notification
from alerts.policy import DeliveryPolicy
from sync.store import DeliveryStatus, alerting, transaction

ERROR_LENGTH = 500


class Pacer:
    """Keeps sends to one channel ``gap`` seconds apart (a monotonic clock and a sleep)."""

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.clock, self.sleep = clock, sleep
        self.last: dict[ChannelKind, float] = {}

    def wait(self, channel: ChannelKind, gap: float) -> None:
        if gap > 0 and channel in self.last:
            remaining = self.last[channel] + gap - self.clock()
            if remaining > 0:
                self.sleep(remaining)

    def sent(self, channel: ChannelKind) -> None:
        self.last[channel] = self.clock()


@dataclass(frozen=True)
class Delivery:
    """How one attempt went."""

    id: int
    channel: ChannelKind
    group_key: str
    outcome: DeliveryStatus  # sent, retrying or failed
    attempts: int
    error: str | None = None
    next_attempt_at: datetime | None = None


@dataclass
class _Due:
    id: int
    channel: ChannelKind
    notification: Notification
    attempts: int


@dataclass
class DeliveryReport:
    deliveries: list[Delivery] = field(default_factory=list)
    deferred: list[int] = field(default_factory=list)  # their channel failed earlier this pass


def deliver_due(
    sessions: sessionmaker[Session],
    channels: Mapping[ChannelKind, Channel],
    policy: DeliveryPolicy,
    now: datetime,
    pacer: Pacer,
) -> DeliveryReport:
    """Send every notification due at ``now`` to a channel in ``channels``."""
    with transaction(sessions) as session:
        due = [
            _Due(r.id, ChannelKind(r.channel), notification_from_json(r.notification), r.attempts)
            for r in alerting.due_notifications(session, now)
        ]
    report = DeliveryReport()
    down: dict[ChannelKind, datetime] = {}  # channel → when its failed notification is retried
    for item in due:
        channel = channels.get(item.channel)
        if channel is None:
            continue  # not configured on this pass; it waits
        if item.channel in down:
            report.deferred.append(item.id)
            continue
        pacer.wait(item.channel, policy.min_gap_seconds.get(item.channel, 0.0))
        delivery = _attempt(channel, item, policy, now)
        pacer.sent(item.channel)
        with transaction(sessions) as session:
            _record(session, delivery, now)
        report.deliveries.append(delivery)
        if delivery.outcome is DeliveryStatus.RETRYING and delivery.next_attempt_at:
            down[item.channel] = delivery.next_attempt_at
    if report.deferred:
        with transaction(sessions) as session:
            _defer(session, report.deferred, due, down)
    return report


def _attempt(channel: Channel, item: _Due, policy: DeliveryPolicy, now: datetime) -> Delivery:
    attempts = item.attempts + 1
    retryable, retry_after = False, None
    try:
        channel.send(item.notification)
    except DeliveryError as exc:
        error, retryable, retry_after = str(exc)[:ERROR_LENGTH], exc.retryable, exc.retry_after
    except Exception as exc:  # a channel's own mistake; its text may hold a URL, so it is left out
        error, retryable = f"{type(exc).__name__} raised by the {item.channel} channel", True
    else:
        group = item.notification.group_key
        return Delivery(item.id, item.channel, group, DeliveryStatus.SENT, attempts)
    if retryable and attempts < policy.max_attempts:
        when = now + policy.backoff(attempts, retry_after)
        outcome = DeliveryStatus.RETRYING
    else:
        when, outcome = None, DeliveryStatus.FAILED
    group = item.notification.group_key
    return Delivery(item.id, item.channel, group, outcome, attempts, error, when)


def _record(session: Session, delivery: Delivery, now: datetime) -> None:
    row = alerting.notification(session, delivery.id)
    if row is None:
        return
    row.attempts, row.delivery = delivery.attempts, delivery.outcome
    row.error, row.next_attempt_at = delivery.error, delivery.next_attempt_at
    if delivery.outcome is DeliveryStatus.SENT:
        row.sent_at = now


def _defer(
    session: Session, ids: list[int], due: list[_Due], down: Mapping[ChannelKind, datetime]
) -> None:
    channel_of = {d.id: d.channel for d in due}
    for notification_id in ids:
        row = alerting.notification(session, notification_id)
        if row is not None:
            row.next_attempt_at = down[channel_of[notification_id]]
