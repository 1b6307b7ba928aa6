"""What a connector's client may send and receive: requests only to its configured origins, and
response bodies only up to a size cap.

Both are httpx event hooks that ``collectors.http.make_client`` installs on every client, so every
request the client sends passes them — API calls, next-page links, and the token requests an
``httpx.Auth`` flow makes — and no call site can forget them. A request hook runs before the
request reaches the transport; a response hook runs when the headers have arrived and before the
body is read.

An origin is a scheme, a host and a port (the scheme's default port when none is written): a
next-page link to another host, or to the same host over plain HTTP, is refused with
``OffOriginError`` naming it. The cap counts the body's bytes as they arrive (a compressed body
is counted compressed); a ``Content-Length`` above it is refused before reading, and a body
without one stops being read at the cap (``ResponseTooLargeError``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import httpx

from collectors.errors import OffOriginError, ResponseTooLargeError
from collectors.redaction import redact_url

DEFAULT_MAX_RESPONSE_BYTES = 50 * 1024 * 1024

Origin = tuple[str, str, int]
_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin(url: httpx.URL | str) -> Origin:
    """The scheme, host and port a URL reaches."""
    parsed = url if isinstance(url, httpx.URL) else httpx.URL(url)
    scheme = parsed.scheme.lower()
    return scheme, parsed.host.lower(), parsed.port or _DEFAULT_PORTS.get(scheme, 0)


def _shown(where: Origin) -> str:
    scheme, host, port = where
    return (
        f"{scheme}://{host}" if _DEFAULT_PORTS.get(scheme) == port else f"{scheme}://{host}:{port}"
    )


@dataclass(frozen=True)
class OriginGuard:
    """A request hook that refuses a request to any origin but the allowed ones."""

    vendor: str
    allowed: frozenset[Origin]

    @classmethod
    def of(cls, vendor: str, urls: Iterable[str]) -> OriginGuard:
        return cls(vendor, frozenset(origin(url) for url in urls))

    def __call__(self, request: httpx.Request) -> None:
        target = origin(request.url)
        if target in self.allowed:
            return
        allowed = ", ".join(sorted(_shown(o) for o in self.allowed))
        raise OffOriginError(
            f"{self.vendor} refused {request.method} {redact_url(request.url)}: "
            f"{_shown(target)} is not this connection's configured origin ({allowed}); a next-page "
            "link, a redirect or an instance URL from the vendor pointed elsewhere",
            vendor=self.vendor,
            details=_shown(target),
        )


@dataclass(frozen=True)
class SizeCap:
    """A response hook that refuses a body of more than ``limit`` bytes."""

    vendor: str
    limit: int

    def __call__(self, response: httpx.Response) -> None:
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.limit:
            response.close()
            raise self.refusal(response.request, f"declares {int(declared):,} bytes")
        if isinstance(response.stream, httpx.SyncByteStream):
            response.stream = _Capped(response.stream, self, response.request)

    def refusal(self, request: httpx.Request, what: str) -> ResponseTooLargeError:
        return ResponseTooLargeError(
            f"{self.vendor} {request.method} {redact_url(request.url)}: the response {what}, "
            f"more than this connection's max_response_bytes ({self.limit:,}); ask for smaller "
            "pages or raise the cap",
            vendor=self.vendor,
        )


class _Capped(httpx.SyncByteStream):
    """A body stream that stops with ``ResponseTooLargeError`` once it passes the cap."""

    def __init__(self, inner: httpx.SyncByteStream, cap: SizeCap, request: httpx.Request) -> None:
        self._inner = inner
        self._cap = cap
        self._request = request

    def __iter__(self) -> Iterator[bytes]:
        received = 0
        for chunk in self._inner:
            received += len(chunk)
            if received > self._cap.limit:
                raise self._cap.refusal(self._request, f"passed {self._cap.limit:,} bytes")
            yield chunk

    def close(self) -> None:
        self._inner.close()


__all__ = ["DEFAULT_MAX_RESPONSE_BYTES", "Origin", "OriginGuard", "SizeCap", "origin"]
