"""The HTTP machinery every connector shares: the vendor's client and one call with bounded
retries and pacing (the page loop, ``collectors.streams``, makes its calls here).

A ``VendorClient`` (from ``make_client``; a connector's ``client()``) carries its vendor's name,
retry policy and pacing, so a call site names only what it fetches: ``call``, ``call_json`` and
``call_parsed`` read the rest from the client.

Retries use tenacity: exponential backoff with jitter, bounded in attempts, and a ``Retry-After``
from the vendor (seconds or an HTTP-date, on 429 and 503) takes precedence over our own backoff
and holds the pacer for every thread. Before every attempt the call takes a slot from the pacer
the client names for the request (``collectors.pacing``), so a healthy run stays under the
published limits. A span is opened per vendor call (never per record) through
``opentelemetry-api`` only, with the attempt, the pacing wait and the retry wait; the process
decides where spans go.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterable, Mapping
from contextlib import nullcontext
from dataclasses import dataclass
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
    classify,
)
from collectors.outbound import DEFAULT_MAX_RESPONSE_BYTES, OriginGuard, SizeCap
from collectors.pacing import Pacer
from collectors.redaction import redact_text, redact_url

T = TypeVar("T")
tracer = trace.get_tracer("plan2cash.collectors")

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
Pacing = Callable[[httpx.Request], Pacer | None]


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try one call: attempts in all, backoff bounds, and the longest wait we accept."""

    attempts: int = 5
    initial: float = 0.5
    maximum: float = 30.0
    jitter: float = 0.5
    max_retry_after: float = 120.0


DEFAULT_POLICY = RetryPolicy()


class VendorClient(httpx.Client):
    """An ``httpx.Client`` bound to one vendor: the name its errors and spans carry, the retry
    policy of every call, and ``pacing``, which names the pacer a request waits on (``None``:
    unpaced)."""

    def __init__(self, *, vendor: str, policy: RetryPolicy, pacing: Pacing, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.vendor = vendor
        self.policy = policy
        self.pacing = pacing


def make_client(
    base_url: str,
    *,
    vendor: str = "",
    policy: RetryPolicy = DEFAULT_POLICY,
    pacer: Pacer | Pacing | None = None,
    auth: httpx.Auth | None = None,
    headers: Mapping[str, str] | None = None,
    transport: httpx.BaseTransport | None = None,
    timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
    origins: Iterable[str] = (),
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
) -> VendorClient:
    """One client per run; ``transport`` lets tests and the sandbox run with no sockets.

    ``pacer`` is one pacer for every request, or a function naming each request's pacer (Xero:
    its tenant's). The client sends requests only to the origin of ``base_url`` and of
    ``origins`` (an OAuth token endpoint, say) and reads no body over ``max_response_bytes``
    (``collectors.outbound``): anything else is refused before it is sent, or before it is read."""
    base = base_url.rstrip("/") + "/"
    pacing = pacer if callable(pacer) else _always(pacer)
    return VendorClient(
        vendor=vendor,
        policy=policy,
        pacing=pacing,
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


def _always(pacer: Pacer | None) -> Pacing:
    def pacing(request: httpx.Request) -> Pacer | None:
        return pacer

    return pacing


def call(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    route: str | None = None,
    once: bool = False,
    **kwargs: Any,
) -> httpx.Response:
    """Send one request, retrying transient failures; raise a classified error otherwise.

    ``route`` names the call on its span (``/time_entries/{id}``; the redacted URL when
    ``None``); ``once`` sends it a single time (a create the vendor cannot deduplicate:
    ``collectors.idempotency.create_once``). ``kwargs`` go to ``httpx.Client.build_request``."""
    return _retrying(client, _Call(method, url, route, once), kwargs, _identity)


def call_json(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    route: str | None = None,
    once: bool = False,
    **kwargs: Any,
) -> Any:
    """``call()`` and decode the JSON body inside the same attempt, so that a cut or garbled body
    is retried like the dropped connection it usually is; the decoded body."""
    vendor = bound(client).vendor
    return _retrying(
        client, _Call(method, url, route, once), kwargs, lambda r: decode(r, vendor=vendor)
    )


def call_parsed(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    parse: Callable[[httpx.Response], T],
    route: str | None = None,
    once: bool = False,
    **kwargs: Any,
) -> T:
    """``call()`` and ``parse`` the response inside the same attempt, as ``call_json`` does, for
    a body read another way (a page straight into a frame); ``parse`` raises ``RetryableError``
    for a cut or garbled body."""
    return _retrying(client, _Call(method, url, route, once), kwargs, parse)


def _identity(response: httpx.Response) -> httpx.Response:
    return response


def bound(client: httpx.Client) -> VendorClient:
    """``client`` as the ``VendorClient`` it must be (a plain client knows no vendor or policy)."""
    if not isinstance(client, VendorClient):
        raise TypeError("a vendor call needs the client a connector (or make_client) made")
    return client


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


@dataclass(frozen=True)
class _Call:
    method: str
    url: str
    route: str | None
    once: bool


def _retrying(
    client: httpx.Client,
    call: _Call,
    kwargs: dict[str, Any],
    then: Callable[[httpx.Response], T],
) -> T:
    vendor_client = bound(client)
    policy = vendor_client.policy
    retrying = Retrying(
        retry=retry_if_exception_type(RetryableError),
        stop=stop_after_attempt(1 if call.once else policy.attempts),
        wait=_wait(policy),
        reraise=True,
    )
    for attempt in retrying:
        with attempt:
            state = attempt.retry_state
            waited = state.upcoming_sleep if state.attempt_number > 1 else 0.0
            return then(_send(vendor_client, call, state.attempt_number, waited, kwargs))
    raise AssertionError("unreachable: tenacity either returns or re-raises")


_TRANSIENT = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
    httpx.DecodingError,
)


def _send(
    client: VendorClient, call: _Call, attempt: int, retry_wait: float, kwargs: dict[str, Any]
) -> httpx.Response:
    vendor, method = client.vendor, call.method
    route = redact_text(call.route or call.url)  # a next-page link is its own route; may hold a key
    request = client.build_request(method, call.url, **kwargs)
    pacer = client.pacing(request)
    with tracer.start_as_current_span(
        f"{vendor} {method} {route}",
        kind=trace.SpanKind.CLIENT,
        attributes={
            "vendor": vendor,
            "http.method": method,
            "http.route": route,
            "attempt": attempt,
            "retry.wait_s": round(retry_wait, 3),
        },
    ) as span:
        try:
            with pacer.slot() if pacer is not None else nullcontext(0.0) as paced:
                span.set_attribute("pacing.wait_s", round(paced, 3))
                response = client.send(request)
        except _TRANSIENT as exc:
            span.set_attribute("error.type", type(exc).__name__)
            span.set_status(trace.StatusCode.ERROR)
            raise RetryableError(_failed(client, call, exc), vendor=vendor) from exc
        except httpx.TransportError as exc:  # a proxy or scheme we cannot use: configuration
            raise ConfigError(_failed(client, call, exc), vendor=vendor) from exc
        span.set_attribute("http.status_code", response.status_code)
        error = classify(response, vendor=vendor)
        if error is not None:
            span.set_status(trace.StatusCode.ERROR)
            span.set_attribute("error.type", type(error).__name__)
            if isinstance(error, RateLimitedError):
                span.set_attribute("retry_after", error.retry_after or 0.0)
                if pacer is not None and error.retry_after:
                    pacer.hold(min(error.retry_after, client.policy.max_retry_after))
            raise error
        return response


def _failed(client: VendorClient, call: _Call, exc: Exception) -> str:
    where = redact_url(client.base_url.join(call.url))
    return f"{client.vendor} {call.method} {where}: {type(exc).__name__}: {exc}"


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
