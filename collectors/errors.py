"""The connector error tree, and the one classifier that maps an HTTP response onto it.

::

    ConnectorError
     ├── RetryableError           transient: 5xx, timeouts, resets, cut bodies — try again later
     │    └── RateLimitedError    429 (or Salesforce 403 REQUEST_LIMIT_EXCEEDED); has retry_after
     ├── FatalError               the run cannot go on until a person acts
     │    ├── AuthError           401/403: credentials missing, wrong or expired
     │    ├── ConfigError         404 on a base path, a bad tenant, an impossible request
     │    ├── OffOriginError      a request (a next-page link, a learned instance URL) would leave
     │    │                       the configured origins; refused before it is sent
     │    ├── ResponseTooLargeError  a body larger than the connector's cap; reading stops there
     │    └── PagingError         paging does not end: a page or next request repeats, or the
     │                            read passes its bound of pages
     └── RecordError             the vendor refused this one record (400/422 validation)
          └── SchemaDriftError   a response no longer has the shape we map from

Messages carry the vendor, method, a redacted URL (``collectors.redaction``), the status and the
vendor's own error text.
"""

from __future__ import annotations

import email.utils
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson

from collectors.redaction import redact_text, redact_url


class ConnectorError(Exception):
    """Base of every error a connector raises."""

    def __init__(
        self,
        message: str,
        *,
        vendor: str = "",
        status: int | None = None,
        details: Any = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.vendor = vendor
        self.status = status
        self.details = details
        self.body = body  # the vendor's decoded error body, to map batch refusals per record


class RetryableError(ConnectorError):
    """A transient failure: the same call may succeed later."""


class RateLimitedError(RetryableError):
    """The vendor asked us to slow down; ``retry_after`` is in seconds when it said how long."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class FatalError(ConnectorError):
    """The run cannot continue until someone fixes configuration or credentials."""


class AuthError(FatalError):
    """Credentials are missing, wrong, expired or lack permission."""


class ConfigError(FatalError):
    """The request cannot succeed as configured (wrong URL, unknown tenant, bad parameter)."""


class OffOriginError(FatalError):
    """A request would go to a scheme, host or port other than the connector's configured ones
    (its base URL, its OAuth token endpoint): refused before it is sent, with its host named."""


class ResponseTooLargeError(FatalError):
    """A response body is larger than the connector's ``max_response_bytes``: the read stops at
    the cap (or before reading, when ``Content-Length`` says so)."""


class PagingError(FatalError):
    """A page loop that would not end: a next request already made, a page identical to the one
    before, or more pages than the loop's bound."""


class RecordError(ConnectorError):
    """The vendor refused one record; the rest of the batch or page can still flow."""


class SchemaDriftError(RecordError):
    """A vendor response no longer has the shape we map from."""


# What mapping one vendor record can raise when the record is unreadable: a value of the wrong
# type or shape, a field missing, a number that does not parse or does not fit (decimal's
# InvalidOperation, OverflowError), a canonical rule broken (pydantic's ValidationError is a
# ValueError), or the mapping's own verdict. Caught around the mapping of one record only, so
# that a mistake in the code around it still surfaces.
UNREADABLE: tuple[type[Exception], ...] = (
    RecordError,
    ArithmeticError,
    LookupError,
    TypeError,
    ValueError,
    AttributeError,
)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP-date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def vendor_message(response: httpx.Response) -> str:
    """The vendor's own error text, from whichever shape its error body takes."""
    header = response.headers.get("X-BambooHR-Error-Message")
    if header:
        return header
    try:
        body = orjson.loads(response.content) if response.content else None
    except orjson.JSONDecodeError:
        return response.text[:300]
    return _message_from_body(body)


def _body(response: httpx.Response) -> Any:
    try:
        return orjson.loads(response.content) if response.content else None
    except orjson.JSONDecodeError:
        return None


def _message_from_body(body: Any) -> str:
    if isinstance(body, list) and body and isinstance(body[0], dict):  # Salesforce
        return "; ".join(f"{e.get('errorCode', '')}: {e.get('message', '')}" for e in body)
    if not isinstance(body, dict):
        return "" if body is None else str(body)[:300]
    error = body.get("error")
    if isinstance(error, dict):  # OData (Dynamics 365): the Infolog text is the inner message
        inner = error.get("innererror")
        text = inner.get("message") if isinstance(inner, dict) else None
        return str(text or error.get("message") or error.get("code") or "")
    details = body.get("o:errorDetails")  # Oracle (Fusion, NetSuite): one reason per field
    if isinstance(details, list):
        reasons = [
            f"{d.get('o:errorCode') or ''}: {d.get('detail') or ''}".strip(": ")
            for d in details
            if isinstance(d, dict)
        ]
        return "; ".join(r for r in reasons if r) or str(body.get("title", ""))
    if "Elements" in body:  # Xero ValidationException
        errors = [
            v.get("Message", "")
            for element in body.get("Elements") or []
            for v in element.get("ValidationErrors") or []
        ]
        return "; ".join(errors) or str(body.get("Message", ""))
    for key in ("error_description", "message", "Message", "Detail", "detail", "error", "Title"):
        if body.get(key):
            return str(body[key])
    return str(body)[:300]


def classify(response: httpx.Response, *, vendor: str) -> ConnectorError | None:
    """The error a response stands for, or ``None`` when it is a success."""
    status = response.status_code
    if status < 400:
        return None
    text = redact_text(vendor_message(response))
    request = response.request
    message = f"{vendor} {request.method} {redact_url(request.url)} → {status}: {text}".rstrip(": ")
    kw: dict[str, Any] = {"vendor": vendor, "status": status, "details": text}
    if status == 429 or (status == 403 and "REQUEST_LIMIT_EXCEEDED" in text):
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        problem = response.headers.get("X-Rate-Limit-Problem")  # Xero: minute, day, concurrent
        if problem:
            message = f"{message} (limit: {problem})"
        return RateLimitedError(message, retry_after=retry_after, **kw)
    if status == 503 and "Retry-After" in response.headers:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        return RateLimitedError(message, retry_after=retry_after, **kw)
    if status in (401, 403):
        return AuthError(message, **kw)
    if status in (408, 409, 425) or status >= 500:
        return RetryableError(message, **kw)
    if status in (400, 422):
        return RecordError(message, body=_body(response), **kw)
    return ConfigError(message, **kw)
