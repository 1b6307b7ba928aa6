"""The emulators' clock and timestamps: the wall clock in UTC, and an instant as a vendor writes
one (UTC, to the second, then the vendor's offset)."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    """The wall clock, in UTC (the emulators' default ``now``)."""
    return datetime.now(UTC)


def utc_text(moment: datetime, *, offset: str = "Z") -> str:
    """``moment`` in UTC to the second, ``2026-11-02T09:30:00`` followed by ``offset`` (``Z`` or
    ``+00:00``)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S") + offset


__all__ = ["utc_now", "utc_text"]
