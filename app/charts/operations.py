"""The operations pages' figures: open exceptions by category (Exceptions) and the latency of
vendor calls (Integration health).

Value at risk is never summed across currencies: one panel per currency, each with its own axis.
"""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl
from plotly.subplots import make_subplots

from app.charts.layout import (
    ALARM_COLOUR,
    LEGEND_ABOVE,
    MARGIN,
    MS_AXIS,
    PRIMARY_COLOUR,
    heading,
    money_axis,
    money_hover,
)
from app.labels import SYMBOLS, category, chart_text

PERCENTILE_COLOURS = {"p50_ms": "#2e8b57", "p95_ms": "#f39c12", "p99_ms": ALARM_COLOUR}


def exceptions_by_category(by_category: pl.DataFrame, at_risk: pl.DataFrame) -> go.Figure:
    """Open exceptions per category (left) and their value at risk, one panel per currency.

    ``by_category``: category, open (:func:`app.frames.open_by_category`); ``at_risk``:
    category, currency, amount, count (:func:`app.frames.at_risk_by_category`). Every panel
    lists the categories in the same order, most open first, so a row reads across.
    """
    order = by_category["category"].to_list()
    titles = [chart_text(category(c)) for c in order]
    currencies = sorted(at_risk["currency"].unique().to_list())
    fig = make_subplots(
        rows=1,
        cols=1 + len(currencies),
        shared_yaxes=True,
        horizontal_spacing=0.04,
        subplot_titles=["Open exceptions", *(f"Value at risk — {c}" for c in currencies)],
    )
    fig.add_trace(
        go.Bar(
            y=titles,
            x=by_category["open"].to_list(),
            orientation="h",
            marker_color=ALARM_COLOUR,
            text=by_category["open"].to_list(),
            textposition="auto",
            textangle=0,  # a count reads level, never turned on its side
            customdata=order,
            hovertemplate="%{y} (%{customdata})<br>%{x:,} open<extra></extra>",
            showlegend=False,
        ),
        row=1,
        col=1,
    )
    most = max(by_category["open"].to_list(), default=0)
    fig.update_xaxes(
        row=1, col=1, rangemode="tozero", tickformat=",d", dtick=1 if most <= 10 else None
    )
    for col, currency in enumerate(currencies, start=2):
        part = at_risk.filter(pl.col("currency") == currency)
        amounts = dict(zip(part["category"].to_list(), part["amount"].to_list(), strict=True))
        symbol = SYMBOLS.get(currency, "")
        fig.add_trace(
            go.Bar(
                y=titles,
                x=[amounts.get(c, 0.0) for c in order],
                orientation="h",
                marker_color=PRIMARY_COLOUR,
                text=[f"{symbol}{amounts[c]:,.0f}" if c in amounts else "" for c in order],
                textposition="auto",
                hovertemplate=money_hover(currency, axis="x"),
                showlegend=False,
            ),
            row=1,
            col=col,
        )
        fig.update_xaxes(row=1, col=col, **money_axis(currency))
    fig.update_yaxes(autorange="reversed")
    height = max(220, 60 + 34 * len(order))
    fig.update_layout(margin=MARGIN, height=height, bargap=0.3)
    return fig


def _latency_layout(fig: go.Figure, title: str, **layout: object) -> go.Figure:
    """A latency figure's frame: 360 high, milliseconds from 0 on the y axis, legend above."""
    fig.update_layout(
        height=360,
        title=heading(title),
        yaxis=MS_AXIS,
        margin=MARGIN,
        legend=LEGEND_ABOVE,
        **layout,
    )
    return fig


def vendor_latency(vendors: pl.DataFrame) -> go.Figure:
    """p50, p95 and p99 latency of vendor calls (ms), grouped per vendor.

    ``vendors`` is :func:`metrics.vendor_calls` output.
    """
    fig = go.Figure()
    for column, colour in PERCENTILE_COLOURS.items():
        name = column.removesuffix("_ms")
        fig.add_trace(
            go.Bar(
                x=vendors["vendor"].to_list(),
                y=vendors[column].to_list(),
                name=name,
                marker_color=colour,
                hovertemplate=f"%{{x}} {name}: %{{y:,.0f}} ms<extra></extra>",
            )
        )
    return _latency_layout(fig, "Latency per vendor (ms)", barmode="group")


def latency_trend(latency: pl.DataFrame) -> go.Figure:
    """p95 latency of vendor calls over time, one line per vendor (ms).

    ``latency`` is :func:`app.frames.latency_over_time` output (bucket, vendor, p95_ms, calls).
    """
    fig = go.Figure()
    for vendor in latency["vendor"].unique().sort().to_list():
        part = latency.filter(pl.col("vendor") == vendor)
        fig.add_trace(
            go.Scatter(
                x=part["bucket"].to_list(),
                y=part["p95_ms"].to_list(),
                customdata=part["calls"].to_list(),
                mode="lines+markers",
                name=vendor,
                hovertemplate=(
                    f"{vendor} · %{{x|%d %b %H:%M}} UTC<br>p95 %{{y:,.0f}} ms"
                    "<br>%{customdata:,} calls<extra></extra>"
                ),
            )
        )
    return _latency_layout(fig, "p95 latency over time (ms, UTC)")
