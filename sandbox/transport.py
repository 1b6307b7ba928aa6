"""A synchronous httpx transport that runs an ASGI app in-process: no sockets, no ports.

Production code uses a sync ``httpx.Client``; tests hand it ``InProcessTransport(emulator.app)``.
The app runs on an anyio event loop in a background thread (a blocking portal); each request is
sent through ``httpx.ASGITransport`` there and its body read in full before it crosses back.
The portal is thread-safe, so one transport can serve several client threads.
"""

from __future__ import annotations

import threading
from typing import Any

import anyio
import httpx
from anyio.from_thread import BlockingPortal
from starlette.types import ASGIApp

from sandbox.vendors.wire import ResponseLost


class InProcessTransport(httpx.BaseTransport):
    """``httpx.BaseTransport`` that calls ``app`` directly; ``close()`` stops its event loop.

    The loop runs in a daemon thread, so a transport nobody closed cannot keep a program alive.
    """

    def __init__(self, app: ASGIApp) -> None:
        self._asgi = httpx.ASGITransport(app=app)
        self._lock = threading.Lock()
        self._portal: BlockingPortal | None = None
        self._thread: threading.Thread | None = None

    def _running_portal(self) -> BlockingPortal:
        with self._lock:
            if self._portal is None:
                self._portal, self._thread = _start_portal()
            return self._portal

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()  # a sync body must be buffered before the async side can stream it
        return self._running_portal().call(self._send, request)

    async def _send(self, request: httpx.Request) -> httpx.Response:
        try:
            response = await self._asgi.handle_async_request(request)
            body = await response.aread()
        except ResponseLost as lost:
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a complete response", request=request
            ) from lost
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            content=body,
            extensions={"http_version": b"HTTP/1.1"},
        )

    def close(self) -> None:
        with self._lock:
            portal, thread, self._portal, self._thread = self._portal, self._thread, None, None
        if portal is not None and thread is not None:
            portal.call(portal.stop)
            thread.join(timeout=5)

    def __enter__(self) -> InProcessTransport:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()


def _start_portal() -> tuple[BlockingPortal, threading.Thread]:
    """An anyio event loop in a daemon thread, and the portal into it."""
    ready = threading.Event()
    holder: list[BlockingPortal] = []

    async def serve() -> None:
        async with BlockingPortal() as portal:
            holder.append(portal)
            ready.set()
            await portal.sleep_until_stopped()

    thread = threading.Thread(
        target=anyio.run, args=(serve,), name="sandbox-in-process", daemon=True
    )
    thread.start()
    ready.wait()
    return holder[0], thread
