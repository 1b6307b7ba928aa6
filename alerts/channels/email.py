"""Alert notifications by email: SMTP (plain, STARTTLS or implicit TLS, optional login) of a
multipart/alternative message, text and HTML, from the jinja2 templates in ``alerts/templates``.

Failures are sorted into :class:`~alerts.model.DeliveryError`:

* retryable: the server cannot be reached (refused, timed out, reset, unknown for now), it hung
  up, or it answered a transient 4xx reply;
* not retryable: a permanent 5xx reply (login refused, sender or recipients refused), TLS that
  fails (a certificate not trusted, STARTTLS not offered), or a message it will not take.

No message ever holds the password.
"""

from __future__ import annotations

import hashlib
import smtplib
import socket
import ssl
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

import jinja2

from alerts.channels import phrasing
from alerts.model import ChannelKind, DeliveryError, Notification
from sync.settings_alerts import EmailChannel

LISTED_ALERTS = 25  # alerts listed one by one; the rest are counted
_TEXT = jinja2.Environment(
    loader=jinja2.PackageLoader("alerts", "templates"),
    autoescape=False,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
    undefined=jinja2.StrictUndefined,
)
_HTML = _TEXT.overlay(autoescape=True)
_RENDERED_HEADERS = ("From", "To", "Subject", "Date", "Message-ID")


class EmailNotifier:
    """Sends a notification as one email to ``settings.to``; ``tls_context`` verifies the server
    (the system's trusted CAs by default)."""

    kind = ChannelKind.EMAIL

    def __init__(
        self, settings: EmailChannel, *, tls_context: ssl.SSLContext | None = None
    ) -> None:
        self.settings = settings
        self._tls_context = tls_context

    def message(self, notification: Notification) -> EmailMessage:
        """The email as it is sent: headers, a text part and an HTML part."""
        values = _template_values(notification)
        message = EmailMessage()
        message["Subject"] = values["title"]
        message["From"] = self.settings.from_addr
        message["To"] = ", ".join(self.settings.to)
        message["Date"] = format_datetime(notification.created_at)
        message["Message-ID"] = _message_id(notification, self.settings.from_addr)
        message["X-Plan2cash-Group"] = notification.group_key
        message["X-Plan2cash-Status"] = notification.status.value
        message.set_content(_TEXT.get_template("email.txt.j2").render(values))
        message.add_alternative(_HTML.get_template("email.html.j2").render(values), subtype="html")
        return message

    def render(self, notification: Notification) -> str:
        """The main headers and the text part, as the notification log keeps them."""
        try:
            message = self.message(notification)
        except ValueError as exc:  # send refuses it the same way
            return f"(the email cannot be built: {exc})"
        headers = "\n".join(f"{name}: {message[name]}" for name in _RENDERED_HEADERS)
        text = message.get_body(preferencelist=("plain",))
        body = text.get_content() if isinstance(text, EmailMessage) else ""
        return f"{headers}\n\n{body}"

    def send(self, notification: Notification) -> None:
        try:
            message = self.message(notification)
        except ValueError as exc:  # an address or header email cannot carry
            message_error = f"email: the message cannot be built ({exc})"
            raise DeliveryError(message_error, retryable=False) from exc
        try:
            refused = self._deliver(message)
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(self._hide(self._explain(exc)), retryable=_retryable(exc)) from None
        if refused:
            raise DeliveryError(
                self._hide(f"email: delivered, but {_recipients(refused)}"), retryable=False
            )

    def _deliver(self, message: EmailMessage) -> dict[str, tuple[int, bytes]]:
        settings = self.settings
        smtp: smtplib.SMTP
        if settings.ssl:
            smtp = smtplib.SMTP_SSL(
                settings.host,
                settings.port,
                timeout=settings.timeout_seconds,
                context=self._tls(),
            )
        else:
            smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_seconds)
        with smtp:
            if settings.starttls:
                smtp.starttls(context=self._tls())
            if settings.username is not None and settings.password is not None:
                smtp.login(settings.username, settings.password.get_secret_value())
            return smtp.send_message(message)

    def _tls(self) -> ssl.SSLContext:
        return self._tls_context or ssl.create_default_context()

    def _explain(self, exc: BaseException) -> str:
        where = f"{self.settings.host}:{self.settings.port}"
        return f"email via {where}: {_describe(exc)}"

    def _hide(self, text: str) -> str:
        """``text`` with the password taken out, should a server have echoed it back."""
        password = self.settings.password
        secret = password.get_secret_value() if password is not None else ""
        return text.replace(secret, "***") if len(secret) >= 3 else text


def _template_values(notification: Notification) -> dict[str, Any]:
    alerts = phrasing.shown_alerts(notification)
    stake = notification.value_at_risk()
    return {
        "title": phrasing.title(notification),
        "test": phrasing.is_test(notification),
        "rule": notification.rule,
        "severity": notification.severity.value,
        "counts": phrasing.counts(notification),
        "stake": phrasing.money(*stake) if stake else None,
        "group": phrasing.slice_of(notification.group_labels),
        "group_key": notification.group_key,
        "lines": [phrasing.alert_line(alert) for alert in alerts[:LISTED_ALERTS]],
        "more": max(0, len(alerts) - LISTED_ALERTS),
        "causes": phrasing.top_causes(alerts) if len(alerts) > 1 else (),
        "dashboard_url": notification.dashboard_url,
    }


def _message_id(notification: Notification, from_addr: str) -> str:
    """The same for the same notification, so a retried send can be recognised as one."""
    seed = f"{notification.group_key}\x1f{notification.status}\x1f{notification.created_at}"
    digest = hashlib.sha256(seed.encode()).hexdigest()[:32]
    try:
        domain = Address(addr_spec=from_addr).domain or "plan2cash"
    except (ValueError, IndexError):
        domain = "plan2cash"
    return f"<{digest}@{domain}>"


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(400 <= code < 500 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        return 400 <= exc.smtp_code < 500
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return True
    # certificates, STARTTLS or AUTH not offered need a person; any other OSError (refused,
    # timed out, reset, host not found for now) may pass later
    return not isinstance(exc, ssl.SSLError | smtplib.SMTPException)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return _recipients(exc.recipients)
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return f"login refused ({_reply(exc.smtp_code, exc.smtp_error)})"
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return f"sender {exc.sender} refused ({_reply(exc.smtp_code, exc.smtp_error)})"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"server replied {_reply(exc.smtp_code, exc.smtp_error)}"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed ({exc.reason or type(exc).__name__})"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.timeout | TimeoutError):
        return "timed out"
    if isinstance(exc, socket.gaierror):
        return "host not found"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return "the server closed the connection"
    return f"{type(exc).__name__}: {exc}"


def _recipients(refused: dict[str, tuple[int, bytes]]) -> str:
    named = ", ".join(f"{addr} ({_reply(code, reply)})" for addr, (code, reply) in refused.items())
    return f"recipients refused: {named}"


def _reply(code: int, text: bytes | str) -> str:
    said = text.decode(errors="replace") if isinstance(text, bytes) else str(text)
    return f"{code} {' '.join(said.split())[:200]}".strip()
