"""Words and numbers as a finance reader expects them: money with its currency, hours, ages;
and store or vendor text made safe to show inside Markdown or a chart (:func:`text`)."""

from __future__ import annotations

import html
import re
import string
from datetime import date, datetime

SYMBOLS = {"USD": "$", "GBP": "£", "EUR": "€"}


_PUNCTUATION = re.compile("([" + re.escape(string.punctuation) + "])")
_LINE_BREAKS = re.compile(r"[\r\n\t\v\f]+")
_AUTOLINKS = re.compile(r"(@|:(?=//)|(?<![^\W_])www(?=\.))", re.IGNORECASE)
WORD_JOINER = "\u2060"  # invisible; breaks a pattern without a visible mark


def text(value: object) -> str:
    """Store or vendor text (a reason, a note, a name, a record key) made safe to place inside
    Markdown: every ASCII punctuation mark is backslash-escaped, so emphasis, links, images,
    HTML, code, colour directives, emoji shortcodes and LaTeX all show as the characters they
    are; line breaks become spaces (a value never starts a heading or a list). GitHub-flavoured
    Markdown also links bare addresses (``http://…``, ``www.…``, ``a@b.c``) whatever their
    escapes, so an invisible word joiner follows each ``@``, the ``:`` of ``://`` and ``www``."""
    plain = _AUTOLINKS.sub(lambda m: m.group(1) + WORD_JOINER, _LINE_BREAKS.sub(" ", str(value)))
    return _PUNCTUATION.sub(r"\\\1", plain)


def code(value: object) -> str:
    """Store or vendor text as inline code (an id, a record key): fenced by one backtick more
    than the longest run of backticks inside it, so nothing in it is read as Markdown."""
    body = _LINE_BREAKS.sub(" ", str(value))
    fence = "`" * (max((len(run) for run in re.findall("`+", body)), default=0) + 1)
    pad = " " if body.startswith("`") or body.endswith("`") else ""
    return f"{fence}{pad}{body}{pad}{fence}"


def chart_text(value: object) -> str:
    """Store or vendor text made safe for a plotly label or hover: plotly reads a few HTML tags
    (``<a href>``, ``<b>``, ``<br>``) in text, so ``<``, ``>`` and ``&`` are written as
    entities, which it shows as the characters."""
    return html.escape(str(value), quote=False)


def money(amount: float, currency: str) -> str:
    """``$12,345.60``, ``£0.00``, ``-€5.00``; currencies without a symbol read ``12.00 CHF``."""
    sign = "-" if amount < 0 else ""
    digits = f"{abs(amount):,.2f}"
    symbol = SYMBOLS.get(currency)
    return f"{sign}{symbol}{digits}" if symbol else f"{sign}{digits} {currency}"


def money_tile(amount: float, currency: str) -> str:
    """Money short enough for a metric tile: ``$92,536.25`` below 100,000, then ``$220.4k``
    and ``$1.23M`` (the tile's help gives the exact amount)."""
    size = abs(amount)
    if size < 100_000:
        return money(amount, currency)
    scaled, suffix = (amount / 1_000_000, "M") if size >= 1_000_000 else (amount / 1000, "k")
    sign = "-" if amount < 0 else ""
    digits = f"{abs(scaled):,.2f}" if suffix == "M" else f"{abs(scaled):,.1f}"
    symbol = SYMBOLS.get(currency)
    return f"{sign}{symbol}{digits}{suffix}" if symbol else f"{sign}{digits}{suffix} {currency}"


def hours(value: float) -> str:
    """``1,234.5 h``: one decimal, as timesheets are kept in tenths or quarters of an hour."""
    return f"{value:,.1f} h"


def count(value: int, noun: str) -> str:
    """``1 invoice``, ``3 invoices``, ``1,204 events``, ``2 time entries``."""
    if value == 1:
        return f"{value:,} {noun}"
    if noun.endswith("y") and noun[-2:-1] not in "aeiou":
        return f"{value:,} {noun[:-1]}ies"
    return f"{value:,} {noun}s"


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


CATEGORIES: dict[str, tuple[str, str]] = {
    # category: (a short title, what it means and what usually fixes it)
    "malformed": (
        "Unreadable record",
        "The vendor sent a record with missing or unreadable fields. Fix it at the source.",
    ),
    "negative_hours": (
        "Negative hours",
        "The time entry has negative hours. Correct it in Harvest, or replay with an edit.",
    ),
    "over_24h": (
        "More than 24 h in a day",
        "One entry holds more hours than a day has. Correct it in Harvest, or replay with an edit.",
    ),
    "unknown_project": (
        "Unknown project",
        "The time is on a project plan2cash has not synced. Sync projects, then replay.",
    ),
    "closed_project": (
        "Closed project",
        "The time is dated after the project ended. Move the time or reopen the project.",
    ),
    "inactive_contract": (
        "Contract not in force",
        "The contract was not active on the date of the work. Fix the contract dates or status.",
    ),
    "no_assignment": (
        "Person not assigned",
        "The person is not assigned to the project. Add the assignment in the PSA, then replay.",
    ),
    "rate_card_missing": (
        "No bill rate",
        "The contract's rate card has no rate for the person's role. Add it, then replay.",
    ),
    "edited_after_invoiced": (
        "Changed after invoicing",
        "The entry changed after it was invoiced. Issue a credit note or an adjustment.",
    ),
    "invalid_record": (
        "Invalid reference record",
        "A customer, project or person record could not be read. Fix it at the source.",
    ),
    "missing_reference": (
        "Invoice data missing",
        "The invoice or its customer is missing from the store. Re-sync, then replay.",
    ),
    "erp_rejected": (
        "Refused by the ERP",
        "The ERP refused the document (the reason names it). Fix the data it complains about, "
        "then replay.",
    ),
    "delivery_failed": (
        "Could not post to the ERP",
        "Posting the document kept failing. Check the ERP's status, then replay to queue it again.",
    ),
}


def category(name: str) -> str:
    """The category's short title, or the raw name for a category this dashboard does not know."""
    return CATEGORIES.get(name, (name.replace("_", " ").capitalize(), ""))[0]


def category_help(name: str) -> str:
    """What the category means and what usually fixes it (empty when unknown)."""
    return CATEGORIES.get(name, ("", ""))[1]


def days(value: float) -> str:
    """An age in days as an ops reader wants it: ``3 h``, ``1.5 days``, ``12 days``."""
    if value < 1:
        return f"{value * 24:,.0f} h"
    return f"{value:,.1f} days" if value < 10 else f"{value:,.0f} days"


def minutes(value: float | None) -> str:
    """``4.5 min``, ``2.3 h`` past two hours, ``never`` for none."""
    if value is None:
        return "never"
    return f"{value:,.1f} min" if value < 120 else f"{value / 60:,.1f} h"


def percent(share: float | None) -> str:
    """``12.5 %`` from a share of one; ``—`` when there is nothing to divide."""
    return "—" if share is None else f"{share * 100:,.1f} %"


def audit_detail(detail: dict[str, object]) -> tuple[str, str]:
    """An audit entry's ``reason`` and the rest of its detail as ``key: value`` words."""
    rest = "; ".join(
        f"{key.replace('_', ' ')}: {value}"
        for key, value in detail.items()
        if key != "reason" and value not in (None, "", {})
    )
    return str(detail.get("reason") or ""), rest


def points(share: float | None, before: float | None) -> str | None:
    """The change between two shares in percentage points (``+2.1 pp``), for a tile's delta."""
    if share is None or before is None:
        return None
    return f"{(share - before) * 100:+,.1f} pp"


def days_exact(value: float | None) -> str:
    """``41.3 days``; ``—`` when there is no value."""
    return "—" if value is None else f"{value:,.1f} days"


def days_delta(value: float | None, before: float | None) -> str | None:
    """``+2.5 days`` against the previous period, for a tile's delta."""
    if value is None or before is None:
        return None
    return f"{value - before:+,.1f} days"


def money_delta(change: float, currency: str) -> str | None:
    """``+$1,204.50`` (or ``-£20.00``) against the previous period; ``None`` for no change."""
    if abs(change) < 0.005:
        return None
    return ("+" if change > 0 else "") + money_tile(change, currency)


def dso_help(row: dict[str, object] | None, currency: str) -> str:
    """What a DSO tile is made of: AR, sales, and the standard figure beside the countback."""
    if row is None:
        return f"No {currency} invoices have been posted yet."
    ar, sales, standard = row["ending_ar"], row["sales"], row["standard_days"]
    return (
        f"Receivable {money(float(ar), currency)} (posted invoices less payments) against "  # type: ignore[arg-type]
        f"{money(float(sales), currency)} invoiced in the last 3 months. Standard DSO: "  # type: ignore[arg-type]
        f"{days_exact(standard)}. Countback counts back month by month until AR is used up."  # type: ignore[arg-type]
    )
