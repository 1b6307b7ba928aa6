"""A settable clock for the emulators' ``now``."""

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
