"""Measuring instruments for ``bench.connectors``: a counting transport, a span processor that
counts retries, and a ``Meter`` that turns each stream's pull into one ``Row`` of figures.

Requests are counted on the wire (between the connector and the emulator), so they include token
calls, re-sent requests and anything the connector does beyond its page loop. Retries are the
vendor calls whose span says ``attempt > 1`` (tenacity's retries in ``collectors.http``) plus the
requests the OAuth2 auth re-sent after a 401. Rate-limit refusals are 429s and Salesforce's
403 ``REQUEST_LIMIT_EXCEEDED``. Requests in flight are those sent and not yet answered, counted
at the same place; a row keeps the most there were at once while it was measured.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

import httpx
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from rich.progress import Progress, TaskID


@dataclass(frozen=True)
class Rate:
    """A vendor's binding limit as published: ``calls`` per ``per`` seconds (before scaling)."""

    calls: int
    per: float
    scope: str = ""

    def label(self, scale: float) -> str:
        window = self.per * scale
        text = (
            f"{self.calls:,} / {window:,.0f} s"
            if window >= 100
            else f"{self.calls:,} / {window:.3g} s"
        )
        return f"{text} {self.scope}".strip()

    def windows(self, seconds: float, scale: float) -> float:
        """How many windows the elapsed time spans (a share means little below about two: a
        sliding window admits its whole limit at once)."""
        return seconds / (self.per * scale)

    def most(self, seconds: float, scale: float) -> int:
        """The most requests a sliding window admits in ``seconds``: a full window at once, then
        another each time a window has passed."""
        return self.calls * (math.floor(self.windows(seconds, scale)) + 1)

    def share(self, requests: int, seconds: float, scale: float) -> float | None:
        """Requests ÷ (elapsed ÷ window × limit): 1.0 is exactly the allowed rate."""
        if seconds <= 0:
            return None
        return requests / (seconds / (self.per * scale) * self.calls)


@dataclass
class Tally:
    """Running totals for the whole benchmark; a stream's figures are differences of two."""

    requests: int = 0
    limited: int = 0  # 429, or Salesforce 403 REQUEST_LIMIT_EXCEEDED
    reauth: int = 0  # 401s (the OAuth2 auth fetches a token and re-sends)
    retries: int = 0  # vendor calls with attempt > 1
    failed: int = 0  # transport errors (no response at all)

    def plus(self, other: Tally) -> Tally:
        return Tally(
            self.requests + other.requests,
            self.limited + other.limited,
            self.reauth + other.reauth,
            self.retries + other.retries,
            self.failed + other.failed,
        )

    def since(self, before: Tally) -> Tally:
        return Tally(
            self.requests - before.requests,
            self.limited - before.limited,
            self.reauth - before.reauth,
            self.retries - before.retries,
            self.failed - before.failed,
        )


def rate_limited(response: httpx.Response) -> bool:
    """A refusal for going too fast: 429 anywhere, or Salesforce's 403 for its API allocation."""
    if response.status_code == 429:
        return True
    return response.status_code == 403 and b"REQUEST_LIMIT_EXCEEDED" in response.read()


class Gauge:
    """Requests in flight now, and the most at once since ``reset``; thread-safe."""

    def __init__(self) -> None:
        self.now = 0
        self.peak = 0
        self._lock = threading.Lock()

    def enter(self) -> None:
        with self._lock:
            self.now += 1
            self.peak = max(self.peak, self.now)

    def leave(self) -> None:
        with self._lock:
            self.now -= 1

    def reset(self) -> None:
        with self._lock:
            self.peak = self.now


class Counting(httpx.BaseTransport):
    """Counts every request, every rate-limit refusal and the requests in flight between a
    connector and an emulator (from any number of threads).

    It does not close the emulator's transport (the sandbox does), so a connector that closes
    its client, or borrows the transport for a login, leaves it usable.
    """

    def __init__(
        self,
        inner: httpx.BaseTransport,
        tally: Tally,
        on_request: Callable[[], None],
        gauge: Gauge | None = None,
    ) -> None:
        self._inner = inner
        self._tally = tally
        self._on_request = on_request
        self._gauge = gauge or Gauge()
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self._tally.requests += 1
        self._gauge.enter()
        try:
            response = self._inner.handle_request(request)
        except httpx.TransportError:
            with self._lock:
                self._tally.failed += 1
            raise
        finally:
            self._gauge.leave()
            self._on_request()
        with self._lock:
            if rate_limited(response):
                self._tally.limited += 1
            elif response.status_code == 401:
                self._tally.reauth += 1
        return response

    def close(self) -> None:
        return None


class RetrySpans(SpanProcessor):
    """Counts the vendor-call spans of retried attempts (``collectors.http`` sets ``attempt``)."""

    def __init__(self, tally: Tally) -> None:
        self._tally = tally

    def on_end(self, span: ReadableSpan) -> None:
        attempt = (span.attributes or {}).get("attempt")
        if isinstance(attempt, int) and attempt > 1:
            self._tally.retries += 1


def count_retries(tally: Tally) -> None:
    """Route the collectors' spans to a processor that counts retries (and nowhere else)."""
    provider = TracerProvider()
    provider.add_span_processor(RetrySpans(tally))
    trace.set_tracer_provider(provider)


@dataclass
class Row:
    """One stream of one vendor, pulled in full."""

    vendor: str
    stream: str
    records: int = 0
    minimum: int = 0
    seconds: float = 0.0
    counts: Tally = field(default_factory=Tally)
    rate: Rate | None = None  # None: not a paced stream (token and connection calls)
    budget: str = ""  # rows with the same budget share one limit (an account, a Xero tenant)
    note: str = ""
    peak: int = 0  # the most requests in flight at once
    concurrency: int | None = None  # the vendor's limit on requests in flight, if it has one

    @property
    def requests(self) -> int:
        return self.counts.requests

    @property
    def retries(self) -> int:
        return self.counts.retries + self.counts.reauth

    @property
    def extra(self) -> int:
        """Requests beyond the minimum that retries do not explain."""
        return self.requests - self.minimum - self.retries


def pages_needed(records: int, page_size: int) -> int:
    """ceil(records / page size), and one request even for an empty collection."""
    return max(1, math.ceil(records / page_size))


class Meter:
    """Measures each stream's pull: requests on the wire, retries, refusals and elapsed time,
    with a rich progress display (an overall bar over streams, a line for the current one)."""

    def __init__(self, progress: Progress, *, streams: int, scale: float) -> None:
        self.scale = scale
        self.tally = Tally()
        self.gauge = Gauge()
        self.rows: list[Row] = []
        self._progress = progress
        self._overall = progress.add_task("streams pulled", total=streams, records=0, requests=0)
        self._task: TaskID | None = None
        self._before = Tally()
        self._records = 0

    def wire(self, transport: httpx.BaseTransport) -> Counting:
        """A counting wrapper around one emulator's transport."""
        return Counting(transport, self.tally, self._show, self.gauge)

    def _show(self) -> None:
        if self._task is not None:
            requests = self.tally.requests - self._before.requests
            self._progress.update(self._task, requests=requests, records=self._records)

    def add(self, records: int) -> None:
        """Records read by the stream being pulled (for the progress display)."""
        self._records += records
        self._show()

    @contextmanager
    def stream(
        self, vendor: str, name: str, rate: Rate | None, concurrency: int | None = None
    ) -> Iterator[Row]:
        """Measure the pull inside the block; the caller fills in records and the minimum."""
        self._before = replace(self.tally)
        self.gauge.reset()
        self._records = 0
        self._task = self._progress.add_task(f"{vendor} {name}", total=None, records=0, requests=0)
        row = Row(vendor, name, rate=rate, concurrency=concurrency)
        started = time.monotonic()
        try:
            yield row
        finally:
            row.seconds = time.monotonic() - started
            row.counts = self.tally.since(self._before)
            row.peak = self.gauge.peak
            self.rows.append(row)
            self._progress.remove_task(self._task)
            self._task = None
            self._progress.advance(self._overall)
