"""Groups and their flushes: which channel hears what about which group, and when.

Each channel keeps its own view of a group (``AlertGroupRow``), with Alertmanager's timers: a
group a channel has not heard about waits ``group_wait`` so more alerts can join; after that it
flushes every ``group_interval``. A flush sends a notification when the channel has not heard
of some firing alert yet, when every alert it heard of has resolved, when ``send_resolved`` and
some alert resolved since, or when ``repeat_interval`` has passed since the last notification of
a group still firing; otherwise it stays quiet. Silenced and inhibited alerts are left out of a
flush; a flush that a mute timing holds is tried again on the next pass, and nothing of the
channel's view changes meanwhile.

A notification is logged ``pending`` in the same transaction as the channel's new view of the
group, so each is decided once, whatever restarts; the delivery step sends it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from alerts.codec import alert_from_row, notification_to_json
from alerts.model import AlertStatus, Channel, ChannelKind, Notification, Severity
from alerts.policy import PipelineConfig
from alerts.suppress import Suppression, common_labels, muted_by
from sync.store import AlertGroupRow, AlertRow, AlertState, alerting


@dataclass(frozen=True)
class Logged:
    """A notification decided on this pass (its delivery follows)."""

    id: int
    channel: ChannelKind
    group_key: str
    status: AlertStatus
    fingerprints: tuple[str, ...]


@dataclass
class FlushReport:
    logged: list[Logged] = field(default_factory=list)
    held: list[tuple[ChannelKind, str, str]] = field(default_factory=list)  # channel, group, mute


@dataclass
class _Member:
    row: AlertRow
    notify: bool  # firing and neither silenced nor inhibited
    send_resolved: bool


def flush_groups(
    session: Session,
    config: PipelineConfig,
    channels: Mapping[ChannelKind, Channel],
    suppression: Suppression,
    now: datetime,
) -> FlushReport:
    """Flush every group whose time has come, for every channel, as of ``now``."""
    report = FlushReport()
    members = _members(session, config, set(channels), suppression)
    groups = alerting.alert_groups(session)
    for (channel, key), group_members in sorted(members.items()):
        group = groups.get((channel, key))
        if group is None and any(m.notify for m in group_members):
            rule = group_members[0].row.rule
            at = now + config.group_wait
            groups[(channel, key)] = alerting.add_alert_group(
                session, channel, key, rule, at=now, flush_at=at
            )
        elif group is not None and group.next_flush_at is None and _wakes(group_members):
            group.next_flush_at = now + config.group_wait  # the group wakes: wait again
    for (name, key), group in sorted(groups.items()):
        kind = ChannelKind(name)
        if kind in channels and group.next_flush_at is not None and group.next_flush_at <= now:
            group_members = members.get((kind, key), [])
            _flush(session, config, channels[kind], group, group_members, now, report)
    return report


def _wakes(members: list[_Member]) -> bool:
    return any(m.notify for m in members)


def _members(
    session: Session,
    config: PipelineConfig,
    available: set[ChannelKind],
    suppression: Suppression,
) -> dict[tuple[ChannelKind, str], list[_Member]]:
    """The alerts of each (channel, group), as the routes send them."""
    members: dict[tuple[ChannelKind, str], list[_Member]] = defaultdict(list)
    rows = alerting.alert_rows(session, states=(AlertState.FIRING, AlertState.RESOLVED))
    for row in rows:
        labels = suppression.labels(row)
        notify = row.state is AlertState.FIRING and not suppression.suppressed(row.fingerprint)
        for channel, send_resolved in config.destinations(labels, Severity(row.severity)).items():
            if channel in available:
                members[(channel, row.group_key)].append(_Member(row, notify, send_resolved))
    return members


def _flush(
    session: Session,
    config: PipelineConfig,
    channel: Channel,
    group: AlertGroupRow,
    members: list[_Member],
    now: datetime,
    report: FlushReport,
) -> None:
    kind = ChannelKind(group.channel)
    still_firing = any(m.row.state is AlertState.FIRING for m in members)
    firing = {m.row.fingerprint: m.row for m in members if m.notify}
    told = set(group.last_firing)
    resolved = {
        m.row.fingerprint: m.row
        for m in members
        if m.row.state is AlertState.RESOLVED and m.row.fingerprint in told
    }
    if members:
        labels = common_labels([m.row for m in members])
        mute = muted_by(config, labels, Severity(members[0].row.severity), now)
        if mute is not None:
            report.held.append((kind, group.group_key, mute))
            return
    send_resolved = any(m.send_resolved for m in members) if members else True
    if _needs_update(config, group, set(firing), set(resolved), send_resolved, now):
        if firing or send_resolved:
            told_resolved = resolved.values() if send_resolved else ()
            rows = [*sorted(firing.values(), key=_order), *sorted(told_resolved, key=_order)]
            report.logged.append(_log(session, config, channel, group, rows, now))
        group.last_firing, group.last_resolved = sorted(firing), sorted(resolved)
        group.last_notified_at = now
    group.next_flush_at = now + config.group_interval if still_firing else None


def _order(row: AlertRow) -> list[tuple[str, str]]:
    """Alerts in a message in the order of their labels (a stable, readable order)."""
    return sorted((str(k), str(v)) for k, v in row.labels.items())


def _needs_update(
    config: PipelineConfig,
    group: AlertGroupRow,
    firing: set[str],
    resolved: set[str],
    send_resolved: bool,
    now: datetime,
) -> bool:
    """Alertmanager's rule for whether a flush notifies (its dedup stage)."""
    if group.last_notified_at is None:
        return bool(firing)
    if not firing <= set(group.last_firing):
        return True
    if not firing:
        return bool(group.last_firing)
    if send_resolved and not resolved <= set(group.last_resolved):
        return True
    return now - group.last_notified_at >= config.repeat_interval


def _log(
    session: Session,
    config: PipelineConfig,
    channel: Channel,
    group: AlertGroupRow,
    rows: list[AlertRow],
    now: datetime,
) -> Logged:
    alerts = tuple(alert_from_row(r) for r in rows)
    firing = any(a.status is AlertStatus.FIRING for a in alerts)
    status = AlertStatus.FIRING if firing else AlertStatus.RESOLVED
    notification = Notification(
        group_key=group.group_key,
        rule=group.rule,
        severity=alerts[0].severity,
        status=status,
        group_labels={str(k): str(v) for k, v in rows[0].group_labels.items()},
        alerts=alerts,
        dashboard_url=config.dashboard_url,
        created_at=now,
    )
    row = alerting.log_notification(
        session,
        group_key=group.group_key,
        channel=group.channel,
        rule=group.rule,
        severity=str(notification.severity),
        status=AlertState(status),
        notification=notification_to_json(notification),
        message=_render(channel, notification),
        created_at=now,
        next_attempt_at=now,
    )
    session.flush()
    kind = ChannelKind(group.channel)
    return Logged(row.id, kind, group.group_key, status, tuple(r.fingerprint for r in rows))


def _render(channel: Channel, notification: Notification) -> str:
    try:
        return channel.render(notification)
    except Exception as exc:  # a template's mistake must not stop the pass; the send will tell
        return f"(the message could not be rendered: {type(exc).__name__})"
