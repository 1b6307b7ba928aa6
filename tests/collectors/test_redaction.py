"""Secrets are masked by key name and by value, at any depth, and in log records."""

from __future__ import annotations

import base64
import io
import logging
from typing import Any

import pytest

from collectors.redaction import (
    MASK,
    RedactingFilter,
    install_log_redaction,
    is_secret_key,
    redact,
    redact_text,
    redact_url,
)

BASIC = base64.b64encode(b"key-123:x").decode()


@pytest.mark.parametrize(
    "name",
    [
        "password", "Client_Secret", "client-secret", "refresh_token", "ACCESS-TOKEN",
        "X-Api-Key", "apiKey", "Authorization", "Set-Cookie", "signature", "sig", "private.key",
    ],
)  # fmt: skip
def test_credential_key_names_are_recognised(name: str) -> None:
    assert is_secret_key(name)


@pytest.mark.parametrize("name", ["id", "hours", "notes", "key", "spent_date", "signed_off"])
def test_ordinary_key_names_are_not(name: str) -> None:
    assert not is_secret_key(name)


def test_nested_mappings_and_lists_are_masked_at_any_depth_without_changing_the_input() -> None:
    payload: dict[str, Any] = {
        "id": 7,
        "user": {"name": "Ann", "credentials": {"api_key": "k-1", "x": [{"password": "p-1"}]}},
        "hooks": [{"url": "https://bob:p-2@hooks.example/x?token=t-1&page=2"}],
        "headers": [("Authorization", "Bearer t-2")],
        "notes": "retry with access_token=t-3, please",
    }
    cleaned = redact(payload)
    text = repr(cleaned)
    for secret in ("k-1", "p-1", "p-2", "t-1", "t-2", "t-3", "bob"):
        assert secret not in text
    assert cleaned["id"] == 7 and cleaned["user"]["name"] == "Ann" and "page=2" in text
    assert cleaned["user"]["credentials"] == MASK
    assert payload["user"]["credentials"]["api_key"] == "k-1"  # the input is untouched


@pytest.mark.parametrize(
    "text, secret",
    [
        ("Authorization: Bearer abc.DEF-123", "abc.DEF-123"),
        (f"sent Basic {BASIC} to the API", BASIC),
        ('{"access_token": "tok-1", "expires_in": 1800}', "tok-1"),
        ("{'client_secret': 's3cr3t', 'id': 1}", "s3cr3t"),
        ("grant_type=client_credentials&client_secret=s3cr3t&scope=a", "s3cr3t"),
        ("GET https://api.example.com/x?api_key=k-9&page=2", "k-9"),
        ("postgresql://app:hunter2@db.example/plan2cash", "hunter2"),
        ('password="two words"', "two words"),
    ],
)
def test_credentials_inside_text_are_masked(text: str, secret: str) -> None:
    assert secret not in redact_text(text)


def test_ordinary_text_is_left_as_it_is() -> None:
    for text in (
        "harvest GET http://127.0.0.1:8711/v2/time_entries?page=2 → 503: busy",
        "the Basic rate applies to ann@example.com",
        "check the client id and secret configured for this connection",
    ):
        assert redact_text(text) == text


def test_urls_lose_their_user_and_secret_parameters() -> None:
    cleaned = redact_url("https://u:pw@api.example.com/x?key=k-1&page=2&signature=s-1")
    assert cleaned == f"https://api.example.com/x?key={MASK}&page=2&signature={MASK}"


def test_log_records_are_masked_in_message_arguments_and_traceback() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("plan2cash.test.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    install_log_redaction(logger)
    install_log_redaction(logger)  # once is enough
    assert sum(isinstance(f, RedactingFilter) for f in handler.filters) == 1
    try:
        logger.warning("token refreshed: %s", {"grant": {"refresh_token": "r-1"}, "n": 2})
        try:
            raise RuntimeError("POST https://h.example/token?client_secret=s-1 failed")
        except RuntimeError:
            logger.exception("call failed with Bearer b-1")
    finally:
        logger.removeHandler(handler)
    logged = stream.getvalue()
    for secret in ("r-1", "s-1", "b-1"):
        assert secret not in logged
    assert "'n': 2" in logged and "RuntimeError" in logged
