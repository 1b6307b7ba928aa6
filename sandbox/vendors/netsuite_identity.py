"""NetSuite's OAuth 2.0 client credentials (M2M) grant and its error bodies.

The integration's certificate is generated when the identity is made (never stored): an RSA key
pair and a self-signed X.509 certificate whose public key checks the client assertions, with a
certificate id as NetSuite's M2M setup assigns one. A token request is form-encoded
``grant_type=client_credentials``, ``client_assertion_type=urn:ietf:params:oauth:client-assertion-
type:jwt-bearer`` and ``client_assertion``, a JWT whose header has ``typ=JWT``, an ``alg`` of
PS256/384/512 or ES256/384/512 and ``kid`` = the certificate id, and whose claims are ``iss`` =
the client id, ``scope`` naming ``rest_webservices``, ``aud`` = the token URL, ``iat``, and an
``exp`` at most 60 minutes after ``iat`` (erps.md §3.2). Assertion times are checked against the
wall clock (the signer's clock, whatever the sandbox's simulated ``now``); access tokens live
3,600 s on the emulator's ``now``. Refusals are OAuth's ``{"error": …}`` with 400 (the error
names are [unconfirmed] beyond the RFC's).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import RSAKey
from joserfc.jwt import JWTClaimsRegistry
from starlette.requests import Request
from starlette.responses import Response

from sandbox.vendors.tokens import BearerTokens
from sandbox.vendors.wire import FastJSON, json_error

DEFAULT_CLIENT_ID = "sandbox-netsuite-client"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ALGORITHMS = ["PS256", "PS384", "PS512", "ES256", "ES384", "ES512"]
TOKEN_LIFETIME_SECONDS = 3600
MAX_ASSERTION_SECONDS = 3600
INVALID_LOGIN = (
    "Invalid login attempt. For more details, see the Login Audit Trail in the NetSuite UI at "
    "Setup > Users/Roles > User Management > View Login Audit Trail."
)
_TITLES = {400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 429: "Too Many Requests"}


def ns_error(
    status: int, code: str, detail: str, *, headers: dict[str, str] | None = None, **where: Any
) -> FastJSON:
    """NetSuite's REST error body (erps.md §3.7): ``type``, ``title``, ``status`` and
    ``o:errorDetails`` with ``detail`` and ``o:errorCode`` (plus ``o:errorPath`` and the like)."""
    detail_entry: dict[str, Any] = {"detail": detail, "o:errorCode": code}
    detail_entry |= {f"o:{name}": value for name, value in where.items()}
    body = {
        "type": f"https://www.rfc-editor.org/rfc/rfc9110.html#section-15.{_section(status)}",
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "o:errorDetails": [detail_entry],
    }
    return json_error(status, body, headers)


def _section(status: int) -> str:
    family, offset = divmod(status, 100)
    return f"{family + 1}.{offset + 1}"


def _certificate(key: rsa.RSAPrivateKey, client_id: str) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, client_id)])
    start = datetime.now(UTC) - timedelta(days=1)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )


class NetSuiteIdentity:
    """One M2M integration: its client id, its uploaded certificate and the tokens it was
    granted."""

    def __init__(self, client_id: str, *, now: Callable[[], datetime]) -> None:
        self.client_id = client_id
        self._now = now
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.private_key_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        self.certificate = _certificate(key, client_id)
        self.certificate_id = secrets.token_urlsafe(32)
        public = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self._verifying_key = RSAKey.import_key(public)
        self.tokens = BearerTokens(now, TOKEN_LIFETIME_SECONDS)

    def issue_token(self) -> str:
        return self.tokens.issue()

    def authenticated(self, request: Request) -> bool:
        """Whether the request carries a bearer token that is ours and unexpired."""
        return self.tokens.valid(request)

    async def token_endpoint(self, request: Request) -> Response:
        """``POST …/auth/oauth2/v1/token``: a bearer token for a valid signed assertion."""
        form = dict(parse_qsl((await request.body()).decode(errors="replace")))
        if form.get("grant_type") != "client_credentials":
            return json_error(400, {"error": "unsupported_grant_type"})
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            return json_error(400, {"error": "invalid_request"})
        audience = str(request.url.replace(query=""))
        refusal = self._refusal(form.get("client_assertion", ""), audience)
        if refusal is not None:
            return json_error(400, {"error": refusal})
        return FastJSON(
            {
                "access_token": self.issue_token(),
                "expires_in": str(TOKEN_LIFETIME_SECONDS),
                "token_type": "bearer",
            }
        )

    def _refusal(self, assertion: str, audience: str) -> str | None:
        """Why the assertion is refused (an OAuth error name), or ``None`` when it is good."""
        try:
            token = jwt.decode(assertion, self._verifying_key, algorithms=ALGORITHMS)
        except (JoseError, ValueError):
            return "invalid_client"
        header, claims = token.header, token.claims
        if header.get("kid") != self.certificate_id or header.get("typ") != "JWT":
            return "invalid_client"
        registry = JWTClaimsRegistry(
            now=int(time.time()),
            leeway=5,
            iss={"essential": True, "value": self.client_id},
            aud={"essential": True, "value": audience},
            iat={"essential": True},
            exp={"essential": True},
        )
        try:
            registry.validate(claims)
        except JoseError:
            return "invalid_grant"
        if int(claims["exp"]) - int(claims["iat"]) > MAX_ASSERTION_SECONDS:
            return "invalid_grant"
        scopes = {s.strip() for s in str(claims.get("scope", "")).replace(",", " ").split()}
        return None if "rest_webservices" in scopes else "invalid_scope"


__all__ = [
    "ALGORITHMS",
    "ASSERTION_TYPE",
    "DEFAULT_CLIENT_ID",
    "INVALID_LOGIN",
    "NetSuiteIdentity",
    "ns_error",
]
