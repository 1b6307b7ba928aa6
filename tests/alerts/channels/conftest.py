"""Notifications to send, a loopback SMTP server and webhook, and a self-signed certificate."""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from alerts.model import Alert, AlertStatus, Cause, Notification, Severity
from sandbox.sinks import MailSink, WebhookSink

DASHBOARD = "http://dash.test:8501"
NOW = datetime(2026, 5, 4, 9, 15, tzinfo=UTC)
RULE = "xero-posting"
HOSTILE = "<!channel> Xero & <b>friends</b> refuse posts"  # must reach no one as markup


def make_alert(
    status: AlertStatus = AlertStatus.FIRING,
    *,
    summary: str = "Xero refuses every invoice post",
    flow: str = "invoices",
    value_at_risk: str | None = "48200",
) -> Alert:
    return Alert(
        rule=RULE,
        severity=Severity.PAGE,
        status=status,
        labels={"rule": RULE, "severity": "page", "vendor": "xero", "flow": flow},
        summary=summary,
        link=f"{DASHBOARD}/exceptions?category=post_failed&status=open&flow={flow}",
        starts_at=NOW - timedelta(minutes=20),
        ends_at=NOW if status is AlertStatus.RESOLVED else None,
        value=97.5,
        threshold=5.0,
        unit="%",
        value_at_risk=Decimal(value_at_risk) if value_at_risk else None,
        currency="USD",
        causes=(
            Cause(
                "rate_card_missing",
                "37 entries · USD 40,000",
                f"{DASHBOARD}/exceptions?category=rate_card_missing&status=open",
            ),
            Cause("post_failed", "12 invoices · USD 8,200"),
        ),
    )


def make_notification(*alerts: Alert, kind: str = "notify") -> Notification:
    firing = any(a.status is AlertStatus.FIRING for a in alerts)
    return Notification(
        group_key=f"{RULE}{{vendor=xero}}",
        rule=RULE,
        severity=Severity.PAGE,
        status=AlertStatus.FIRING if firing else AlertStatus.RESOLVED,
        group_labels={"vendor": "xero"},
        alerts=alerts,
        dashboard_url=DASHBOARD,
        created_at=NOW,
        kind=kind,
    )


@pytest.fixture
def firing() -> Notification:
    """Two firing alerts (one with a hostile summary), USD 60,000 at risk between them."""
    return make_notification(
        make_alert(),
        make_alert(summary=HOSTILE, flow="credit_notes", value_at_risk="11800"),
    )


@pytest.fixture
def resolved() -> Notification:
    return make_notification(make_alert(AlertStatus.RESOLVED))


def free_port() -> int:
    """A loopback port nothing listens on (bound, then let go)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def mail_sink(tmp_path: Path) -> Iterator[MailSink]:
    with MailSink(tmp_path / "mail") as sink:
        yield sink


@pytest.fixture
def webhook_sink(tmp_path: Path) -> Iterator[WebhookSink]:
    with WebhookSink(tmp_path / "slack") as sink:
        yield sink


@dataclass(frozen=True)
class Certificate:
    """A self-signed certificate for 127.0.0.1: the server's context and a client trusting it."""

    server: ssl.SSLContext
    client: ssl.SSLContext


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    pytest.importorskip("cryptography", reason="cryptography makes the self-signed certificate")
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert_file, key_file)
    return Certificate(server=server, client=ssl.create_default_context(cafile=str(cert_file)))
