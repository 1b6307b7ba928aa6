"""Days sales outstanding, two ways: the standard ratio and the countback method.

Standard DSO: ending AR ÷ credit sales in the period × days in the period.
Countback DSO: starting from ending AR, subtract each month's sales going back in time, counting
that month's days, until AR is used up; the leftover is a fraction of the last month's days. It
handles growth and seasonality better than the ratio.

Both take AR and sales already in one currency; the caller slices by currency (and by legal
entity or customer) first — amounts in different currencies are never added together.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import polars as pl

from metrics.periods import days_in


def standard_dso(ending_ar: Decimal, credit_sales: Decimal, days: int) -> Decimal | None:
    """``None`` when there were no sales in the period (DSO is undefined, not zero)."""
    if credit_sales <= 0:
        return None
    return ending_ar / credit_sales * days


def countback_dso(ending_ar: Decimal, monthly_sales: pl.DataFrame) -> Decimal | None:
    """Countback DSO from ``monthly_sales`` (columns ``month_start: date``, ``month_end: date``,
    ``sales: Decimal``), newest month first or not — it is sorted here.

    Returns ``None`` when AR exceeds all the sales given (the history is too short to count back).
    """
    remaining = ending_ar
    total = Decimal(0)
    for row in monthly_sales.sort("month_start", descending=True).iter_rows(named=True):
        days = days_in(row["month_start"], row["month_end"])
        sales = Decimal(row["sales"])
        if remaining <= 0:
            break
        if sales >= remaining:
            return total + remaining / sales * days
        total += days
        remaining -= sales
    return total if remaining <= 0 else None


def dso_by(
    invoices: pl.DataFrame,
    payments: pl.DataFrame,
    *,
    as_of: date,
    months: int = 3,
    by: list[str] | None = None,
) -> pl.DataFrame:
    """Standard and countback DSO per currency (and ``by`` columns) as of a date.

    ``invoices``: invoice_id, issue_date, total, currency (+ the ``by`` columns); credit notes
    as negative totals. ``payments``: invoice_id, paid_on, amount. AR at ``as_of`` = invoiced on or
    before ``as_of`` minus paid on or before ``as_of``. Sales are the invoiced totals of the
    ``months`` calendar months ending with ``as_of``'s month (the last one up to ``as_of``).
    """
    keys = ["currency", *(by or [])]
    issued = invoices.filter(pl.col("issue_date") <= as_of)
    paid = (
        payments.filter(pl.col("paid_on") <= as_of)
        .group_by("invoice_id")
        .agg(pl.col("amount").sum().alias("paid"))
    )
    open_items = issued.join(paid, on="invoice_id", how="left").with_columns(
        (pl.col("total") - pl.col("paid").fill_null(0)).alias("due")
    )
    window_start = _months_back(as_of, months)
    rows = []
    for group, frame in open_items.group_by(keys, maintain_order=True):
        ar = Decimal(frame["due"].sum())
        sales = _monthly_sales(frame, window_start, as_of)
        period_sales = Decimal(sales["sales"].sum()) if sales.height else Decimal(0)
        standard = standard_dso(ar, period_sales, days_in(window_start, as_of))
        rows.append((*group, ar, period_sales, _days(standard), _days(countback_dso(ar, sales))))
    schema: dict[str, Any] = {key: invoices.schema[key] for key in keys} | {
        "ending_ar": pl.Decimal(18, 2),
        "sales": pl.Decimal(18, 2),
        "standard_days": pl.Float64,
        "countback_days": pl.Float64,
    }
    return pl.DataFrame(rows, schema=schema, orient="row")


def _days(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _months_back(as_of: date, months: int) -> date:
    first = as_of.replace(day=1)
    return pl.select(pl.lit(first).dt.offset_by(f"-{months - 1}mo")).item()


def _monthly_sales(invoices: pl.DataFrame, start: date, end: date) -> pl.DataFrame:
    in_window = invoices.filter(pl.col("issue_date").is_between(start, end))
    monthly = (
        in_window.with_columns(pl.col("issue_date").dt.truncate("1mo").alias("month_start"))
        .group_by("month_start")
        .agg(pl.col("total").sum().alias("sales"))
    )
    return month_window(monthly, start, end)


def month_window(monthly: pl.DataFrame, start: date, end: date) -> pl.DataFrame:
    """Every calendar month from ``start``'s to ``end``'s, with its sales (``month_start``,
    ``sales``) and zero where none were made: a month without invoices still counts its days in
    the countback. ``month_end`` is the month's last day, or ``end`` for the last month."""
    months = pl.DataFrame(
        {"month_start": pl.date_range(start.replace(day=1), end, "1mo", eager=True)}
    )
    sales_type = monthly.schema["sales"] if monthly.width else pl.Decimal(18, 2)
    return (
        months.join(monthly.select("month_start", "sales"), on="month_start", how="left")
        .with_columns(
            pl.col("sales").fill_null(pl.lit(0).cast(sales_type)),
            pl.min_horizontal(pl.col("month_start").dt.month_end(), pl.lit(end)).alias("month_end"),
        )
        .select("month_start", "month_end", "sales")
    )
