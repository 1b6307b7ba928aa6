"""Instants on the wire: UTC to the second, written the way a vendor's API reads them, and ISO
8601 text read back as UTC whatever offset it carries."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def utc_text(moment: datetime, *, offset: str = "Z") -> str:
    """``moment`` in UTC to the second, ``2026-11-02T09:30:00`` followed by ``offset`` (``Z``,
    ``+00:00``, or nothing where the vendor reads a bare UTC time)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S") + offset


def parse_utc(value: Any, *, assume_utc: bool = True) -> datetime | None:
    """An ISO 8601 date-time as an aware UTC instant; ``None`` for anything that is not such a
    string. One without an offset is taken as UTC, or refused (``None``) without ``assume_utc``."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC) if assume_utc else None
    return parsed.astimezone(UTC)


__all__ = ["parse_utc", "utc_text"]
