"""Server-side rate-limit windows shared by the emulators.

A sliding log per key: at most ``limit`` calls in any ``window`` seconds. ``time_scale`` shrinks
the window for tests (0.01 turns Harvest's 100 calls per 15 s into 100 calls per 0.15 s).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Verdict:
    """Whether a call may proceed, how many remain in the window, and when to retry."""

    allowed: bool
    remaining: int
    retry_after: int


class SlidingWindow:
    """``limit`` calls per ``window`` seconds per key, thread-safe."""

    def __init__(
        self, limit: int, window: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("limit and window must be positive")
        self.limit = limit
        self.window = window
        self._clock = clock
        self._calls: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _trimmed(self, key: str, now: float) -> deque[float]:
        calls = self._calls.setdefault(key, deque())
        while calls and calls[0] <= now - self.window:
            calls.popleft()
        return calls

    def peek(self, key: str) -> Verdict:
        """The verdict a call would get now, without counting one."""
        with self._lock:
            now = self._clock()
            calls = self._trimmed(key, now)
            if len(calls) < self.limit:
                return Verdict(True, self.limit - len(calls), 0)
            wait = calls[0] + self.window - now
            return Verdict(False, 0, max(1, math.ceil(wait)))

    def hit(self, key: str) -> Verdict:
        """Count one call if it fits; the verdict says how many remain after it."""
        with self._lock:
            now = self._clock()
            calls = self._trimmed(key, now)
            if len(calls) >= self.limit:
                return Verdict(False, 0, max(1, math.ceil(calls[0] + self.window - now)))
            calls.append(now)
            return Verdict(True, self.limit - len(calls), 0)
