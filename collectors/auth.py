"""Auth shared by vendors, as ``httpx.Auth`` classes. Secrets are unwrapped only here.

``BearerToken`` sends a long-lived token (Harvest, Kantata, a Fusion JWT), with any fixed
headers the vendor requires beside it (Harvest's account id and a ``User-Agent`` naming us).
``BasicCredentials`` sends a user and password (Oracle Fusion's integration user).
``OAuth2ClientCredentials`` serves Xero custom connections and Salesforce's client-credentials
flow (and any vendor like them): it fetches a bearer token, fetches a new one shortly before it
expires, and once more when the API answers 401 (a token revoked or expired early).
``OAuth2JwtAssertion`` is the same grant with a signed JWT in place of a secret (RFC 7523 client
authentication; NetSuite's machine-to-machine flow): the private key signs a fresh short-lived
assertion for every token request.
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable, Generator, Mapping
from typing import Any, Literal

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, RSAKey
from pydantic import SecretStr

from collectors.errors import AuthError, ConfigError
from collectors.redaction import redact_text, redact_url

EXPIRY_MARGIN_SECONDS = 60.0


class BearerToken(httpx.Auth):
    """``Authorization: Bearer <token>`` and ``headers`` on every request; the token is
    unwrapped when a request is sent."""

    def __init__(self, token: SecretStr, headers: Mapping[str, str] | None = None) -> None:
        self._token = token
        self._headers = dict(headers or {})

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers.update(self._headers)
        request.headers["Authorization"] = f"Bearer {self._token.get_secret_value()}"
        yield request


class BasicCredentials(httpx.Auth):
    """HTTP Basic with a user name and a password kept as ``SecretStr`` until a request is sent
    (Oracle Fusion's integration user)."""

    def __init__(self, username: str, password: SecretStr) -> None:
        self._username = username
        self._password = password

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        pair = f"{self._username}:{self._password.get_secret_value()}".encode()
        request.headers["Authorization"] = f"Basic {base64.b64encode(pair).decode()}"
        yield request


class OAuth2ClientCredentials(httpx.Auth):
    """Bearer tokens from an OAuth2 token endpoint with the client-credentials grant."""

    requires_response_body = True

    def __init__(
        self,
        *,
        vendor: str,
        token_url: str,
        client_id: str,
        client_secret: SecretStr,
        scope: str | None = None,
        credentials_in: Literal["basic", "body"] = "basic",
        on_token: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self._vendor = vendor
        self._token_url = token_url
        self._client_id = client_id
        self._secret = client_secret
        self._scope = scope
        self._credentials_in = credentials_in
        self._on_token = on_token
        self._token: str | None = None
        self._expires = 0.0
        self._lock = threading.Lock()

    def token_request(self) -> httpx.Request:
        data = {"grant_type": "client_credentials"}
        if self._scope:
            data["scope"] = self._scope
        headers = {}
        secret = self._secret.get_secret_value()
        if self._credentials_in == "basic":
            pair = base64.b64encode(f"{self._client_id}:{secret}".encode()).decode()
            headers["Authorization"] = f"Basic {pair}"
        else:
            data |= {"client_id": self._client_id, "client_secret": secret}
        return httpx.Request("POST", self._token_url, data=data, headers=headers)

    def _store(self, response: httpx.Response) -> None:
        if response.status_code != 200:
            raise AuthError(
                f"{self._vendor} token request to {redact_url(self._token_url)} failed with "
                f"{response.status_code}: {redact_text(response.text[:200])} — check the client "
                "id and secret configured for this connection",
                vendor=self._vendor,
                status=response.status_code,
            )
        body = response.json()
        with self._lock:
            self._token = str(body["access_token"])
            lifetime = float(body.get("expires_in", 1800))
            self._expires = time.monotonic() + max(0.0, lifetime - EXPIRY_MARGIN_SECONDS)
        if self._on_token is not None:
            self._on_token(body)

    def _fresh(self) -> bool:
        with self._lock:
            return self._token is not None and time.monotonic() < self._expires

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if not self._fresh():
            self._store((yield self.token_request()))
        request.headers["Authorization"] = f"Bearer {self._token}"
        response = yield request
        if response.status_code == 401:
            self._store((yield self.token_request()))
            request.headers["Authorization"] = f"Bearer {self._token}"
            yield request


JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
JwtAlgorithm = Literal["PS256", "PS384", "PS512", "ES256", "ES384", "ES512"]


class OAuth2JwtAssertion(OAuth2ClientCredentials):
    """Client-credentials tokens for a client that proves itself with a JWT signed by its
    private key: header ``typ=JWT``, ``alg`` and ``kid`` (the certificate id the vendor knows
    the public key by); claims ``iss`` (the client id), ``scope``, ``aud`` (the token URL),
    ``iat`` and ``exp`` ``lifetime`` seconds later. The key (PEM) is unwrapped only to sign."""

    def __init__(
        self,
        *,
        vendor: str,
        token_url: str,
        client_id: str,
        private_key: SecretStr,
        key_id: str,
        scope: str,
        algorithm: JwtAlgorithm = "PS256",
        lifetime: int = 300,
    ) -> None:
        super().__init__(
            vendor=vendor, token_url=token_url, client_id=client_id, client_secret=private_key
        )
        self._key_id = key_id
        self._assertion_scope = scope
        self._algorithm = algorithm
        self._lifetime = lifetime

    def assertion(self) -> str:
        """A freshly signed client assertion."""
        now = int(time.time())
        header = {"typ": "JWT", "alg": self._algorithm, "kid": self._key_id}
        claims = {
            "iss": self._client_id,
            "scope": self._assertion_scope,
            "aud": self._token_url,
            "iat": now,
            "exp": now + self._lifetime,
        }
        kind = RSAKey if self._algorithm.startswith("PS") else ECKey
        try:
            key = kind.import_key(self._secret.get_secret_value())
            return jwt.encode(header, claims, key, algorithms=[self._algorithm])
        except (JoseError, ValueError, TypeError) as exc:
            raise ConfigError(
                f"{self._vendor}: the private key configured for this connection cannot sign "
                f"{self._algorithm} assertions ({type(exc).__name__}); configure the PEM of the "
                "key whose certificate the vendor holds",
                vendor=self._vendor,
            ) from None

    def token_request(self) -> httpx.Request:
        data = {
            "grant_type": "client_credentials",
            "client_assertion_type": JWT_BEARER,
            "client_assertion": self.assertion(),
        }
        return httpx.Request("POST", self._token_url, data=data)
