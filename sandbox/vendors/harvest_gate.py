"""Who may call the Harvest emulator, and how it says no: Harvest's three headers (400 without a
``User-Agent``, 401 with a bad token or account) and 100 requests per 15 s per token (429 with
``Retry-After``). Errors carry the spec's ``Error`` body, ``{code, message}``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from sandbox.vendors.limits import SlidingWindow
from sandbox.vendors.wire import FastJSON, json_error

RATE_LIMIT = 100
RATE_WINDOW_SECONDS = 15.0


def error(status: int, message: str, headers: dict[str, str] | None = None) -> FastJSON:
    return json_error(status, {"code": status, "message": message}, headers)


class HarvestGate:
    """Admits a request (``None``) or gives the refusal to send instead."""

    def __init__(self, token: str, account_id: str, *, time_scale: float = 1.0) -> None:
        self.token = token
        self.account_id = account_id
        self._limiter = SlidingWindow(RATE_LIMIT, RATE_WINDOW_SECONDS * time_scale)

    def __call__(self, request: Request) -> Response | None:
        if not request.headers.get("user-agent", "").strip():
            return error(400, "A User-Agent header is required")
        auth = request.headers.get("authorization", "")
        account = request.headers.get("harvest-account-id", "")
        if auth != f"Bearer {self.token}" or account != self.account_id:
            return json_error(
                401,
                {
                    "error": "invalid_token",
                    "error_description": "The access token provided is expired, revoked, "
                    "malformed or invalid for other reasons.",
                },
            )
        verdict = self._limiter.hit(self.token)
        if not verdict.allowed:
            return error(429, "Too Many Requests", {"Retry-After": str(verdict.retry_after)})
        return None
