"""``FaultyTransport``: in-process, turn an injected hang into the timeout a socket would give.

Over loopback a hang is a real stall and httpx's own read timeout fires. In-process there is no
socket and ``httpx.ASGITransport`` ignores timeouts, so this wrapper tells the middleware the
client's read timeout (a header the middleware strips before the emulator sees the request) and
maps what comes back: a hang → ``httpx.ReadTimeout``, an outage in ``reset`` mode →
``httpx.ConnectError``. Everything else passes through untouched.
"""

from __future__ import annotations

from typing import Any

import httpx

from sandbox.faults.aborts import HangAbort, RefusedAbort
from sandbox.faults.middleware import READ_TIMEOUT_HEADER


class FaultyTransport(httpx.BaseTransport):
    """Wraps the transport of an app behind ``inject_faults`` (usually ``InProcessTransport``)."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        read_timeout = request.extensions.get("timeout", {}).get("read")
        if read_timeout is not None:
            request.headers[READ_TIMEOUT_HEADER.decode()] = repr(float(read_timeout))
        try:
            return self.inner.handle_request(request)
        except httpx.TransportError as error:
            cause = error.__cause__
            if isinstance(cause, HangAbort):
                raise httpx.ReadTimeout(
                    "timed out (sandbox fault: hang)", request=request
                ) from cause
            if isinstance(cause, RefusedAbort):
                raise httpx.ConnectError(
                    "connection refused (sandbox fault: outage)", request=request
                ) from cause
            raise

    def close(self) -> None:
        self.inner.close()

    def __enter__(self) -> FaultyTransport:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()
