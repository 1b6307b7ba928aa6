"""The HTTP machinery every connector shares: the client factory, one call with bounded retries,
and one page loop.

Retries use tenacity: exponential backoff with jitter, bounded in attempts, and a ``Retry-After``
from the vendor takes precedence over our own backoff. A span is opened per vendor call (never per
record) through ``opentelemetry-api`` only; the process decides where spans go.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
from opentelemetry import trace
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from collectors.errors import (
    ConnectorError,
    RateLimitedError,
    RetryableError,
    SchemaDriftError,
    classify,
    redact_url,
)
from collectors.paging import Paginator

tracer = trace.get_tracer("plan2cash.collectors")

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try one call: attempts in all, backoff bounds, and the longest wait we accept."""

    attempts: int = 5
    initial: float = 0.5
    maximum: float = 30.0
    jitter: float = 0.5
    max_retry_after: float = 120.0


DEFAULT_POLICY = RetryPolicy()


def make_client(
    base_url: str,
    *,
    auth: httpx.Auth | None = None,
    headers: Mapping[str, str] | None = None,
    transport: httpx.BaseTransport | None = None,
    timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
) -> httpx.Client:
    """One client per run; ``transport`` lets tests and the sandbox run with no sockets."""
    return httpx.Client(
        base_url=base_url.rstrip("/") + "/",
        auth=auth,
        headers=dict(headers or {}),
        transport=transport,
        timeout=timeout,
        follow_redirects=False,
    )


def _wait(policy: RetryPolicy) -> Callable[[RetryCallState], float]:
    backoff = wait_exponential_jitter(
        multiplier=policy.initial, max=policy.maximum, jitter=policy.jitter
    )

    def wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, RateLimitedError) and error.retry_after is not None:
            return min(error.retry_after, policy.max_retry_after)
        return backoff(state)

    return wait


def call(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    vendor: str,
    route: str | None = None,
    policy: RetryPolicy = DEFAULT_POLICY,
    **kwargs: Any,
) -> httpx.Response:
    """Send one request, retrying transient failures; raise a classified error otherwise."""
    retrying = Retrying(
        retry=retry_if_exception_type(RetryableError),
        stop=stop_after_attempt(policy.attempts),
        wait=_wait(policy),
        reraise=True,
    )
    for attempt in retrying:
        with attempt:
            return _send(client, method, url, vendor, route or url, attempt, kwargs)
    raise AssertionError("unreachable: tenacity either returns or re-raises")


def _send(
    client: httpx.Client,
    method: str,
    url: str,
    vendor: str,
    route: str,
    attempt: Any,
    kwargs: dict[str, Any],
) -> httpx.Response:
    number = attempt.retry_state.attempt_number
    with tracer.start_as_current_span(
        f"{vendor} {method} {route}",
        kind=trace.SpanKind.CLIENT,
        attributes={
            "vendor": vendor,
            "http.method": method,
            "http.route": route,
            "attempt": number,
        },
    ) as span:
        try:
            response = client.request(method, url, **kwargs)
        except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            span.set_attribute("error.type", type(exc).__name__)
            span.set_status(trace.StatusCode.ERROR)
            where = redact_url(client.base_url.join(url))
            raise RetryableError(
                f"{vendor} {method} {where}: {type(exc).__name__}: {exc}", vendor=vendor
            ) from exc
        span.set_attribute("http.status_code", response.status_code)
        error = classify(response, vendor=vendor)
        if error is not None:
            span.set_status(trace.StatusCode.ERROR)
            if isinstance(error, RateLimitedError):
                span.set_attribute("retry_after", error.retry_after or 0.0)
            raise error
        return response


def decode(response: httpx.Response, *, vendor: str) -> Any:
    """The JSON body; invalid JSON is retryable (a cut body is usually a dropped connection)."""
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError as exc:
        raise RetryableError(
            f"{vendor} {response.request.method} {redact_url(response.request.url)}: "
            f"response is not valid JSON ({exc})",
            vendor=vendor,
            status=response.status_code,
        ) from exc


@dataclass(frozen=True)
class Stream:
    """A collection a connector reads: where it lives, how it pages, where its records are."""

    name: str
    path: str
    records: str
    paginator: Paginator
    key: str = "id"
    cursor: str | None = "updated_at"
    headers: Mapping[str, str] = field(default_factory=dict)


def pages(
    client: httpx.Client,
    stream: Stream,
    params: Mapping[str, str],
    *,
    vendor: str,
    headers: Mapping[str, str] | None = None,
    policy: RetryPolicy = DEFAULT_POLICY,
    max_pages: int = 100_000,
) -> Iterator[list[dict[str, Any]]]:
    """Every page of ``stream``, as lists of raw vendor records, one span per page."""
    url: str = stream.path.lstrip("/")
    query: dict[str, str] = dict(params)
    for _ in range(max_pages):
        response = call(
            client,
            "GET",
            url,
            vendor=vendor,
            route=stream.path,
            policy=policy,
            params=query or None,
            headers={**stream.headers, **(headers or {})},
        )
        body = decode(response, vendor=vendor)
        records = _records(body, stream, vendor)
        yield records
        following = stream.paginator.next_request(response.request, body)
        if following is None:
            return
        url, query = following
    raise ConnectorError(f"{vendor} {stream.name}: more than {max_pages} pages", vendor=vendor)


def _records(body: Any, stream: Stream, vendor: str) -> list[dict[str, Any]]:
    records = body.get(stream.records) if isinstance(body, dict) else None
    if not isinstance(records, list):
        raise SchemaDriftError(
            f"{vendor} {stream.name}: response has no list at {stream.records!r}",
            vendor=vendor,
            details=sorted(body) if isinstance(body, dict) else type(body).__name__,
        )
    return records
