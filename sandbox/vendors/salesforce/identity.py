"""Salesforce OAuth 2.0: the client-credentials grant at ``/services/oauth2/token``.

The client id and secret come in the form body (Salesforce also takes HTTP Basic). The reply is
Salesforce's: ``access_token, instance_url, id, token_type, issued_at`` (epoch milliseconds as a
string) and ``signature`` (base64 HMAC-SHA256 of ``id + issued_at`` keyed by the client secret).
There is no ``expires_in``: a session lasts the org's session timeout (two hours by default),
measured on the injected clock, and a revoked or expired token gets 401 ``INVALID_SESSION_ID``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response

from sandbox.vendors.wire import FastJSON, basic_credentials, json_error

DEFAULT_CLIENT_ID = "sandbox-sf-client"
DEFAULT_CLIENT_SECRET = "sandbox-sf-secret"
SESSION_TIMEOUT = timedelta(hours=2)
ORG_ID = "00DHs000000Plan2AAA"
USER_ID = "005Hs000000Plan2AAA"


class SalesforceIdentity:
    """Issues bearer tokens to one connected app and checks them on every API call."""

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        *,
        now: Callable[[], datetime],
        instance_url: str | None = None,
        session_timeout: timedelta = SESSION_TIMEOUT,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.instance_url = instance_url
        self._now = now
        self._timeout = session_timeout
        self._tokens: dict[str, datetime] = {}
        self._lock = threading.Lock()

    @property
    def issued(self) -> list[str]:
        """Every token issued so far (tests check none of them leaks)."""
        with self._lock:
            return list(self._tokens)

    def revoke_all(self) -> None:
        with self._lock:
            self._tokens.clear()

    def valid(self, authorization: str) -> bool:
        token = authorization[7:] if authorization.startswith("Bearer ") else ""
        with self._lock:
            issued = self._tokens.get(token)
        return issued is not None and self._now() < issued + self._timeout

    async def token_endpoint(self, request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode(errors="replace")))
        client_id, secret = basic_credentials(request.headers.get("authorization", ""))
        client_id = form.get("client_id") or client_id
        secret = form.get("client_secret") or secret
        grant = form.get("grant_type", "")
        if grant != "client_credentials":
            return json_error(
                400,
                {
                    "error": "unsupported_grant_type",
                    "error_description": "grant type not supported",
                },
            )
        if not (
            hmac.compare_digest(client_id, self.client_id)
            and hmac.compare_digest(secret, self.client_secret)
        ):
            return json_error(
                400, {"error": "invalid_client", "error_description": "invalid client credentials"}
            )
        return FastJSON(self._grant(self.instance_url or _origin(request)))

    def _grant(self, instance_url: str) -> dict[str, str]:
        token = f"{ORG_ID}!{secrets.token_urlsafe(48)}"
        issued = self._now()
        with self._lock:
            self._tokens[token] = issued
        identity = f"{instance_url}/id/{ORG_ID}/{USER_ID}"
        issued_at = str(int(issued.timestamp() * 1000))
        digest = hmac.new(
            self.client_secret.encode(), (identity + issued_at).encode(), hashlib.sha256
        ).digest()
        return {
            "access_token": token,
            "instance_url": instance_url,
            "id": identity,
            "token_type": "Bearer",
            "issued_at": issued_at,
            "signature": base64.b64encode(digest).decode(),
        }


def _origin(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"
