"""Reading and writing the alerting state: alert instances, groups per channel, silences and the
notification log.

Session first: the caller owns the transaction. Rows are returned attached to the session, so a
caller changes a row by setting its attributes inside the same transaction.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from sync.store.tables_alerts import AlertGroupRow, AlertRow, NotificationRow, SilenceRow
from sync.store.vocabulary import UNSENT_STATUSES, AlertState, DeliveryStatus

# --- alert instances ------------------------------------------------------------------------


def alert_rows(
    session: Session,
    *,
    rules: Collection[str] | None = None,
    states: Collection[AlertState] | None = None,
) -> list[AlertRow]:
    """The alert instances of ``rules`` in ``states`` (every one when not given), oldest first."""
    statement = select(AlertRow).order_by(AlertRow.rule, AlertRow.fingerprint)
    if rules is not None:
        statement = statement.where(AlertRow.rule.in_(list(rules)))
    if states is not None:
        statement = statement.where(AlertRow.state.in_(list(states)))
    return list(session.scalars(statement))


def add_alert(session: Session, **columns: Any) -> AlertRow:
    """A new alert instance (flushed at commit)."""
    row = AlertRow(**columns)
    session.add(row)
    return row


def drop_alerts(session: Session, fingerprints: Collection[str]) -> None:
    """Forget alert instances (pending ones whose condition stopped holding before they fired)."""
    if fingerprints:
        session.execute(delete(AlertRow).where(AlertRow.fingerprint.in_(list(fingerprints))))


def forget_resolved(session: Session, before: datetime) -> int:
    """Drop the alerts that resolved before ``before`` (the history keeps their notifications)."""
    result = session.execute(
        delete(AlertRow).where(AlertRow.state == AlertState.RESOLVED, AlertRow.resolved_at < before)
    )
    return int(getattr(result, "rowcount", 0) or 0)


# --- groups per channel ---------------------------------------------------------------------


def alert_groups(session: Session) -> dict[tuple[str, str], AlertGroupRow]:
    """Every group as each channel knows it, by (channel, group key)."""
    return {(g.channel, g.group_key): g for g in session.scalars(select(AlertGroupRow))}


def add_alert_group(
    session: Session, channel: str, group_key: str, rule: str, *, at: datetime, flush_at: datetime
) -> AlertGroupRow:
    """A group a channel has not heard about yet, to flush at ``flush_at`` (after group_wait)."""
    row = AlertGroupRow(
        channel=channel,
        group_key=group_key,
        rule=rule,
        created_at=at,
        next_flush_at=flush_at,
        last_notified_at=None,
        last_firing=[],
        last_resolved=[],
    )
    session.add(row)
    return row


# --- silences -------------------------------------------------------------------------------


def add_silence(session: Session, **columns: Any) -> SilenceRow:
    row = SilenceRow(**columns)
    session.add(row)
    return row


def silence(session: Session, silence_id: str) -> SilenceRow | None:
    return session.get(SilenceRow, silence_id)


def silences(
    session: Session, *, at: datetime | None = None, active_only: bool = False
) -> list[SilenceRow]:
    """Silences, newest first; with ``active_only``, those in force at ``at`` (started, not
    ended, not expired); otherwise every one not yet over at ``at`` (when given) or all."""
    statement = select(SilenceRow).order_by(SilenceRow.created_at.desc(), SilenceRow.id)
    if at is not None:
        statement = statement.where(SilenceRow.expired_at.is_(None), SilenceRow.ends_at > at)
        if active_only:
            statement = statement.where(SilenceRow.starts_at <= at)
    return list(session.scalars(statement))


# --- the notification log -------------------------------------------------------------------


def log_notification(session: Session, **columns: Any) -> NotificationRow:
    """A notification about to be sent: logged ``pending`` with the rendered message."""
    row = NotificationRow(delivery=DeliveryStatus.PENDING, attempts=0, **columns)
    session.add(row)
    return row


def due_notifications(session: Session, at: datetime) -> list[NotificationRow]:
    """The notifications to try now (pending or retrying, their time come), oldest first."""
    due = NotificationRow.next_attempt_at
    return list(
        session.scalars(
            select(NotificationRow)
            .where(
                NotificationRow.delivery.in_(UNSENT_STATUSES),
                or_(due.is_(None), due <= at),
            )
            .order_by(NotificationRow.created_at, NotificationRow.id)
        )
    )


def notification(session: Session, notification_id: int) -> NotificationRow | None:
    return session.get(NotificationRow, notification_id)


def notification_log(
    session: Session,
    *,
    limit: int = 200,
    channels: Sequence[str] | None = None,
    deliveries: Sequence[DeliveryStatus] | None = None,
) -> list[NotificationRow]:
    """The newest notifications first (the history the CLI and the Alerts page show)."""
    statement = select(NotificationRow).order_by(
        NotificationRow.created_at.desc(), NotificationRow.id.desc()
    )
    if channels is not None:
        statement = statement.where(NotificationRow.channel.in_(list(channels)))
    if deliveries is not None:
        statement = statement.where(NotificationRow.delivery.in_(list(deliveries)))
    return list(session.scalars(statement.limit(limit)))
