"""Calendar months as the flows step through them: a month's last day, and every month of a span."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta


def month_end(day: date) -> date:
    """The last day of ``day``'s month."""
    following = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return following - timedelta(days=1)


def months(first: date, last: date) -> Iterator[tuple[date, date]]:
    """``(first day, last day)`` of every month from ``first``'s to ``last``'s."""
    start = first.replace(day=1)
    while start <= last:
        end = month_end(start)
        yield start, end
        start = end + timedelta(days=1)


__all__ = ["month_end", "months"]
