"""Email notifications delivered to a real SMTP server on loopback (aiosmtpd), and read back."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from alerts.channels import EmailNotifier, channels_from, sample_notification
from alerts.channels.slack import SlackNotifier
from alerts.model import AlertStatus, ChannelKind, DeliveryError, Notification
from sandbox.sinks import MailSink
from sync.settings_alerts import AlertsSettings, EmailChannel, SlackChannel
from tests.alerts.channels.conftest import (
    DASHBOARD,
    HOSTILE,
    NOW,
    Certificate,
    free_port,
    make_alert,
    make_notification,
)

PASSWORD = "s3cret-smtp-pass"
USER = "alerts"


def settings(port: int, **overrides: Any) -> EmailChannel:
    values: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": port,
        "from_addr": "plan2cash <alerts@plan2cash.test>",
        "to": ["finance@firm.test", "oncall@firm.test"],
        "timeout_seconds": 5,
    } | overrides
    return EmailChannel(**values)


def parts(message: EmailMessage) -> tuple[str, str]:
    text, html = message.get_body(("plain",)), message.get_body(("html",))
    assert isinstance(text, EmailMessage) and isinstance(html, EmailMessage)
    return text.get_content(), html.get_content()


def check_password(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    good = isinstance(auth_data, LoginPassword) and auth_data.password == PASSWORD.encode()
    return AuthResult(success=good, handled=False)


def test_a_firing_group_arrives_as_text_and_html_with_its_links(
    mail_sink: MailSink, firing: Notification
) -> None:
    EmailNotifier(settings(mail_sink.port)).send(firing)

    [mail] = mail_sink.messages
    assert mail.rcpt_tos == ("finance@firm.test", "oncall@firm.test")
    message = mail.message
    assert message.get_content_type() == "multipart/alternative"
    assert message["Subject"] == (
        "[PAGE] xero-posting: 2 firing — vendor=xero — USD 60,000 at risk"
    )
    text, html = parts(message)
    for body in (text, html):
        assert DASHBOARD in body
        assert "Xero refuses every invoice post" in body
        assert "97.5 % (threshold 5 %)" in body
        assert "USD 48,200" in body and "USD 11,800" in body
        assert "rate_card_missing" in body and "37 entries · USD 40,000" in body
    link = f"{DASHBOARD}/exceptions?category=post_failed&status=open&flow=invoices"
    assert link in text
    assert f'href="{link.replace("&", "&amp;")}"' in html
    # the alert's own text is data: escaped in HTML, never markup
    assert "&lt;b&gt;friends&lt;/b&gt;" in html and "<b>friends" not in html
    assert HOSTILE in text
    assert mail.file is not None and mail.file.read_bytes() == mail.raw


def test_a_resolved_group_says_so_and_puts_no_money_in_the_subject(
    mail_sink: MailSink, resolved: Notification
) -> None:
    EmailNotifier(settings(mail_sink.port)).send(resolved)

    message = mail_sink.messages[0].message
    assert message["Subject"] == "[RESOLVED] Xero refuses every invoice post — vendor=xero"
    assert message["X-Plan2cash-Status"] == "resolved"
    text, html = parts(message)
    for body in (text, html):
        assert "RESOLVED" in body and "resolved 2026-05-04 09:15 UTC" in body
        assert f"{DASHBOARD}/exceptions?category=post_failed" in body


def test_render_is_the_text_part_as_sent_with_its_headers(
    mail_sink: MailSink, firing: Notification
) -> None:
    notifier = EmailNotifier(settings(mail_sink.port))
    rendered = notifier.render(firing)
    notifier.send(firing)

    message = mail_sink.messages[0].message
    head, _, body = rendered.partition("\n\n")
    assert f"Subject: {message['Subject']}" in head.splitlines()
    assert f"Message-ID: {message['Message-ID']}" in head.splitlines()
    assert body == parts(message)[0].replace("\r\n", "\n")  # SMTP carries CRLF


def test_starttls_with_login(certificate: Certificate, firing: Notification) -> None:
    sink = MailSink(
        tls_context=certificate.server,
        require_starttls=True,
        authenticator=check_password,
        auth_required=True,
    )
    with sink:
        channel = settings(sink.port, starttls=True, username=USER, password=PASSWORD)
        EmailNotifier(channel, tls_context=certificate.client).send(firing)
    assert len(sink.messages) == 1


def test_implicit_tls(certificate: Certificate, firing: Notification) -> None:
    with MailSink(ssl_context=certificate.server) as sink:
        EmailNotifier(settings(sink.port, ssl=True), tls_context=certificate.client).send(firing)
    assert len(sink.messages) == 1


def test_an_untrusted_certificate_is_not_retried(
    certificate: Certificate, firing: Notification
) -> None:
    with MailSink(tls_context=certificate.server) as sink:
        notifier = EmailNotifier(settings(sink.port, starttls=True))  # the system's CAs only
        with pytest.raises(DeliveryError) as caught:
            notifier.send(firing)
    assert caught.value.retryable is False and "TLS" in str(caught.value)
    assert sink.messages == []


def test_a_refused_login_is_not_retried_and_never_names_the_password(
    certificate: Certificate, firing: Notification
) -> None:
    sink = MailSink(tls_context=certificate.server, authenticator=check_password)
    with sink:
        wrong = PASSWORD[::-1]
        channel = settings(sink.port, starttls=True, username=USER, password=wrong)
        notifier = EmailNotifier(channel, tls_context=certificate.client)
        with pytest.raises(DeliveryError) as caught:
            notifier.send(firing)
    assert caught.value.retryable is False
    assert "login refused (535" in str(caught.value)
    assert wrong not in str(caught.value) and wrong not in repr(caught.value.__context__)
    assert sink.messages == []


def test_smtp_down_is_retryable(firing: Notification) -> None:
    port = free_port()
    notifier = EmailNotifier(settings(port, username=USER, password=PASSWORD))
    with pytest.raises(DeliveryError) as caught:
        notifier.send(firing)
    assert caught.value.retryable is True
    assert str(caught.value) == f"email via 127.0.0.1:{port}: connection refused"


class PickySink(MailSink):
    """Refuses ``nobody@…`` for good and ``later@…`` for now; answers DATA with ``data_reply``."""

    data_reply: str | None = None

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address.startswith("nobody@"):
            return "550 5.1.1 no such user"
        if address.startswith("later@"):
            return "450 4.2.1 mailbox busy"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.data_reply:
            return self.data_reply
        return await super().handle_DATA(server, session, envelope)


@pytest.mark.parametrize(
    ("to", "retryable"),
    [(["nobody@firm.test"], False), (["later@firm.test"], True)],
)
def test_refused_recipients_are_retried_only_when_the_refusal_is_transient(
    to: list[str], retryable: bool, firing: Notification
) -> None:
    with PickySink() as sink, pytest.raises(DeliveryError) as caught:
        EmailNotifier(settings(sink.port, to=to)).send(firing)
    assert caught.value.retryable is retryable
    assert f"recipients refused: {to[0]}" in str(caught.value)


def test_a_partly_refused_message_is_delivered_and_reported_not_to_be_resent(
    firing: Notification,
) -> None:
    with PickySink() as sink:
        notifier = EmailNotifier(settings(sink.port, to=["oncall@firm.test", "nobody@firm.test"]))
        with pytest.raises(DeliveryError) as caught:
            notifier.send(firing)
    assert caught.value.retryable is False
    assert "nobody@firm.test (550 5.1.1 no such user)" in str(caught.value)
    assert [m.rcpt_tos for m in sink.messages] == [("oncall@firm.test",)]


@pytest.mark.parametrize(("reply", "retryable"), [("451 4.3.0 try later", True), ("554 no", False)])
def test_a_refused_message_is_retried_on_4xx_only(
    reply: str, retryable: bool, firing: Notification
) -> None:
    with PickySink() as sink:
        sink.data_reply = reply
        with pytest.raises(DeliveryError) as caught:
            EmailNotifier(settings(sink.port)).send(firing)
    assert caught.value.retryable is retryable
    assert reply in str(caught.value)


def test_the_sample_is_marked_as_a_test(mail_sink: MailSink) -> None:
    EmailNotifier(settings(mail_sink.port)).send(sample_notification(DASHBOARD, NOW))

    message = mail_sink.messages[0].message
    assert message["Subject"].startswith("[TEST] [PAGE] ")
    assert message["Subject"].endswith("— vendor=xero — USD 48,200 at risk")
    text, html = parts(message)
    assert "nothing is wrong" in text and "nothing is wrong" in html
    assert f"{DASHBOARD}/exceptions?category=rate_card_missing&status=open" in text


def test_channels_from_builds_the_configured_channels() -> None:
    assert channels_from(AlertsSettings()) == []
    both = channels_from(
        AlertsSettings(
            email=settings(25),
            slack=SlackChannel(webhook_url="https://hooks.slack.test/services/T/B/x"),
        )
    )
    assert [c.kind for c in both] == [ChannelKind.EMAIL, ChannelKind.SLACK]
    assert isinstance(both[0], EmailNotifier) and isinstance(both[1], SlackNotifier)


def test_the_smtp_error_classes_map_onto_retryable(monkeypatch: pytest.MonkeyPatch) -> None:
    """The replies a server can give before any message is taken, classified by their code."""
    notifier = EmailNotifier(settings(25, username=USER, password=PASSWORD))
    one = make_notification(make_alert())
    cases = {
        smtplib.SMTPConnectError(421, b"too busy"): True,
        smtplib.SMTPConnectError(554, b"go away"): False,
        smtplib.SMTPServerDisconnected("gone"): True,
        smtplib.SMTPNotSupportedError("STARTTLS extension not supported"): False,
        TimeoutError("timed out"): True,
    }
    for error, retryable in cases.items():

        def fail(_: object, error: BaseException = error) -> dict[str, tuple[int, bytes]]:
            raise error

        monkeypatch.setattr(notifier, "_deliver", fail)
        with pytest.raises(DeliveryError) as caught:
            notifier.send(one)
        assert caught.value.retryable is retryable, error
        assert PASSWORD not in str(caught.value)


def test_a_notification_of_resolved_and_firing_alerts_is_firing(mail_sink: MailSink) -> None:
    mixed = make_notification(make_alert(), make_alert(AlertStatus.RESOLVED, flow="credits"))
    EmailNotifier(settings(mail_sink.port)).send(mixed)

    message = mail_sink.messages[0].message
    assert message["Subject"] == (
        "[PAGE] Xero refuses every invoice post — vendor=xero — USD 48,200 at risk"
    )
    text, _ = parts(message)
    assert "1 firing · 1 resolved" in text
    assert text.index("[FIRING]") < text.index("[RESOLVED]")


def test_a_summary_over_several_lines_makes_a_one_line_subject(mail_sink: MailSink) -> None:
    notification = make_notification(make_alert(summary="Xero refuses\r\nBcc: evil@x.test"))
    EmailNotifier(settings(mail_sink.port)).send(notification)

    [mail] = mail_sink.messages
    assert mail.message["Subject"].startswith("[PAGE] Xero refuses Bcc: evil@x.test — ")
    assert mail.message["Bcc"] is None and "evil@x.test" not in mail.rcpt_tos


def test_an_address_email_cannot_carry_is_refused_before_sending(firing: Notification) -> None:
    notifier = EmailNotifier(settings(free_port(), from_addr="alerts@x.test\nBcc: evil@x.test"))
    with pytest.raises(DeliveryError) as caught:
        notifier.send(firing)
    assert caught.value.retryable is False and "cannot be built" in str(caught.value)
    assert notifier.render(firing).startswith("(the email cannot be built: ")
