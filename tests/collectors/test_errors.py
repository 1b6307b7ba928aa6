from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from collectors.errors import (
    AuthError,
    ConfigError,
    RateLimitedError,
    RecordError,
    RetryableError,
    classify,
    parse_retry_after,
    redact_url,
)


def response(
    status: int,
    *,
    json: object = None,
    headers: dict[str, str] | None = None,
    url: str = "https://api.example.com/v2/x",
) -> httpx.Response:
    return httpx.Response(status, json=json, headers=headers, request=httpx.Request("GET", url))


def test_success_is_not_an_error() -> None:
    assert classify(response(200, json={}), vendor="harvest") is None


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (401, AuthError),
        (403, AuthError),
        (404, ConfigError),
        (400, RecordError),
        (422, RecordError),
        (500, RetryableError),
        (502, RetryableError),
        (503, RetryableError),
        (429, RateLimitedError),
    ],
)
def test_status_codes_map_onto_the_tree(status: int, kind: type[Exception]) -> None:
    error = classify(response(status, json={"message": "nope"}), vendor="harvest")
    assert type(error) is kind
    assert f"→ {status}" in str(error) and "nope" in str(error)


def test_retry_after_in_seconds_and_as_http_date() -> None:
    assert parse_retry_after("7") == 7.0
    now = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("Wed, 25 Nov 2026 12:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("garbage") is None
    error = classify(response(429, headers={"Retry-After": "3"}), vendor="xero")
    assert isinstance(error, RateLimitedError) and error.retry_after == 3.0


def test_salesforce_daily_limit_is_a_rate_limit_not_an_auth_failure() -> None:
    body = [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
    assert isinstance(classify(response(403, json=body), vendor="salesforce"), RateLimitedError)


def test_vendor_error_texts_are_carried() -> None:
    xero = {
        "ErrorNumber": 10,
        "Type": "ValidationException",
        "Message": "A validation exception",
        "Elements": [{"ValidationErrors": [{"Message": "Contact could not be found"}]}],
    }
    assert "Contact could not be found" in str(classify(response(400, json=xero), vendor="xero"))
    bamboo = response(400, headers={"X-BambooHR-Error-Message": "Invalid field"})
    assert "Invalid field" in str(classify(bamboo, vendor="bamboohr"))


def test_urls_are_redacted() -> None:
    url = "https://user:pw@api.example.com/x?access_token=abc&page=2&client_secret=s3"
    cleaned = redact_url(url)
    assert "abc" not in cleaned and "s3" not in cleaned and "pw" not in cleaned
    assert "page=2" in cleaned
    error = classify(response(500, url=url), vendor="x")
    assert "abc" not in str(error)


def test_a_503_with_retry_after_is_a_rate_limit_and_without_it_transient() -> None:
    limited = classify(response(503, headers={"Retry-After": "5"}), vendor="bamboohr")
    assert isinstance(limited, RateLimitedError) and limited.retry_after == 5.0
    plain = classify(response(503), vendor="bamboohr")
    assert type(plain) is RetryableError


def test_xero_names_the_limit_it_hit() -> None:
    error = classify(
        response(429, headers={"Retry-After": "30", "X-Rate-Limit-Problem": "minute"}),
        vendor="xero",
    )
    assert isinstance(error, RateLimitedError) and "limit: minute" in str(error)


def test_messages_carry_vendor_method_redacted_url_status_and_vendor_text() -> None:
    error = classify(
        response(
            422,
            json={"message": "Spent date can't be blank"},
            url="https://api.example.com/v2/time_entries?access_token=tok",
        ),
        vendor="harvest",
    )
    assert str(error) == (
        "harvest GET https://api.example.com/v2/time_entries?access_token=*** → 422: "
        "Spent date can't be blank"
    )
    assert isinstance(error, RecordError) and error.body == {"message": "Spent date can't be blank"}


def test_salesforce_403_without_the_limit_code_stays_an_auth_failure() -> None:
    body = [{"message": "insufficient access", "errorCode": "INSUFFICIENT_ACCESS"}]
    assert type(classify(response(403, json=body), vendor="salesforce")) is AuthError
