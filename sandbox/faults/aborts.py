"""The exceptions an injected fault raises inside the ASGI app to end a call without a reply.

All are ``sandbox.vendors.wire.ResponseLost``, so ``InProcessTransport`` already turns each into
``httpx.RemoteProtocolError`` and uvicorn drops the connection. ``FaultyTransport`` refines two of
them in-process: a hang becomes ``httpx.ReadTimeout``, a refused connection ``httpx.ConnectError``.
"""

from __future__ import annotations

from sandbox.vendors.wire import ResponseLost


class InjectedAbort(ResponseLost):
    """A call ended on purpose by the fault injector."""


class HangAbort(InjectedAbort):
    """The server stalled past the client's read timeout."""


class ResetAbort(InjectedAbort):
    """The connection was dropped before the request reached the app."""


class RefusedAbort(InjectedAbort):
    """The vendor was unreachable (an outage in ``reset`` mode)."""


class CutAbort(InjectedAbort):
    """The connection dropped part-way through the body."""


class LostWriteAbort(InjectedAbort):
    """The app applied the write; its reply was lost."""
