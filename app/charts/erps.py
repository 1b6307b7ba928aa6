"""The ERPs' figures: invoices per ERP by delivery state with each ERP's delivery lag
(Integration health), and the value posted and waiting per legal entity, one panel per
currency (Billing).

Each ERP keeps its colour in every figure (:data:`ERP_COLOURS`, by its name as people call it);
a state keeps the colour of its meaning (posted is the primary colour, refused the alarm).
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
import polars as pl
from plotly.subplots import make_subplots

from app.charts.layout import (
    ALARM_COLOUR,
    LEGEND_ABOVE,
    MARGIN,
    OTHER_STATUS_COLOUR,
    PRIMARY_COLOUR,
    SECOND_COLOUR,
    money_axis,
)
from app.labels import SYMBOLS, chart_text

STATE_COLOURS = {
    "posted": PRIMARY_COLOUR,
    "waiting": SECOND_COLOUR,
    "refused": ALARM_COLOUR,
    "dead": "#6d1f16",
}
STATE_NAMES = {
    "posted": "Posted",
    "waiting": "Waiting",
    "refused": "Refused",
    "dead": "Dead-lettered",
}
LAG_COLOURS = {"lag_p50_seconds": "#2e8b57", "lag_p95_seconds": SECOND_COLOUR}
ERP_COLOURS = ("#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#17becf", OTHER_STATUS_COLOUR)


def invoices_by_state(erps: pl.DataFrame) -> go.Figure:
    """Invoices per ERP by state, stacked (left), and each ERP's delivery lag p50 and p95 in
    seconds (right). ``erps``: :class:`app.data.ErpReport`'s ``erps`` (erp_name, the state
    counts, lag_p50_seconds, lag_p95_seconds)."""
    names = [chart_text(n) for n in erps["erp_name"].to_list()]
    fig = make_subplots(
        rows=1,
        cols=2,
        shared_yaxes=True,
        horizontal_spacing=0.06,
        subplot_titles=["Invoices by state (all time)", "Delivery lag (s, all time)"],
    )
    for state, colour in STATE_COLOURS.items():
        counts = erps[state].to_list()
        fig.add_trace(
            go.Bar(
                y=names,
                x=counts,
                name=STATE_NAMES[state],
                orientation="h",
                marker_color=colour,
                text=[c or "" for c in counts],
                textposition="inside",
                textangle=0,
                hovertemplate=f"%{{y}}<br>%{{x:,}} {state}<extra></extra>",
            ),
            row=1,
            col=1,
        )
    for column, colour in LAG_COLOURS.items():
        label = column.removeprefix("lag_").removesuffix("_seconds")
        fig.add_trace(
            go.Scatter(  # dots, not bars: the bars of the left panel stack, a p95 must not
                y=names,
                x=erps[column].to_list(),
                name=f"lag {label}",
                mode="markers",
                marker={"color": colour, "size": 12, "symbol": "diamond"},
                hovertemplate=f"%{{y}}<br>{label} %{{x:,.1f}} s<extra></extra>",
            ),
            row=1,
            col=2,
        )
    most = max([sum(r) for r in erps.select(list(STATE_COLOURS)).rows()], default=0)
    fig.update_xaxes(
        row=1, col=1, rangemode="tozero", tickformat=",d", dtick=1 if most <= 10 else None
    )
    fig.update_xaxes(row=1, col=2, rangemode="tozero", ticksuffix=" s")
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(
        barmode="stack",
        height=max(240, 110 + 44 * len(names)),
        margin={**MARGIN, "t": 70},
        legend=LEGEND_ABOVE | {"yref": "container", "y": 1.0, "yanchor": "top"},
    )
    return fig


def value_by_entity(values: pl.DataFrame) -> go.Figure:
    """Invoice value per legal entity, posted (solid) and waiting (light), one panel per currency
    (one under the other, each with its own axis); each bar in its ERP's colour. ``values``:
    :class:`app.data.ErpReport`'s ``values``."""
    currencies = sorted(values["currency"].drop_nulls().unique().to_list())
    erp_names = sorted(values["erp_name"].unique().to_list())
    colours = {n: ERP_COLOURS[i % len(ERP_COLOURS)] for i, n in enumerate(erp_names)}
    rows = [values.filter(pl.col("currency") == c).sort("legal_entity") for c in currencies]
    bars = [max(1, part.height) for part in rows]
    gap = 90  # px between panels: the axis above and the next panel's title
    height = 80 + 56 * sum(bars) + gap * len(rows)
    fig = make_subplots(
        rows=max(1, len(currencies)),
        cols=1,
        row_heights=bars or None,
        vertical_spacing=gap / height if len(rows) > 1 else 0.0,
        subplot_titles=[f"Invoice value — {c}" for c in currencies],
    )
    shown: set[str] = set()
    for row, (currency, part) in enumerate(zip(currencies, rows, strict=True), start=1):
        for bar in part.iter_rows(named=True):
            _entity_bars(
                fig, bar, colours[bar["erp_name"]], row, legend=bar["erp_name"] not in shown
            )
            shown.add(bar["erp_name"])
        fig.update_xaxes(row=row, col=1, **money_axis(currency))
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(
        barmode="stack",
        height=height,
        margin={**MARGIN, "t": 70},
        legend=LEGEND_ABOVE | {"yref": "container", "y": 1.0, "yanchor": "top"},
    )
    return fig


def _entity_bars(
    fig: go.Figure, bar: dict[str, Any], colour: str, row: int, *, legend: bool
) -> None:
    """One legal entity's posted (solid) and waiting (light) value, in its ERP's colour."""
    name, currency = chart_text(bar["erp_name"]), bar["currency"]
    entity = f"{chart_text(bar['legal_entity'] or 'no legal entity')} · {name}"
    symbol = SYMBOLS.get(currency, "")
    for state, opacity in (("posted", 1.0), ("waiting", 0.4)):
        fig.add_trace(
            go.Bar(
                y=[entity],
                x=[bar[f"{state}_value"]],
                name=name,
                legendgroup=name,
                showlegend=legend and state == "posted",
                orientation="h",
                marker={"color": colour, "opacity": opacity},
                text=[f"{bar[f'{state}_invoices']:,} {state}"]
                if bar[f"{state}_invoices"]
                else None,
                textposition="inside",
                textangle=0,
                hovertemplate=(
                    f"%{{y}}<br>{state}: {symbol}%{{x:,.2f}} {currency}"
                    f" ({bar[f'{state}_invoices']:,} invoices)<extra></extra>"
                ),
            ),
            row=row,
            col=1,
        )
