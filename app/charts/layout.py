"""What every dashboard figure shares: the palette, the money axis, margins, titles and legends.

Every figure keeps the same 10-pixel margins with 40 at the top for its title, and a titled
figure selects on click (``clickmode="event+select"``) so that a page can drill into a bar.
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from app.labels import SYMBOLS

AGE_COLOURS = ("#2e8b57", "#e0b000", "#e67e22", "#c0392b")  # fresh → stale
OTHER_STATUS_COLOUR = "#7f8c8d"
PRIMARY_COLOUR = "#1f4e79"  # the figure that matters now: utilization, posted money, medians
PREVIOUS_COLOUR = "#9fb3c8"
SECOND_COLOUR = "#e67e22"  # the second series beside the primary one: p90, standard DSO
ALARM_COLOUR = "#c0392b"  # what is lost or stuck: exceptions, leakage
MARGIN = {"t": 40, "b": 10, "l": 10, "r": 10}
LEGEND_ABOVE = {"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 1, "xanchor": "right"}
MS_AXIS = {"title": "ms", "rangemode": "tozero", "tickformat": ",d"}


def money_axis(currency: str) -> dict[str, Any]:
    """Axis settings for amounts of one currency: its symbol (or code) and whole units from 0."""
    symbol = SYMBOLS.get(currency, "")
    suffix = "" if symbol else f" {currency}"
    return {"tickprefix": symbol, "ticksuffix": suffix, "tickformat": ",.0f", "rangemode": "tozero"}


def money_hover(currency: str, axis: str = "y") -> str:
    """A hover line for one bar of money: its category, then the exact amount and currency."""
    symbol = SYMBOLS.get(currency, "")
    other = "x" if axis == "y" else "y"
    return f"%{{{other}}}<br>{symbol}%{{{axis}:,.2f}} {currency}<extra></extra>"


def heading(text: str) -> dict[str, Any]:
    """A figure title set flush left in the dashboard's title size."""
    return {"text": text, "x": 0, "font": {"size": 14}}


def titled(fig: go.Figure, title: str, height: int, *, legend: bool = False) -> go.Figure:
    """``fig`` with its title, height and margins, selectable by click; a legend above it on the
    right when ``legend`` (for figures of more than one series)."""
    fig.update_layout(
        height=height,
        margin=MARGIN,
        title=heading(title),
        showlegend=legend,
        clickmode="event+select",
    )
    if legend:
        fig.update_layout(legend=LEGEND_ABOVE)
    return fig
