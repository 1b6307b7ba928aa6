from __future__ import annotations

from datetime import date
from decimal import Decimal

import polars as pl
import pytest

from metrics.dso import countback_dso, dso_by, standard_dso


def months(*rows: tuple[date, date, int]) -> pl.DataFrame:
    return pl.DataFrame(
        [(s, e, Decimal(v)) for s, e, v in rows],
        schema={"month_start": pl.Date, "month_end": pl.Date, "sales": pl.Decimal(18, 2)},
        orient="row",
    )


THIRTY_DAY_MONTHS = months(
    (date(2026, 4, 1), date(2026, 4, 30), 100_000),
    (date(2026, 3, 2), date(2026, 3, 31), 80_000),
    (date(2026, 1, 30), date(2026, 2, 28), 70_000),
)


def test_countback_worked_example() -> None:
    # AR 212,000; sales 100,000, 80,000, 70,000 in 30-day months → 30 + 30 + 32/70 × 30
    days = countback_dso(Decimal(212_000), THIRTY_DAY_MONTHS)
    assert days is not None
    assert round(days, 1) == Decimal("73.7")
    assert days == Decimal(60) + Decimal(32_000) / Decimal(70_000) * 30


def test_countback_within_the_latest_month() -> None:
    assert countback_dso(Decimal(50_000), THIRTY_DAY_MONTHS) == Decimal(15)


def test_countback_with_too_short_a_history_is_undefined() -> None:
    assert countback_dso(Decimal(300_000), THIRTY_DAY_MONTHS) is None


def test_countback_with_no_receivables_is_zero() -> None:
    assert countback_dso(Decimal(0), THIRTY_DAY_MONTHS) == 0


def test_standard_dso_and_zero_sales() -> None:
    assert standard_dso(Decimal(212_000), Decimal(250_000), 90) == Decimal("76.32")
    assert standard_dso(Decimal(1000), Decimal(0), 90) is None


def invoices(*rows: tuple[str, date, str, str]) -> pl.DataFrame:
    return pl.DataFrame(
        [(i, d, Decimal(t), c) for i, d, t, c in rows],
        schema={
            "invoice_id": pl.String,
            "issue_date": pl.Date,
            "total": pl.Decimal(18, 2),
            "currency": pl.String,
        },
        orient="row",
    )


def payments(*rows: tuple[str, date, str]) -> pl.DataFrame:
    return pl.DataFrame(
        [(i, d, Decimal(a)) for i, d, a in rows],
        schema={"invoice_id": pl.String, "paid_on": pl.Date, "amount": pl.Decimal(18, 2)},
        orient="row",
    )


def test_dso_by_currency_with_partial_payments_and_a_credit_note() -> None:
    inv = invoices(
        ("a", date(2026, 4, 10), "1000", "USD"),
        ("b", date(2026, 5, 10), "2000", "USD"),
        ("cn", date(2026, 5, 20), "-500", "USD"),  # credit note against b
        ("c", date(2026, 6, 5), "3000", "USD"),
        ("g", date(2026, 6, 1), "900", "GBP"),
        ("late", date(2026, 7, 1), "5000", "USD"),  # after as_of: ignored
    )
    pay = payments(
        ("a", date(2026, 5, 1), "1000"),
        ("b", date(2026, 6, 1), "500"),  # partial
        ("c", date(2026, 7, 2), "3000"),  # after as_of: still open at as_of
    )
    out = dso_by(inv, pay, as_of=date(2026, 6, 30), months=3)
    usd = out.filter(pl.col("currency") == "USD").row(0, named=True)
    # AR = (1000-1000) + (2000-500) + (-500) + 3000 = 4000; sales Apr–Jun = 1000+1500+3000 = 5500
    assert usd["ending_ar"] == Decimal(4000) and usd["sales"] == Decimal(5500)
    assert usd["standard_days"] == pytest.approx(4000 / 5500 * 91)
    # countback: June 3000 → 30 days, remaining 1000 of May's 1500 → 31 × 1000/1500
    assert usd["countback_days"] == pytest.approx(30 + 31 * 1000 / 1500)
    gbp = out.filter(pl.col("currency") == "GBP").row(0, named=True)
    assert gbp["ending_ar"] == Decimal(900) and gbp["countback_days"] == 30.0


def test_countback_counts_a_month_without_invoices() -> None:
    # nothing invoiced in June: its 30 days count in full before May and April are used
    inv = invoices(
        ("a", date(2026, 4, 10), "1000", "USD"),
        ("b", date(2026, 5, 10), "1000", "USD"),
    )
    out = dso_by(inv, payments(), as_of=date(2026, 6, 30), months=3)
    usd = out.row(0, named=True)
    # AR 2000: June 0 → 30 days; May 1000 → 31 days; April: 1000 of 1000 → 30 days
    assert usd["countback_days"] == pytest.approx(30 + 31 + 30)
    assert usd["standard_days"] == pytest.approx(2000 / 2000 * 91)
