"""What every vendor connector shares: its settings, an injectable transport (the sandbox and
tests reach vendors through it), the retry policy, its pacing, and one client per run.

A vendor module subclasses ``Connector`` and says only what differs: its ``auth()``, where its
API lives (``base_url()``), any other origin it must reach (``origins()``: an OAuth token
endpoint), any fixed ``headers()`` and how it paces (``default_pacer``, or ``pacer_for`` when
the pacer depends on the request). Its client carries the retry policy and the pacing, so every
call through it is retried and paced alike (``collectors.http``); it reaches no other origin and
reads no body over ``settings.max_response_bytes`` (``collectors.outbound``).
"""

from __future__ import annotations

from typing import ClassVar, Generic, Protocol, TypeVar

import httpx

from collectors.http import DEFAULT_POLICY, RetryPolicy, VendorClient, make_client
from collectors.pacing import Pacer


class VendorSettings(Protocol):
    timeout_seconds: float
    max_response_bytes: int


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

    def pacer_for(self, request: httpx.Request) -> Pacer | None:
        """The pacer ``request`` waits on: the connector's ``pacer`` unless a vendor paces by
        something the request names (Xero: its tenant)."""
        return self.pacer

    def auth(self) -> httpx.Auth:
        raise NotImplementedError

    def base_url(self) -> str:
        return str(getattr(self.settings, "base_url"))  # noqa: B009 - every vendor but one

    def origins(self) -> list[str]:
        """URLs on origins the client may reach besides the base URL's."""
        return []

    def headers(self) -> dict[str, str]:
        return {}

    def client(self) -> VendorClient:
        """One client per run, on the vendor's base URL, with its auth, timeouts, retry policy,
        pacing, the origins it may reach and its response size cap."""
        return make_client(
            self.base_url(),
            policy=self._policy,
            pacer=self.pacer_for,
            auth=self.auth(),
            headers=self.headers(),
            transport=self._transport,
            timeout=self.settings.timeout_seconds,
            vendor=self.name,
            origins=self.origins(),
            max_response_bytes=self.settings.max_response_bytes,
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.base_url()!r})"


__all__ = ["Connector", "VendorSettings"]
