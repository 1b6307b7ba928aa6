"""Local stand-ins for where alerts go, so the demo shows them with nothing to set up.

:class:`MailSink` is an SMTP server (aiosmtpd) and :class:`WebhookSink` a Slack-style incoming
webhook (starlette under uvicorn), both on loopback. Each keeps what it receives in memory and,
given a directory, as files a person can open: ``<directory>/mail/*.eml`` and
``<directory>/slack/*.json``. ``serve_sinks`` starts both. A webhook sink can be told to refuse
its next posts (``refuse(500)``, ``refuse(429, retry_after=2)``) to show delivery failing and
recovering. Port 0 picks a free port; ``port`` then names the real one.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Generic, Protocol, Self, TypeVar, cast

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from sandbox.server import HOST, _Served

MAIL_PORT = 8725
WEBHOOK_PORT = 8726
WEBHOOK_PATH = "/services/T0SANDBOX/B0SANDBOX/sandbox-webhook"


class _Keeper:
    """Writes what a sink receives under ``directory``, one file each, names in arrival order."""

    def __init__(self, directory: Path | None, suffix: str) -> None:
        self.directory = directory
        self.suffix = suffix
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()

    def keep(self, data: bytes) -> Path | None:
        if self.directory is None:
            return None
        with self._lock:
            number = next(self._numbers)
        self.directory.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        path = self.directory / f"{stamp}-{number:04d}{self.suffix}"
        path.write_bytes(data)
        return path


@dataclass(frozen=True)
class ReceivedMail:
    """One message the mail sink accepted."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage
    raw: bytes
    file: Path | None


@dataclass(frozen=True)
class ReceivedPost:
    """One post the webhook sink accepted: its URL path and its JSON (text if not JSON)."""

    path: str
    body: Any
    file: Path | None


class _Controller(Controller):
    """aiosmtpd's controller, able to listen on port 0 (a free port, read once bound)."""

    def _trigger_server(self) -> None:
        if self.port == 0 and isinstance(self.server, asyncio.Server):
            self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class _Running(Protocol):
    def start(self) -> object: ...
    def stop(self) -> None: ...


Server = TypeVar("Server", bound=_Running)


class _Sink(Generic[Server]):
    """A sink serving on a thread of its own from ``start()`` to ``stop()`` (or for a ``with``
    block)."""

    _server: Server

    def start(self) -> Self:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


class MailSink(_Sink[_Controller]):
    """An SMTP server on loopback that accepts every message. ``smtp_options`` go to aiosmtpd's
    ``SMTP`` (e.g. ``tls_context`` and ``require_starttls`` for STARTTLS, ``authenticator`` and
    ``auth_require_tls`` for AUTH); ``ssl_context`` serves implicit TLS."""

    def __init__(
        self, directory: Path | None = None, *, host: str = HOST, port: int = 0, **smtp_options: Any
    ) -> None:
        self._keeper = _Keeper(directory, ".eml")
        self._received: list[ReceivedMail] = []
        self._lock = threading.Lock()
        self._server = _Controller(self, hostname=host, port=port, **smtp_options)
        self.host = host

    @property
    def port(self) -> int:
        return int(self._server.port)

    @property
    def messages(self) -> list[ReceivedMail]:
        with self._lock:
            return list(self._received)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        message = cast(EmailMessage, message_from_bytes(raw, policy=policy.default))
        mail = ReceivedMail(
            mail_from=str(envelope.mail_from),
            rcpt_tos=tuple(envelope.rcpt_tos),
            message=message,
            raw=raw,
            file=self._keeper.keep(raw),
        )
        with self._lock:
            self._received.append(mail)
        return "250 Message accepted for delivery"


@dataclass(frozen=True)
class _Refusal:
    status: int
    body: str
    headers: dict[str, str]


class WebhookSink(_Sink[_Served]):
    """A Slack-style incoming webhook on loopback: answers ``ok`` and keeps each JSON post."""

    def __init__(self, directory: Path | None = None, *, host: str = HOST, port: int = 0) -> None:
        self._keeper = _Keeper(directory, ".json")
        self._received: list[ReceivedPost] = []
        self._refusals: deque[_Refusal] = deque()
        self._lock = threading.Lock()
        self.app = Starlette(routes=[Route("/{path:path}", self._receive, methods=["POST"])])
        self._server = _Served(self.app, host, port)
        self.host = host

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def url(self) -> str:
        """Where to post: shaped like a Slack webhook URL."""
        return f"http://{self.host}:{self.port}{WEBHOOK_PATH}"

    @property
    def posts(self) -> list[ReceivedPost]:
        with self._lock:
            return list(self._received)

    def refuse(
        self, status: int, *, times: int = 1, body: str = "", retry_after: float | None = None
    ) -> None:
        """Answer the next ``times`` posts with ``status`` (and ``Retry-After``), keeping none."""
        headers = {} if retry_after is None else {"Retry-After": f"{retry_after:g}"}
        with self._lock:
            self._refusals.extend(_Refusal(status, body, headers) for _ in range(times))

    async def _receive(self, request: Request) -> PlainTextResponse:
        with self._lock:
            refusal = self._refusals.popleft() if self._refusals else None
        if refusal is not None:
            return PlainTextResponse(refusal.body, refusal.status, headers=refusal.headers)
        raw = await request.body()
        try:
            body: Any = json.loads(raw)
            kept = json.dumps(body, indent=2, ensure_ascii=False).encode()
        except ValueError:
            return PlainTextResponse("invalid_payload", 400)
        post = ReceivedPost(path=request.url.path, body=body, file=self._keeper.keep(kept))
        with self._lock:
            self._received.append(post)
        return PlainTextResponse("ok")


@dataclass(frozen=True)
class Sinks:
    """The mail and webhook sinks, running."""

    mail: MailSink
    webhook: WebhookSink

    @property
    def smtp_host(self) -> str:
        return self.mail.host

    @property
    def smtp_port(self) -> int:
        return self.mail.port

    @property
    def webhook_url(self) -> str:
        return self.webhook.url

    def stop(self) -> None:
        self.webhook.stop()
        self.mail.stop()


def serve_sinks(
    mail_port: int = MAIL_PORT,
    webhook_port: int = WEBHOOK_PORT,
    directory: Path | None = Path("var/sinks"),
) -> Sinks:
    """Start a mail sink and a webhook sink on loopback, keeping files under ``directory``
    (``mail/*.eml``, ``slack/*.json``); ``stop()`` the result to end them."""
    mail = MailSink(directory / "mail" if directory else None, port=mail_port).start()
    try:
        webhook = WebhookSink(directory / "slack" if directory else None, port=webhook_port)
        webhook.start()
    except BaseException:
        mail.stop()
        raise
    return Sinks(mail=mail, webhook=webhook)
