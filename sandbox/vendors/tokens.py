"""Bearer tokens an emulator's token endpoint issued, each good for a while on its clock."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from starlette.requests import Request


class BearerTokens:
    """The tokens issued (random, ``size`` bytes of entropy), each valid for ``lifetime``
    seconds of the emulator's clock ``now``."""

    def __init__(self, now: Callable[[], datetime], lifetime: float, *, size: int = 48) -> None:
        self._now = now
        self._lifetime = timedelta(seconds=lifetime)
        self._size = size
        self._expiry: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def issue(self) -> str:
        token = secrets.token_urlsafe(self._size)
        with self._lock:
            self._expiry[token] = self._now() + self._lifetime
        return token

    def valid(self, request: Request) -> bool:
        """Whether the request carries a bearer token issued here and unexpired."""
        header = request.headers.get("authorization", "")
        token = header[7:] if header.startswith("Bearer ") else ""
        with self._lock:
            expiry = self._expiry.get(token)
        return expiry is not None and self._now() < expiry
