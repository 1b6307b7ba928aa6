"""Transports the connector tests put between a connector and the emulator."""

from __future__ import annotations

import httpx


class Counting(httpx.BaseTransport):
    """Passes requests through and keeps them and the statuses answered, to count what the
    connector sent."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.requests: list[httpx.Request] = []
        self.statuses: list[int] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        response = self.inner.handle_request(request)
        self.statuses.append(response.status_code)
        return response
