"""Alert notifications to a Slack incoming webhook, as Block Kit.

A message is a header (the title), a section of fields (value at risk, counts, severity, value
against threshold), one section per alert (the first :data:`LISTED_ALERTS`, the rest counted),
the top causes, a button to the dashboard view that explains the alert, and a context line (rule,
fingerprint). Text from data is escaped for mrkdwn (``&``, ``<``, ``>``), so an alert's text can
neither ping ``<!channel>`` nor forge a link; ``text`` carries the fallback Slack shows in
notifications.

Replies are sorted into :class:`~alerts.model.DeliveryError`: 429 (with its ``Retry-After``),
5xx, timeouts and connection failures may succeed later; other 4xx (``invalid_token``,
``no_service``, ``channel_is_archived``, ``invalid_payload``) need a person. The webhook URL is
the credential: it is never in an error message, and :func:`hide_in_httpx_log` keeps it out of
httpx's request log.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from alerts.channels import phrasing
from alerts.model import Alert, AlertStatus, ChannelKind, DeliveryError, Notification
from sync.settings_alerts import SlackChannel

LISTED_ALERTS = 20  # sections of one alert each; well inside Slack's 50 blocks
HEADER_CHARS = 150
SECTION_CHARS = 3000
FIELD_CHARS = 2000
BUTTON_TEXT_CHARS = 75
_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def escape(text: str) -> str:
    """``text`` safe inside mrkdwn: ``&``, ``<`` and ``>`` as Slack's entities."""
    return re.sub(r"[&<>]", lambda match: _ESCAPES[match.group()], text)


def link(url: str, label: str) -> str:
    """A mrkdwn link ``<url|label>`` whose URL and label cannot break out of it."""
    return f"<{escape(url).replace('|', '%7C')}|{escape(label)}>"


def cut(text: str, limit: int) -> str:
    """``text`` within ``limit`` characters, an ellipsis marking a cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


class SlackNotifier:
    """Posts a notification to one incoming webhook; ``transport`` stands in for the network."""

    kind = ChannelKind.SLACK

    def __init__(
        self, settings: SlackChannel, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.settings = settings
        self._transport = transport
        hide_in_httpx_log(settings.webhook_url.get_secret_value())

    def payload(self, notification: Notification) -> dict[str, Any]:
        """The JSON body posted to the webhook."""
        return {"text": escape(phrasing.title(notification)), "blocks": blocks(notification)}

    def render(self, notification: Notification) -> str:
        return json.dumps(self.payload(notification), indent=2, ensure_ascii=False)

    def send(self, notification: Notification) -> None:
        body = json.dumps(self.payload(notification), ensure_ascii=False).encode()
        url = self.settings.webhook_url.get_secret_value()
        try:
            with httpx.Client(
                transport=self._transport, timeout=self.settings.timeout_seconds
            ) as client:
                response = client.post(
                    url, content=body, headers={"Content-Type": "application/json"}
                )
        except httpx.TimeoutException:
            raise DeliveryError("slack: the webhook timed out", retryable=True) from None
        except httpx.HTTPError as exc:
            said = _hide(str(exc), url) or type(exc).__name__
            message = f"slack: the webhook could not be reached ({said})"
            raise DeliveryError(message, retryable=True) from None
        _check(response, url)


def blocks(notification: Notification) -> list[dict[str, Any]]:
    """The Block Kit blocks of ``notification`` (at most ``LISTED_ALERTS`` + 6)."""
    alerts = phrasing.shown_alerts(notification)
    result: list[dict[str, Any]] = [
        {"type": "header", "text": _plain(cut(phrasing.title(notification), HEADER_CHARS))},
        {"type": "section", "fields": _fields(notification)},
    ]
    if phrasing.is_test(notification):
        result.append(_context("This is a test sent by `plan2cash alerts test`; nothing is wrong."))
    result.append({"type": "divider"})
    result.extend(_alert_section(alert) for alert in alerts[:LISTED_ALERTS])
    if len(alerts) > LISTED_ALERTS:
        more = len(alerts) - LISTED_ALERTS
        result.append(_context(f"… and {more} more alerts: open plan2cash to see them all."))
    causes = phrasing.top_causes(notification.firing or notification.resolved)
    if causes:
        lines = [
            f"• {link(c.link, c.label) if c.link else escape(c.label)}: {escape(c.detail)}"
            for c in causes
        ]
        result.append(_mrkdwn_section(cut("*Top causes*\n" + "\n".join(lines), SECTION_CHARS)))
    result.append({"type": "actions", "elements": _buttons(notification, alerts)})
    result.append(_context(_footer(notification, alerts)))
    return result


def _fields(notification: Notification) -> list[dict[str, str]]:
    stake = notification.value_at_risk()
    alerts = phrasing.shown_alerts(notification)
    measured = phrasing.value_vs_threshold(alerts[0]) if len(alerts) == 1 else None
    pairs = [
        ("Value at risk", phrasing.money(*stake) if stake else "—"),
        ("Alerts", phrasing.counts(notification)),
        ("Severity", notification.severity.value),
        ("Value vs threshold", measured or ("each alert below" if len(alerts) > 1 else "—")),
    ]
    if notification.group_labels:
        pairs.append(("Slice", phrasing.slice_of(notification.group_labels)))
    return [
        {"type": "mrkdwn", "text": cut(f"*{name}*\n{escape(value)}", FIELD_CHARS)}
        for name, value in pairs
    ]


def _alert_section(alert: Alert) -> dict[str, Any]:
    line = phrasing.alert_line(alert)
    facts = [part for part in (line.measure, line.at_risk and f"{line.at_risk} at risk") if part]
    facts.append(f"since {line.since}" + (f", resolved {line.ended}" if line.ended else ""))
    if line.labels:
        facts.append(line.labels)
    text = f"*{line.status}* {link(alert.link, alert.summary)}\n" + escape(" · ".join(facts))
    return _mrkdwn_section(cut(text, SECTION_CHARS))


def _buttons(notification: Notification, alerts: tuple[Alert, ...]) -> list[dict[str, Any]]:
    elements: list[dict[str, Any]] = []
    if alerts:
        first = alerts[0]
        label = "Open the view" if len(alerts) == 1 else "Open the first alert's view"
        elements.append(_button(label, first.link, primary=first.status is AlertStatus.FIRING))
    if not alerts or alerts[0].link != notification.dashboard_url:
        elements.append(_button("Open plan2cash", notification.dashboard_url, primary=False))
    return elements


def _button(label: str, url: str, *, primary: bool) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "text": _plain(cut(label, BUTTON_TEXT_CHARS)),
        "url": url,
    }
    if primary:
        button["style"] = "primary"
    return button


def _footer(notification: Notification, alerts: tuple[Alert, ...]) -> str:
    prints = ", ".join(alert.fingerprint for alert in alerts[:3])
    if len(alerts) > 3:
        prints += ", …"
    parts = [f"rule {notification.rule}", f"group {notification.group_key}"]
    if prints:
        parts.append(f"fingerprint {prints}")
    return escape(" · ".join(parts))


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": False}


def _mrkdwn_section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": cut(text, SECTION_CHARS)}]}


def _check(response: httpx.Response, url: str) -> None:
    """Returns when Slack took the message; raises :class:`DeliveryError` saying why not."""
    if response.is_success:
        return
    status = response.status_code
    said = _hide(" ".join(response.text.split())[:200], url)
    message = f"slack: the webhook answered {status}" + (f" {said}" if said else "")
    if status == 429:
        retry_after = retry_after_seconds(response.headers.get("Retry-After"))
        raise DeliveryError(message, retryable=True, retry_after=retry_after)
    raise DeliveryError(message, retryable=status >= 500 or status == 408)


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """``Retry-After`` in seconds: a number of seconds or an HTTP date; None when absent or
    unreadable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _hide(text: str, url: str) -> str:
    """``text`` with the webhook URL, and its path alone, taken out."""
    path = httpx.URL(url).path
    text = text.replace(url, "<webhook>")
    return text.replace(path, "/***") if len(path) > 1 else text


class _WebhookRedaction(logging.Filter):
    """Rewrites httpx's ``HTTP Request: POST <url>`` lines so the webhook URL is not logged."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.urls:
            return True
        message = record.getMessage()
        hidden = message
        for url in self.urls:
            hidden = _hide(hidden, url)
        if hidden != message:
            record.msg, record.args = hidden, None
        return True


_REDACTION = _WebhookRedaction()


def hide_in_httpx_log(url: str) -> None:
    """Keeps ``url`` out of what httpx logs about the requests it sends."""
    logger = logging.getLogger("httpx")
    if _REDACTION not in logger.filters:
        logger.addFilter(_REDACTION)
    _REDACTION.urls.add(url)
