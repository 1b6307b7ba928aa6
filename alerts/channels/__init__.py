"""The channels alert notifications go out through: email over SMTP and Slack webhooks.

``channels_from(settings)`` gives one :class:`~alerts.model.Channel` per configured channel;
each renders a :class:`~alerts.model.Notification` (``render``, for the notification log) and
sends it (``send``, raising :class:`~alerts.model.DeliveryError` that says whether to retry).
Retrying, backoff and pacing belong to the pipeline, not to the channels.
"""

from __future__ import annotations

from alerts.channels.email import EmailNotifier
from alerts.channels.sample import sample_notification
from alerts.channels.slack import SlackNotifier
from alerts.model import Channel
from sync.settings_alerts import AlertsSettings

__all__ = ["EmailNotifier", "SlackNotifier", "channels_from", "sample_notification"]


def channels_from(settings: AlertsSettings) -> list[Channel]:
    """The channels ``settings`` configures, email first; none when neither section is set."""
    channels: list[Channel] = []
    if settings.email is not None:
        channels.append(EmailNotifier(settings.email))
    if settings.slack is not None:
        channels.append(SlackNotifier(settings.slack))
    return channels
