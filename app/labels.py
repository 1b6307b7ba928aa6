"""Words and numbers as a finance reader expects them: money with its currency, hours, ages."""

from __future__ import annotations

from datetime import date, datetime

SYMBOLS = {"USD": "$", "GBP": "£", "EUR": "€"}


def money(amount: float, currency: str) -> str:
    """``$12,345.60``, ``£0.00``, ``-€5.00``; currencies without a symbol read ``12.00 CHF``."""
    sign = "-" if amount < 0 else ""
    digits = f"{abs(amount):,.2f}"
    symbol = SYMBOLS.get(currency)
    return f"{sign}{symbol}{digits}" if symbol else f"{sign}{digits} {currency}"


def hours(value: float) -> str:
    """``1,234.5 h``: one decimal, as timesheets are kept in tenths or quarters of an hour."""
    return f"{value:,.1f} h"


def count(value: int, noun: str) -> str:
    """``1 invoice``, ``3 invoices``, ``1,204 events``."""
    return f"{value:,} {noun}{'' if value == 1 else 's'}"


def ago(moment: datetime, now: datetime) -> str:
    """A short relative age: ``just now``, ``4 min ago``, ``3 h ago``, ``2 days ago``."""
    seconds = max(0, int((now - moment).total_seconds()))
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86400:
        return f"{seconds // 3600} h ago"
    days = seconds // 86400
    return f"{days} day{'' if days == 1 else 's'} ago"


def day(value: date) -> str:
    """``1 Oct 2026``: the same day format as the tables (no leading zero)."""
    return f"{value.day} {value:%b %Y}"
