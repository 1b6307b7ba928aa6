"""The Billing page's figures: unbilled work by age, and billable work against invoiced value.

Money is never summed across currencies: the aging chart draws one panel per currency with its
own axis, and the trend chart draws one currency at a time.
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
import polars as pl
from plotly.subplots import make_subplots

from app.charts.layout import AGE_COLOURS, MARGIN, OTHER_STATUS_COLOUR, PRIMARY_COLOUR, money_axis
from app.frames import AGE_BUCKETS
from app.labels import SYMBOLS

STATUS_COLOURS = {"posted": PRIMARY_COLOUR, "pending": "#f39c12"}
BILLABLE_COLOUR = "#1f6f8b"
DAY_MS = 24 * 3600 * 1000
WEEK_MS = 7 * DAY_MS  # bars on a date axis are sized in milliseconds
MONTH_MS = 28 * DAY_MS  # the shortest month, so that no bar runs into the next one


def wip_aging_bars(aging: pl.DataFrame) -> go.Figure:
    """One panel per currency: un-invoiced value per age bucket, coloured from fresh to stale.

    ``aging`` is :func:`app.frames.wip_by_age` output (bucket, currency, amount, hours, events).
    """
    currencies = sorted(aging["currency"].unique().to_list())
    fig = make_subplots(
        rows=1,
        cols=max(1, len(currencies)),
        subplot_titles=[f"Unbilled — {c}" for c in currencies] or [""],
        horizontal_spacing=0.08,
    )
    for col, currency in enumerate(currencies, start=1):
        part = aging.filter(pl.col("currency") == currency).sort("bucket")
        symbol = SYMBOLS.get(currency, "")
        fig.add_trace(
            go.Bar(
                x=part["bucket"].cast(pl.String).to_list(),
                y=part["amount"].to_list(),
                marker_color=list(AGE_COLOURS),
                customdata=list(
                    zip(part["hours"].to_list(), part["events"].to_list(), strict=True)
                ),
                hovertemplate=(
                    f"%{{x}}<br>{symbol}%{{y:,.2f}} {currency}"
                    "<br>%{customdata[0]:,.1f} h · %{customdata[1]:,} events<extra></extra>"
                ),
                name=currency,
                showlegend=False,
            ),
            row=1,
            col=col,
        )
        fig.update_yaxes(row=1, col=col, **money_axis(currency))
        fig.update_xaxes(row=1, col=col, categoryorder="array", categoryarray=list(AGE_BUCKETS))
    fig.update_layout(margin=MARGIN, height=420, bargap=0.25)
    return fig


def billing_trend(weekly: pl.DataFrame, monthly: pl.DataFrame, currency: str) -> go.Figure:
    """Billable work per week (top) and invoiced value per service month by status (bottom).

    Both panels share the date axis and show only ``currency``.
    """
    week = weekly.filter(pl.col("currency") == currency).sort("week")
    month = monthly.filter(pl.col("currency") == currency).sort("month")
    symbol = SYMBOLS.get(currency, "")
    fig = make_subplots(
        rows=2,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.14,
        subplot_titles=(
            f"Billable work per week — {currency}",
            f"Invoiced per service month — {currency}",
        ),
    )
    fig.add_trace(
        _period_bars(
            week,
            "week",
            WEEK_MS * 0.8,
            marker_color=BILLABLE_COLOUR,
            name="Billable (week)",
            hovertemplate=(
                f"Week of %{{x|%d %b %Y}}<br>{symbol}%{{y:,.2f}} {currency}<extra></extra>"
            ),
        ),
        row=1,
        col=1,
    )
    for status in month["status"].unique().sort().to_list():
        part = month.filter(pl.col("status") == status)
        fig.add_trace(
            _period_bars(
                part,
                "month",
                MONTH_MS * 0.9,
                marker_color=STATUS_COLOURS.get(status, OTHER_STATUS_COLOUR),
                name=f"Invoiced, {status}",
                customdata=part["invoices"].to_list(),
                hovertemplate=(
                    f"%{{x|%b %Y}} · {status}<br>{symbol}%{{y:,.2f}} {currency}"
                    "<br>%{customdata:,} invoices<extra></extra>"
                ),
            ),
            row=2,
            col=1,
        )
    fig.update_yaxes(**money_axis(currency))
    fig.update_layout(
        barmode="stack",
        height=420,
        margin=MARGIN,
        legend={
            "orientation": "h",
            "yanchor": "bottom",
            "y": -0.18,
            "x": 0,
            "traceorder": "normal",
        },
    )
    return fig


def _period_bars(frame: pl.DataFrame, period: str, width: float, **style: Any) -> go.Bar:
    """``frame``'s ``amount`` per ``period`` (its first day) as bars ``width`` ms wide, drawn
    from the period's start."""
    return go.Bar(
        x=frame[period].to_list(), y=frame["amount"].to_list(), width=width, offset=0, **style
    )
