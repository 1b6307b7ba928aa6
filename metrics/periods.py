"""Calendar periods for slicing KPIs: day, week (ISO, Monday), month, quarter."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Literal

import polars as pl

Grain = Literal["day", "week", "month", "quarter"]
EVERY: dict[str, str] = {"day": "1d", "week": "1w", "month": "1mo", "quarter": "1q"}


def period_start(column: str | pl.Expr, grain: Grain) -> pl.Expr:
    """The first day of the period each date falls in."""
    expr = pl.col(column) if isinstance(column, str) else column
    return expr.dt.truncate(EVERY[grain])


def bounds(on: date, grain: Grain) -> tuple[date, date]:
    """First and last day of the period containing ``on``."""
    start = pl.select(pl.lit(on).dt.truncate(EVERY[grain])).item()
    following = pl.select(pl.lit(start).dt.offset_by(EVERY[grain])).item()
    return start, following - timedelta(days=1)


def previous(on: date, grain: Grain) -> tuple[date, date]:
    """The period before the one containing ``on`` (for trends)."""
    start, _ = bounds(on, grain)
    return bounds(start - timedelta(days=1), grain)


def days_in(start: date, end: date) -> int:
    return (end - start).days + 1
