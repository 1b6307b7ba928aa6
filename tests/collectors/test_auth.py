from __future__ import annotations

import httpx
import pytest
from pydantic import SecretStr

from collectors.auth import OAuth2ClientCredentials
from collectors.errors import AuthError


class TokenServer:
    """A token endpoint and an API that accepts only the latest token."""

    def __init__(self, *, expires_in: int = 1800) -> None:
        self.issued = 0
        self.expires_in = expires_in
        self.token_bodies: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/token":
            self.token_bodies.append(request.content.decode())
            if request.headers.get("Authorization") not in (None, "Basic aWQ6czNjcmV0"):
                return httpx.Response(400, json={"error": "invalid_client"})
            self.issued += 1
            return httpx.Response(
                200, json={"access_token": f"t{self.issued}", "expires_in": self.expires_in}
            )
        if request.headers.get("Authorization") != f"Bearer t{self.issued}":
            return httpx.Response(401, json={"error": "invalid_token"})
        return httpx.Response(200, json={"ok": True})


def auth(secret: str = "s3cret", **kw: object) -> OAuth2ClientCredentials:
    return OAuth2ClientCredentials(
        vendor="xero",
        token_url="https://id.example/token",
        client_id="id",
        client_secret=SecretStr(secret),
        **kw,
    )  # type: ignore[arg-type]


def test_token_is_fetched_once_and_reused() -> None:
    server = TokenServer()
    client = httpx.Client(transport=httpx.MockTransport(server), auth=auth())
    for _ in range(3):
        assert client.get("https://api.example/x").status_code == 200
    assert server.issued == 1
    assert "grant_type=client_credentials" in server.token_bodies[0]


def test_an_expired_token_is_renewed_before_use() -> None:
    server = TokenServer(expires_in=30)  # shorter than the safety margin: always renewed
    client = httpx.Client(transport=httpx.MockTransport(server), auth=auth())
    client.get("https://api.example/x")
    client.get("https://api.example/x")
    assert server.issued == 2


def test_a_revoked_token_is_replaced_on_401() -> None:
    server = TokenServer()
    client = httpx.Client(transport=httpx.MockTransport(server), auth=auth())
    client.get("https://api.example/x")
    server.issued = 5  # the server now wants t5: our t1 was revoked
    response = client.get("https://api.example/x")
    assert response.status_code == 200 and server.issued == 6


def test_bad_credentials_are_an_auth_error_without_the_secret() -> None:
    server = TokenServer()
    client = httpx.Client(transport=httpx.MockTransport(server), auth=auth("wrong-secret"))
    with pytest.raises(AuthError, match="xero token request") as caught:
        client.get("https://api.example/x")
    assert "wrong-secret" not in str(caught.value)


def test_credentials_in_the_body_for_vendors_that_want_them_there() -> None:
    server = TokenServer()
    client = httpx.Client(
        transport=httpx.MockTransport(server), auth=auth(credentials_in="body", scope="api")
    )
    client.get("https://api.example/x")
    assert "client_id=id" in server.token_bodies[0] and "scope=api" in server.token_bodies[0]
