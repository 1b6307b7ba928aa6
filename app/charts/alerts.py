"""The Alerts page's figure: an SLO's burn rate over time, one line per alerting window, with
the burn rates the workbook alerts at (14.4× over 1 h, 6× over 6 h, 1× over 3 days)."""

from __future__ import annotations

from collections.abc import Mapping

import plotly.graph_objects as go
import polars as pl

from app.charts.layout import ALARM_COLOUR, PRIMARY_COLOUR, SECOND_COLOUR, titled

WINDOW_COLOURS = {"1h": ALARM_COLOUR, "6h": SECOND_COLOUR, "3d": PRIMARY_COLOUR}
WINDOW_NAMES = {"1h": "over 1 hour", "6h": "over 6 hours", "3d": "over 3 days"}


def burn_rate(burn: pl.DataFrame, thresholds: Mapping[str, float], title: str) -> go.Figure:
    """``burn``: at, window, burn_rate (null: no event judged in the window); ``thresholds``:
    window → the burn rate it alerts at, drawn as a dashed line in the window's colour."""
    fig = go.Figure()
    for window in thresholds:
        points = burn.filter(pl.col("window") == window)
        colour = WINDOW_COLOURS.get(window, PRIMARY_COLOUR)
        fig.add_trace(
            go.Scatter(
                x=points["at"].to_list(),
                y=points["burn_rate"].to_list(),
                mode="lines",
                name=f"burn rate {WINDOW_NAMES.get(window, window)}",
                line={"color": colour},
                connectgaps=False,
                hovertemplate="%{x|%d %b %H:%M} UTC<br>%{y:.2f}× the sustainable rate"
                "<extra></extra>",
            )
        )
        fig.add_hline(
            y=thresholds[window],
            line={"color": colour, "dash": "dash", "width": 1},
            annotation_text=f"{thresholds[window]:g}× ({window})",
            annotation_position="top left",
        )
    fig.update_yaxes(title="burn rate (× sustainable)", rangemode="tozero", ticksuffix="×")
    fig.update_xaxes(title="UTC")
    return titled(fig, title, 320, legend=True)
