"""What every vendor connector shares: its settings, an injectable transport (the sandbox and
tests reach vendors through it), the retry policy, its pacing, and one client per run.

A vendor module subclasses ``Connector`` and says only what differs: its ``auth()``, where its
API lives (``base_url()``), any fixed ``headers()`` and how it paces (``default_pacer``).
"""

from __future__ import annotations

from typing import ClassVar, Generic, Protocol, TypeVar

import httpx

from collectors.http import DEFAULT_POLICY, RetryPolicy, make_client
from collectors.pacing import Pacer


class VendorSettings(Protocol):
    timeout_seconds: float


S = TypeVar("S", bound=VendorSettings)


class Connector(Generic[S]):
    """A vendor connector: stateless between runs (the engine owns cursors)."""

    name: ClassVar[str]

    def __init__(
        self,
        settings: S,
        *,
        transport: httpx.BaseTransport | None = None,
        policy: RetryPolicy = DEFAULT_POLICY,
        pacer: Pacer | None = None,
    ) -> None:
        self.settings = settings
        self._transport = transport
        self._policy = policy
        self.pacer = pacer or self.default_pacer(settings)

    def default_pacer(self, settings: S) -> Pacer | None:
        """The pacer for the vendor's published limits (``None``: paced another way)."""
        raise NotImplementedError

    def auth(self) -> httpx.Auth:
        raise NotImplementedError

    def base_url(self) -> str:
        return str(getattr(self.settings, "base_url"))  # noqa: B009 - every vendor but one

    def headers(self) -> dict[str, str]:
        return {}

    def client(self) -> httpx.Client:
        """One client per run, on the vendor's base URL, with its auth and timeouts."""
        return make_client(
            self.base_url(),
            auth=self.auth(),
            headers=self.headers(),
            transport=self._transport,
            timeout=self.settings.timeout_seconds,
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.base_url()!r})"


__all__ = ["Connector", "VendorSettings"]
