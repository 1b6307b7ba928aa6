"""Fake clocks: a settable UTC clock for the emulators' ``now``; a monotonic clock that moves
only when slept on, for pacers."""

from __future__ import annotations

from datetime import datetime, timedelta


class FakeClock:
    """A settable UTC clock for ``updated_at`` stamps and token expiry."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def __call__(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> datetime:
        self.current += timedelta(**delta)
        return self.current


class SleepingClock:
    """Monotonic seconds that move only when someone sleeps; the sleeps, in order."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
