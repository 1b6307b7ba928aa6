"""Client-side pacing: stay under a vendor's published limits so a healthy run sees no 429.

A ``Pacer`` is built from the limits a vendor publishes — request windows (Harvest 100 per 15 s,
Xero 60 per minute and 5,000 per day per tenant, QuickBooks 500 per minute) and a cap on requests
in flight (Xero 5, QuickBooks 10 per company). Every vendor call takes a slot from its pacer
before each attempt (``collectors.http``) and records the wait on the call's span. One pacer is
shared by every thread that talks to the same account (or tenant: ``PacerPool``), so the budget
is shared, not multiplied.

Each window is a sliding log of the calls it admitted: a call is admitted when every window holds
fewer than its limit of calls younger than the window, and is counted from when its reply came
back (see ``Pacer._restamp``). The pacer does the waiting itself, so a test can inject a clock and
a sleep, and a wait longer than ``max_wait`` (the daily limit spent) becomes a
``RateLimitedError`` for the engine to handle instead of a thread asleep for hours.
``time_scale`` shrinks every window, to pace against an emulator whose windows shrink alike.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from collectors.errors import RateLimitedError

__all__ = ["Limit", "Pacer", "PacerPool"]


@dataclass(frozen=True)
class Limit:
    """At most ``calls`` requests in any ``per`` seconds."""

    calls: int
    per: float

    def __post_init__(self) -> None:
        if self.calls < 1 or self.per <= 0:
            raise ValueError("a limit needs at least one call per a positive number of seconds")


class Pacer:
    """Admits requests under every ``Limit`` and at most ``concurrency`` at once.

    ``headroom`` stretches every window slightly (2 % by default) so that the vendor's clock, which
    stamps a request when it arrives rather than when we send it, never counts one too many.
    """

    def __init__(
        self,
        limits: Sequence[Limit] = (),
        *,
        concurrency: int | None = None,
        time_scale: float = 1.0,
        headroom: float = 0.02,
        max_wait: float = 300.0,
        name: str = "",
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        self.name = name
        self.limits = tuple(limits)
        self.concurrency = concurrency
        self.max_wait = max_wait
        self._clock = clock
        self._sleep = sleep
        # (calls, seconds) per window, as paced: scaled and stretched by the headroom
        self._windows = [
            (limit.calls, limit.per * time_scale * (1 + headroom)) for limit in self.limits
        ]
        self._horizon = max((seconds for _, seconds in self._windows), default=0.0)
        self._stamps: list[float] = []  # when each admitted call counts from, in order
        self._lock = threading.Lock()
        self._held_until = 0.0
        self._slots = threading.BoundedSemaphore(concurrency) if concurrency else None
        self.admitted = 0
        self.waited = 0.0

    @contextmanager
    def slot(self) -> Iterator[float]:
        """Hold one request's place; yields the seconds spent waiting for it."""
        started = self._clock()
        stamp = self._take_rate()
        if self._slots is not None:
            remaining = self.max_wait - (self._clock() - started)
            if not self._slots.acquire(timeout=max(0.0, remaining)):
                raise self._refusal(self.max_wait, "concurrency")
        waited = self._clock() - started
        with self._lock:
            self.admitted += 1
            self.waited += waited
        try:
            yield waited
        finally:
            if self._slots is not None:
                self._slots.release()
            self._restamp(stamp)

    def _restamp(self, stamp: float | None) -> None:
        """Count the call as made when its reply came back, not when it left: the vendor stamps
        it on arrival, somewhere in between, so only the later stamp is safe whatever the
        latency (a first call that also opens the connection or fetches a token, for one)."""
        if stamp is None:
            return
        with self._lock:
            now = self._clock()
            if now <= stamp:
                return
            at = bisect.bisect_left(self._stamps, stamp)
            if at < len(self._stamps) and self._stamps[at] == stamp:
                del self._stamps[at]
            bisect.insort(self._stamps, now)

    def hold(self, seconds: float) -> None:
        """The vendor said to wait (``Retry-After``): no thread starts a request before then."""
        with self._lock:
            self._held_until = max(self._held_until, self._clock() + max(0.0, seconds))

    def _take_rate(self) -> float | None:
        while True:
            stamp, wait = self._try_once()
            if wait <= 0:
                return stamp
            if wait > self.max_wait:
                raise self._refusal(wait, "window")
            self._sleep(wait)

    def _try_once(self) -> tuple[float | None, float]:
        """Admit now (the call's stamp, no wait) or say how long to wait before asking again."""
        with self._lock:
            now = self._clock()
            if now < self._held_until:
                return None, self._held_until - now
            if not self._windows:
                return None, 0.0
            del self._stamps[: bisect.bisect_right(self._stamps, now - self._horizon)]
            wait = max(self._window_wait(calls, seconds, now) for calls, seconds in self._windows)
            if wait > 0:
                return None, max(wait, 0.001)
            bisect.insort(self._stamps, now)
            return now, 0.0

    def _window_wait(self, calls: int, seconds: float, now: float) -> float:
        """How long until a window of ``calls`` per ``seconds`` admits one more (0: now)."""
        inside = len(self._stamps) - bisect.bisect_right(self._stamps, now - seconds)
        if inside < calls:
            return 0.0
        return self._stamps[-calls] + seconds - now

    def _refusal(self, wait: float, which: str) -> RateLimitedError:
        return RateLimitedError(
            f"{self.name or 'vendor'}: our own pacing would wait {wait:.0f} s for a {which} "
            "slot (a published limit is spent); try again later",
            vendor=self.name,
            retry_after=wait,
        )

    def __repr__(self) -> str:
        limits = ", ".join(f"{lim.calls}/{lim.per:g}s" for lim in self.limits)
        return f"Pacer({self.name!r}, [{limits}], concurrency={self.concurrency})"


class PacerPool:
    """One pacer per key (Xero: per tenant), made on first use and shared by every thread."""

    def __init__(self, make: Callable[[str], Pacer]) -> None:
        self._make = make
        self._pacers: dict[str, Pacer] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> Pacer:
        with self._lock:
            pacer = self._pacers.get(key)
            if pacer is None:
                pacer = self._pacers[key] = self._make(key)
            return pacer

    def __iter__(self) -> Iterator[Pacer]:
        with self._lock:
            return iter(list(self._pacers.values()))
