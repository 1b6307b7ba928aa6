"""Microsoft Entra ID for a Dynamics 365 Finance environment: the v2.0 token endpoint with the
client-credentials grant, and the bearer check of every OData call.

``POST /{tenant}/oauth2/v2.0/token`` takes ``client_id``, ``client_secret`` (in the form, or as
HTTP Basic), ``grant_type=client_credentials`` and ``scope=<environment URL>/.default`` (the
sandbox takes any environment URL); it answers ``{token_type, expires_in, ext_expires_in,
access_token}`` or Entra's error body (``error``, ``error_description`` with an ``AADSTS`` code,
``error_codes``). Tokens live ``expires_in`` seconds (3599) against the injected clock. An OData
call without a live token is answered 401 with ``WWW-Authenticate: Bearer`` and no body
[3rd-party: what F&O sends].
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response

from sandbox.clock import utc_text
from sandbox.vendors.tokens import BearerTokens
from sandbox.vendors.wire import FastJSON, basic_credentials, json_error

DEFAULT_TENANT = "00000000-0000-4000-8000-00000000d365"
DEFAULT_CLIENT_ID = "sandbox-d365-client"
DEFAULT_CLIENT_SECRET = "sandbox-d365-secret"
TOKEN_LIFETIME_SECONDS = 3599


class EntraIdentity:
    """Grants tokens to one app registration for one environment's ``.default`` scope."""

    def __init__(
        self,
        tenant: str,
        client_id: str,
        client_secret: str,
        *,
        now: Callable[[], datetime],
    ) -> None:
        self.tenant, self.client_id, self.client_secret = tenant, client_id, client_secret
        self._now = now
        self.tokens = BearerTokens(now, TOKEN_LIFETIME_SECONDS)

    def issue_token(self) -> str:
        return self.tokens.issue()

    def authenticated(self, request: Request) -> bool:
        """Whether the request carries a bearer token that is ours and unexpired."""
        return self.tokens.valid(request)

    def _refusal(self, status: int, error: str, code: int, text: str) -> FastJSON:
        body = {
            "error": error,
            "error_description": f"AADSTS{code}: {text} Trace ID: {uuid.uuid4()} "
            f"Timestamp: {utc_text(self._now())}",
            "error_codes": [code],
            "timestamp": utc_text(self._now()),
            "trace_id": str(uuid.uuid4()),
            "correlation_id": str(uuid.uuid4()),
        }
        return json_error(status, body)

    async def token_endpoint(self, request: Request) -> Response:
        """``POST /{tenant}/oauth2/v2.0/token``."""
        form = dict(parse_qsl((await request.body()).decode()))
        user, password = basic_credentials(request.headers.get("authorization", ""))
        client_id = user or form.get("client_id", "")
        secret = password or form.get("client_secret", "")
        if request.path_params.get("tenant") != self.tenant:
            tenant = request.path_params.get("tenant")
            return self._refusal(400, "invalid_request", 90002, f"Tenant '{tenant}' not found.")
        if form.get("grant_type") != "client_credentials":
            return self._refusal(
                400, "unsupported_grant_type", 70003, "The app requested an unsupported grant."
            )
        if client_id != self.client_id:
            return self._refusal(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the directory.",
            )
        if secret != self.client_secret:
            return self._refusal(401, "invalid_client", 7000215, "Invalid client secret provided.")
        # the environment's own URL: the sandbox accepts any, as it cannot know where it is served
        scope = form.get("scope", "")
        if not (scope.startswith(("http://", "https://")) and scope.endswith("/.default")):
            return self._refusal(
                400,
                "invalid_scope",
                1002012,
                f"The provided value for scope {scope} is not valid.",
            )
        return FastJSON(
            {
                "token_type": "Bearer",
                "expires_in": TOKEN_LIFETIME_SECONDS,
                "ext_expires_in": TOKEN_LIFETIME_SECONDS,
                "access_token": self.issue_token(),
            }
        )


def unauthorized() -> Response:
    return Response(b"", status_code=401, headers={"WWW-Authenticate": "Bearer"})
