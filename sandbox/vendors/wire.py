"""What the emulators put on the wire: fast JSON responses and a deliberately lost reply.

``LostResponse`` sends the status line and headers, then raises ``ResponseLost``. Under uvicorn
the connection is dropped mid-reply (the client sees a protocol error); the in-process transport
turns the same exception into ``httpx.RemoteProtocolError``. Either way the server has already
done the work, which is the situation idempotent re-delivery must survive.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send


def sent_json(request: Request) -> bool:
    """Whether the request says its body is JSON (otherwise the emulators read it as a form)."""
    return "json" in request.headers.get("content-type", "")


def parse_json(raw: bytes, refuse: type[ValueError] = ValueError) -> Any:
    """A JSON body (``{}`` when empty); ``refuse`` is raised when it does not parse."""
    try:
        return orjson.loads(raw or b"{}")
    except orjson.JSONDecodeError:
        raise refuse("request body is not valid JSON") from None


class ResponseLost(ConnectionError):
    """The emulator dropped its reply on purpose (fault injection)."""


class FastJSON(JSONResponse):
    """``JSONResponse`` rendered by orjson (pages of 2,000 time entries add up)."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


class LostResponse(Response):
    """Starts a reply, then loses it: the request was applied but the client never hears so."""

    def __init__(self) -> None:
        super().__init__(content=b'{"lost": true}', status_code=200, media_type="application/json")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        raise ResponseLost("sandbox fault: reply lost after the request was applied")


def json_error(
    status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> FastJSON:
    return FastJSON(body, status_code=status, headers=headers)


def basic_credentials(header: str) -> tuple[str, str]:
    """``(user, password)`` from an ``Authorization: Basic …`` header; empty strings when the
    header is missing, of another scheme, or not valid base64."""
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return "", ""
    try:
        pair = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return "", ""
    user, _, password = pair.partition(":")
    return user, password
