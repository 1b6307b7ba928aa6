"""Xero identity for a custom connection: client-credentials tokens and the connections list.

Tokens live ``expires_in`` (1800 s) against the injected clock, so tests can expire them by
moving the clock. Refusals use Xero's identity-layer problem body.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response

from sandbox.vendors.tokens import BearerTokens
from sandbox.vendors.wire import FastJSON, basic_credentials, json_error

DEFAULT_CLIENT_ID = "sandbox-xero-client"
DEFAULT_CLIENT_SECRET = "sandbox-xero-secret"
TOKEN_LIFETIME_SECONDS = 1800
DEFAULT_SCOPE = "accounting.transactions accounting.contacts accounting.settings"


def problem(status: int, title: str, detail: str) -> FastJSON:
    """Xero's identity-layer error body (401, 403, 404, 429)."""
    body: dict[str, Any] = {
        "Type": None,
        "Title": title,
        "Status": status,
        "Detail": detail,
        "Instance": str(uuid.uuid4()),
        "Extensions": {},
    }
    return json_error(status, body)


class XeroIdentity:
    """Grants bearer tokens to one client id and secret and lists the tenants they reach."""

    def __init__(self, client_id: str, client_secret: str, *, now: Callable[[], datetime]) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self._now = now
        self.tokens = BearerTokens(now, TOKEN_LIFETIME_SECONDS, size=32)
        self._tenants: list[dict[str, str]] = []

    def connect(self, tenant_id: str, tenant_name: str) -> None:
        """Authorise this connection for an organisation."""
        stamp = self._now().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")
        self._tenants.append(
            {
                "id": str(uuid.uuid5(uuid.NAMESPACE_URL, tenant_id)),
                "authEventId": str(uuid.uuid5(uuid.NAMESPACE_DNS, tenant_id)),
                "tenantId": tenant_id,
                "tenantType": "ORGANISATION",
                "tenantName": tenant_name,
                "createdDateUtc": stamp,
                "updatedDateUtc": stamp,
            }
        )

    def issue_token(self) -> str:
        return self.tokens.issue()

    def authenticated(self, request: Request) -> bool:
        """Whether the request carries a bearer token that is ours and unexpired."""
        return self.tokens.valid(request)

    async def token_endpoint(self, request: Request) -> Response:
        """``POST /connect/token`` with ``grant_type=client_credentials`` and HTTP Basic."""
        form = dict(parse_qsl((await request.body()).decode()))
        client_id, secret = basic_credentials(request.headers.get("authorization", ""))
        client_id = client_id or form.get("client_id", "")
        secret = secret or form.get("client_secret", "")
        if (client_id, secret) != (self.client_id, self.client_secret):
            return json_error(400, {"error": "invalid_client"})
        if form.get("grant_type") != "client_credentials":
            return json_error(400, {"error": "unsupported_grant_type"})
        return FastJSON(
            {
                "access_token": self.issue_token(),
                "expires_in": TOKEN_LIFETIME_SECONDS,
                "token_type": "Bearer",
                "scope": form.get("scope") or DEFAULT_SCOPE,
            }
        )

    async def connections(self, request: Request) -> Response:
        """``GET /connections``: the organisations this token may reach."""
        if not self.authenticated(request):
            return problem(401, "Unauthorized", "AuthenticationUnsuccessful")
        return FastJSON(list(self._tenants))
