"""``inject_faults``: an ASGI middleware that makes any emulator misbehave by plan.

Per call it asks the plan for a decision, then either answers in the app's place (a throttle,
a 5xx, an outage), stalls (slow, hang), drops the connection (reset), or lets the app answer and
damages the reply (cut or malformed body, repeated or skipped record, drifted records, lost write
reply). Every fault it actually injects is recorded on ``plan.injected``.

Ending a call without a reply raises one of ``sandbox.faults.aborts``: uvicorn then closes the
connection, ``InProcessTransport`` raises ``httpx.RemoteProtocolError``, and ``FaultyTransport``
refines hangs into ``httpx.ReadTimeout``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import anyio
import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandbox.clock import utc_now
from sandbox.faults import records
from sandbox.faults.aborts import CutAbort, HangAbort, LostWriteAbort, RefusedAbort, ResetAbort
from sandbox.faults.kinds import DRIFT, FaultKind
from sandbox.faults.plan import FaultPlan
from sandbox.faults.replies import Headers, Reply, status_reply

READ_TIMEOUT_HEADER = b"x-sandbox-read-timeout"
_ABORT_START = Reply(200, [(b"content-type", b"application/json"), (b"content-length", b"2")], b"")


def inject_faults(
    app: ASGIApp,
    plan: FaultPlan,
    *,
    clock: Callable[[], datetime] = utc_now,
    time_scale: float = 1.0,
) -> ASGIApp:
    """``app`` behind ``plan``'s faults; delays and outages last their time × ``time_scale``."""
    return FaultInjector(app, plan, clock=clock, time_scale=time_scale)


@dataclass
class _Captured:
    status: int = 500
    headers: Headers = field(default_factory=list)
    body: bytes = b""


class FaultInjector:
    """The middleware ``inject_faults`` returns; ``plan`` is public for tests to count."""

    def __init__(
        self,
        app: ASGIApp,
        plan: FaultPlan,
        *,
        clock: Callable[[], datetime] = utc_now,
        time_scale: float = 1.0,
    ) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        self.app = app
        self.plan = plan
        self.clock = clock
        self.time_scale = time_scale

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope, read_timeout = _take_read_timeout(scope)
        method, path = scope["method"], scope["path"]
        if self.plan.is_exempt(path):
            await self.app(scope, receive, send)
            return
        decision = self.plan.decide(method, self.clock(), self.time_scale)
        if decision.before is not None:
            self.plan.record(method, path, decision.before)
            if await self._before(decision.before, receive, send, read_timeout):
                return
        if decision.after is None and not (method == "GET" and self.plan.remembers_pages):
            await self.app(scope, receive, send)
            return
        captured = await _capture(self.app, scope, receive)
        kind = self._damage(decision.after, decision.pick, method, path, captured)
        if kind is not None:
            self.plan.record(method, path, kind)
        await _send_damaged(kind, captured, send)

    async def _before(
        self, kind: FaultKind, receive: Receive, send: Send, read_timeout: float | None
    ) -> bool:
        """Act on a before-app fault; ``True`` when the call is over."""
        scale = self.time_scale
        if kind is FaultKind.SLOW:
            await anyio.sleep(self.plan.slow_seconds * scale)
            return False
        if kind is FaultKind.HANG:
            stall = self.plan.hang_seconds * scale
            if await _stall(min(stall, read_timeout) if read_timeout else stall, receive):
                return True  # the client gave up and went away: nothing left to answer
            await _send_reply(send, _ABORT_START, more_body=True)
            raise HangAbort(f"sandbox fault: no reply within {stall:.3f}s")
        if kind is FaultKind.RESET:
            await _drain(receive)
            await _send_reply(send, _ABORT_START, more_body=True)
            raise ResetAbort("sandbox fault: connection reset")
        if kind is FaultKind.OUTAGE and self.plan.outage and self.plan.outage.mode == "reset":
            await _drain(receive)
            await _send_reply(send, _ABORT_START, more_body=True)
            raise RefusedAbort(f"sandbox fault: {self.plan.vendor} is unreachable (outage)")
        retry_after = self.plan.retry_after_seconds * scale
        await _send_reply(
            send, status_reply(self.plan.vendor, kind, retry_after=retry_after, now=self.clock())
        )
        return True

    def _damage(
        self, kind: FaultKind | None, pick: float, method: str, path: str, captured: _Captured
    ) -> FaultKind | None:
        """Edit the captured reply for ``kind``; the kind if it applied, else ``None``."""
        if not 200 <= captured.status < 300:
            return None
        if kind in (FaultKind.LOST_WRITE, FaultKind.CUT_BODY):
            return kind
        if kind is FaultKind.INVALID_JSON:
            captured.body = captured.body[: len(captured.body) // 2] or b"{"
            return kind
        if method != "GET":
            return None
        try:
            body = orjson.loads(captured.body)
        except orjson.JSONDecodeError:
            return None
        page = records.find_page(body)
        if page is None:
            return None
        applied = self._damage_page(kind, pick, path, page)
        if applied is not None:
            captured.body = orjson.dumps(page.body)
        return applied

    def _damage_page(
        self, kind: FaultKind | None, pick: float, path: str, page: records.Page
    ) -> FaultKind | None:
        page_records = page.records
        memory_key = page.key or path
        previous = self.plan.last_record(memory_key) if self.plan.remembers_pages else None
        if self.plan.remembers_pages:
            self.plan.remember_last_record(memory_key, copy.deepcopy(page_records[-1]))
        if kind is FaultKind.REPEAT_RECORD:
            records.repeat(page, previous)
        elif kind is FaultKind.SKIP_RECORD:
            records.skip(page, pick)
        elif kind in DRIFT:
            plan = self.plan
            target = records.drift_field(
                page_records[0], kind, seed=plan.seed, vendor=plan.vendor, field=plan.drift_field
            )
            if target is None:
                return None
            records.drift(page, kind, target)
        else:
            return None
        return kind


def _take_read_timeout(scope: Scope) -> tuple[Scope, float | None]:
    """Strip ``FaultyTransport``'s read-timeout hint, so the emulator never sees it."""
    headers = scope["headers"]
    hint = next((value for name, value in headers if name == READ_TIMEOUT_HEADER), None)
    if hint is None:
        return scope, None
    kept = [(name, value) for name, value in headers if name != READ_TIMEOUT_HEADER]
    return {**scope, "headers": kept}, float(hint)


async def _drain(receive: Receive) -> None:
    """Read the request body, so closing the socket is a clean drop and not a TCP RST."""
    message = await receive()
    while message["type"] == "http.request" and message.get("more_body", False):
        message = await receive()


async def _stall(seconds: float, receive: Receive) -> bool:
    """Wait ``seconds``; ``True`` if the client disconnected first."""
    gone = False

    async def watch(cancel: anyio.CancelScope) -> None:
        nonlocal gone
        while (await receive())["type"] != "http.disconnect":
            pass
        gone = True
        cancel.cancel()

    async with anyio.create_task_group() as group:
        group.start_soon(watch, group.cancel_scope)
        await anyio.sleep(seconds)
        group.cancel_scope.cancel()
    return gone


async def _capture(app: ASGIApp, scope: Scope, receive: Receive) -> _Captured:
    captured = _Captured()
    chunks: list[bytes] = []

    async def keep(message: Message) -> None:
        if message["type"] == "http.response.start":
            captured.status = message["status"]
            captured.headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, keep)
    captured.body = b"".join(chunks)
    return captured


async def _send_damaged(kind: FaultKind | None, captured: _Captured, send: Send) -> None:
    """Send the (edited) reply; a lost write or a cut body starts it and then drops it."""
    whole = Reply(captured.status, _with_length(captured.headers, len(captured.body)), b"")
    if kind is FaultKind.LOST_WRITE:
        await _send_reply(send, whole, more_body=True)
        raise LostWriteAbort("sandbox fault: the write was applied, its reply lost")
    if kind is FaultKind.CUT_BODY:
        await _send_reply(send, whole, more_body=True)
        half = captured.body[: len(captured.body) // 2]
        await send({"type": "http.response.body", "body": half, "more_body": True})
        raise CutAbort("sandbox fault: connection dropped mid-body")
    await _send_reply(send, Reply(captured.status, whole.headers, captured.body))


def _with_length(headers: Headers, length: int) -> Headers:
    kept = [(name, value) for name, value in headers if name.lower() != b"content-length"]
    return [*kept, (b"content-length", str(length).encode())]


async def _send_reply(send: Send, reply: Reply, *, more_body: bool = False) -> None:
    await send({"type": "http.response.start", "status": reply.status, "headers": reply.headers})
    if not more_body:
        await send({"type": "http.response.body", "body": reply.body, "more_body": False})
