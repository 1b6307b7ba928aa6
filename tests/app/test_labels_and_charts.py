"""Money and time wording, and the plotly figures built from literal frames."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest

from app import charts, frames, labels
from tests.app.conftest import shown


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        (2300, "USD", "$2,300.00"),
        (0, "GBP", "£0.00"),
        (-5, "EUR", "-€5.00"),
        (1234567.891, "USD", "$1,234,567.89"),
        (12, "CHF", "12.00 CHF"),
    ],
)
def test_money(amount: float, currency: str, text: str) -> None:
    assert labels.money(amount, currency) == text


def test_counts_hours_days_and_ages() -> None:
    now = datetime(2025, 6, 30, 12, tzinfo=UTC)
    assert labels.count(1, "invoice") == "1 invoice"
    assert labels.count(1204, "event") == "1,204 events"
    assert labels.count(2, "time entry") == "2 time entries"
    assert labels.count(3, "day") == "3 days"
    assert labels.hours(20.5) == "20.5 h"
    assert labels.day(date(2026, 10, 1)) == "1 Oct 2026"
    assert labels.ago(now - timedelta(seconds=20), now) == "just now"
    assert labels.ago(now - timedelta(minutes=5), now) == "5 min ago"
    assert labels.ago(now - timedelta(hours=3), now) == "3 h ago"
    assert labels.ago(now - timedelta(days=1), now) == "1 day ago"


def _aging() -> pl.DataFrame:
    wip = pl.DataFrame(
        {
            "occurred_on": [date(2025, 6, 20), date(2025, 3, 22), date(2025, 6, 1)],
            "currency": ["USD", "USD", "GBP"],
            "amount": [1200.0, 500.0, 720.0],
            "hours": [8.0, 2.5, 6.0],
            "events": [1, 1, 1],
        }
    )
    return frames.wip_by_age(wip, as_of=date(2025, 6, 30))


def test_aging_chart_has_one_panel_per_currency_never_summed() -> None:
    fig = charts.wip_aging_bars(_aging())
    assert [t.name for t in fig.data] == ["GBP", "USD"]
    assert [a.text for a in fig.layout.annotations] == ["Unbilled — GBP", "Unbilled — USD"]
    usd = fig.data[1]
    assert list(usd.x) == list(frames.AGE_BUCKETS)
    assert list(usd.y) == [1200.0, 0.0, 0.0, 500.0]  # 10 and 100 days old
    assert fig.layout.yaxis2.tickprefix == "$"
    assert fig.layout.yaxis.tickprefix == "£"


def test_trend_chart_shows_one_currency_with_invoice_statuses() -> None:
    weekly = pl.DataFrame(
        {
            "week": [date(2025, 6, 2), date(2025, 6, 9), date(2025, 6, 2)],
            "currency": ["USD", "USD", "GBP"],
            "amount": [150.0, 10.0, 999.0],
        }
    )
    monthly = pl.DataFrame(
        {
            "month": [date(2025, 5, 1), date(2025, 5, 1), date(2025, 5, 1)],
            "currency": ["USD", "USD", "GBP"],
            "status": ["pending", "posted", "posted"],
            "amount": [42.0, 1500.0, 300.0],
            "invoices": [1, 2, 1],
        }
    )
    fig = charts.billing_trend(weekly, monthly, "USD")
    assert [t.name for t in fig.data] == [
        "Billable (week)",
        "Invoiced, pending",
        "Invoiced, posted",
    ]
    assert list(fig.data[0].y) == [150.0, 10.0]
    assert [list(t.y) for t in fig.data[1:]] == [[42.0], [1500.0]]
    assert all(999.0 not in t.y and 300.0 not in t.y for t in fig.data)
    assert fig.layout.barmode == "stack"
    assert "USD" in fig.layout.annotations[0].text


def test_vendor_text_in_markdown_is_escaped_character_for_character() -> None:
    evil = "**bold** <img src=x onerror=alert(1)> [link](http://evil) `x` :red[a] $x$ a\\b"
    escaped = labels.text(evil + "\n# heading")
    assert "\n" not in escaped  # a value never starts a heading or a list item
    unescaped = re.sub(r"\\.", "", escaped)  # what is left outside backslash escapes
    assert not set("*<>[]()`:$\\#=") & set(unescaped)
    assert shown(escaped) == evil + " # heading"


def test_bare_addresses_in_vendor_text_are_not_linked() -> None:
    for bare in ("ana@firm.example", "http://evil.example/x", "see www.evil.example"):
        assert labels.WORD_JOINER in labels.text(bare)
        assert shown(labels.text(bare)) == bare
    assert labels.WORD_JOINER not in labels.text("awww.no 12.5 h")


def test_inline_code_fences_around_backticks() -> None:
    assert labels.code("harvest:time_entry:1") == "`harvest:time_entry:1`"
    assert labels.code("a`b") == "``a`b``"
    assert labels.code("`a``") == "``` `a`` ```"


def test_chart_text_writes_plotly_tags_as_entities() -> None:
    assert labels.chart_text('<a href="http://evil">Acme</a> & co') == (
        '&lt;a href="http://evil"&gt;Acme&lt;/a&gt; &amp; co'
    )
