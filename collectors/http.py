"""The HTTP machinery every connector shares: the client factory, one call with bounded retries
and pacing, and one page loop.

Retries use tenacity: exponential backoff with jitter, bounded in attempts, and a ``Retry-After``
from the vendor (seconds or an HTTP-date, on 429 and 503) takes precedence over our own backoff.
Before every attempt the call takes a slot from the vendor's ``Pacer`` (``collectors.pacing``), so
a healthy run stays under the published limits. A span is opened per vendor call (never per
record) through ``opentelemetry-api`` only, with the attempt, the pacing wait and the retry wait;
the process decides where spans go.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any, TypeVar

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
    ConfigError,
    RateLimitedError,
    RetryableError,
    SchemaDriftError,
    classify,
)
from collectors.outbound import DEFAULT_MAX_RESPONSE_BYTES, OriginGuard, SizeCap
from collectors.pacing import Pacer
from collectors.paging import MAX_PAGES, PageTrail, Paginator
from collectors.redaction import redact_text, redact_url

T = TypeVar("T")
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
    vendor: str = "",
    origins: Iterable[str] = (),
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
) -> httpx.Client:
    """One client per run; ``transport`` lets tests and the sandbox run with no sockets.

    The client sends requests only to the origin of ``base_url`` and of ``origins`` (an OAuth
    token endpoint, say) and reads no body over ``max_response_bytes`` (``collectors.outbound``):
    anything else is refused before it is sent, or before it is read."""
    base = base_url.rstrip("/") + "/"
    return httpx.Client(
        base_url=base,
        auth=auth,
        headers=dict(headers or {}),
        transport=transport,
        timeout=timeout,
        follow_redirects=False,
        event_hooks={
            "request": [OriginGuard.of(vendor, [base, *origins])],
            "response": [SizeCap(vendor, max_response_bytes)],
        },
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
    pacer: Pacer | None = None,
    **kwargs: Any,
) -> httpx.Response:
    """Send one request, retrying transient failures; raise a classified error otherwise.

    With a ``pacer``, every attempt first waits for a slot under the vendor's limits.
    """
    return _retrying(client, method, url, vendor, route, policy, pacer, kwargs, _identity)


def call_json(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    vendor: str,
    route: str | None = None,
    policy: RetryPolicy = DEFAULT_POLICY,
    pacer: Pacer | None = None,
    **kwargs: Any,
) -> tuple[httpx.Response, Any]:
    """``call()`` and decode the JSON body inside the same attempt, so that a cut or garbled body
    is retried like the dropped connection it usually is."""
    return _retrying(
        client,
        method,
        url,
        vendor,
        route,
        policy,
        pacer,
        kwargs,
        lambda response: (response, decode(response, vendor=vendor)),
    )


def call_parsed(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    parse: Callable[[httpx.Response], T],
    vendor: str,
    route: str | None = None,
    policy: RetryPolicy = DEFAULT_POLICY,
    pacer: Pacer | None = None,
    **kwargs: Any,
) -> T:
    """``call()`` and ``parse`` the response inside the same attempt, like ``call_json`` does, for
    a connector that reads a body its own way (a page straight into a frame); ``parse`` raises
    ``RetryableError`` for a cut or garbled body."""
    return _retrying(client, method, url, vendor, route, policy, pacer, kwargs, parse)


def _identity(response: httpx.Response) -> httpx.Response:
    return response


def _retrying(
    client: httpx.Client,
    method: str,
    url: str,
    vendor: str,
    route: str | None,
    policy: RetryPolicy,
    pacer: Pacer | None,
    kwargs: dict[str, Any],
    then: Callable[[httpx.Response], T],
) -> T:
    retrying = Retrying(
        retry=retry_if_exception_type(RetryableError),
        stop=stop_after_attempt(policy.attempts),
        wait=_wait(policy),
        reraise=True,
    )
    for attempt in retrying:
        with attempt:
            state = attempt.retry_state
            waited = state.upcoming_sleep if state.attempt_number > 1 else 0.0
            call = _Call(vendor, method, url, route or url, state.attempt_number, waited)
            try:
                return then(_send(client, call, pacer, kwargs))
            except RateLimitedError as exc:
                if pacer is not None and exc.retry_after:
                    pacer.hold(min(exc.retry_after, policy.max_retry_after))
                raise
    raise AssertionError("unreachable: tenacity either returns or re-raises")


@dataclass(frozen=True)
class _Call:
    vendor: str
    method: str
    url: str
    route: str
    attempt: int
    retry_wait: float


_TRANSIENT = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
    httpx.DecodingError,
)


def _send(
    client: httpx.Client, call: _Call, pacer: Pacer | None, kwargs: dict[str, Any]
) -> httpx.Response:
    vendor, method = call.vendor, call.method
    route = redact_text(call.route)  # a next-page link is its own route, and may carry a key
    with tracer.start_as_current_span(
        f"{vendor} {method} {route}",
        kind=trace.SpanKind.CLIENT,
        attributes={
            "vendor": vendor,
            "http.method": method,
            "http.route": route,
            "attempt": call.attempt,
            "retry.wait_s": round(call.retry_wait, 3),
        },
    ) as span:
        try:
            with pacer.slot() if pacer is not None else nullcontext(0.0) as paced:
                span.set_attribute("pacing.wait_s", round(paced, 3))
                response = client.request(method, call.url, **kwargs)
        except _TRANSIENT as exc:
            span.set_attribute("error.type", type(exc).__name__)
            span.set_status(trace.StatusCode.ERROR)
            where = redact_url(client.base_url.join(call.url))
            raise RetryableError(
                f"{vendor} {method} {where}: {type(exc).__name__}: {exc}", vendor=vendor
            ) from exc
        except httpx.TransportError as exc:  # a proxy or scheme we cannot use: configuration
            where = redact_url(client.base_url.join(call.url))
            raise ConfigError(
                f"{vendor} {method} {where}: {type(exc).__name__}: {exc}", vendor=vendor
            ) from exc
        span.set_attribute("http.status_code", response.status_code)
        error = classify(response, vendor=vendor)
        if error is not None:
            span.set_status(trace.StatusCode.ERROR)
            span.set_attribute("error.type", type(error).__name__)
            if isinstance(error, RateLimitedError):
                span.set_attribute("retry_after", error.retry_after or 0.0)
            raise error
        return response


def decode(response: httpx.Response, *, vendor: str) -> Any:
    """The JSON body; invalid JSON is retryable (a cut body is usually a dropped connection).

    A number orjson will not hold (``1e400``, ``NaN``, ``Infinity``) is not a cut body: the
    standard library reads it (as ``inf`` or ``nan``), so the page flows and the record holding it
    is refused on its own when it is mapped (``collectors.amounts``)."""
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError as exc:
        with contextlib.suppress(ValueError):
            return json.loads(response.content)
        raise RetryableError(
            f"{vendor} {response.request.method} {redact_url(response.request.url)} → "
            f"{response.status_code}: response is not valid JSON ({exc})",
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
    max_pages: int = MAX_PAGES,
    pacer: Pacer | None = None,
) -> Iterator[list[dict[str, Any]]]:
    """Every page of ``stream``, as lists of raw vendor records, one span per page; a page loop
    that repeats itself or passes ``max_pages`` stops with ``PagingError`` (``PageTrail``)."""
    url: str = stream.path.lstrip("/")
    query: dict[str, str] = dict(params)
    trail = PageTrail(vendor, stream.name, max_pages)
    while True:
        response, body = call_json(
            client,
            "GET",
            url,
            vendor=vendor,
            route=stream.path,
            policy=policy,
            pacer=pacer,
            params=query or None,
            headers={**stream.headers, **(headers or {})},
        )
        records = _records(body, stream, vendor)
        trail.arrived(response.request, PageTrail.fingerprint(records, stream.key))
        yield records
        following = stream.paginator.next_request(response.request, body)
        if following is None:
            return
        url, query = trail.follow(response.request, following)


def _records(body: Any, stream: Stream, vendor: str) -> list[dict[str, Any]]:
    records = body.get(stream.records) if isinstance(body, dict) else None
    if not isinstance(records, list):
        raise SchemaDriftError(
            f"{vendor} {stream.name}: response has no list at {stream.records!r}",
            vendor=vendor,
            details=sorted(body) if isinstance(body, dict) else type(body).__name__,
        )
    return records
