"""The executive Overview's figures, one per KPI tab, each clickable to drill into its records.

A bar's ``customdata`` is the value the page drills by (a group's key, an age bucket, a stage, a
kind of leakage). Money figures show one currency.
"""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

from app.charts.layout import (
    AGE_COLOURS,
    ALARM_COLOUR,
    OTHER_STATUS_COLOUR,
    PREVIOUS_COLOUR,
    PRIMARY_COLOUR,
    SECOND_COLOUR,
    money_axis,
    money_hover,
    titled,
)
from app.labels import SYMBOLS, chart_text

STAGE_LABELS = {
    "approval_lag": "Approval lag",
    "sync_lag": "Sync lag",
    "invoicing_lag": "Invoicing lag",
    "posting_lag": "Posting lag",
    "cycle_time": "Cycle time (approved → posted)",
}
LEAKAGE_LABELS = {
    "approved_not_billed": "Approved, never billed",
    "wrong_rate": "Billed below rate",
    "closed_project": "Time on closed projects",
}
WIP_COLOURS = dict(zip(("0–30", "31–60", "61–90", "90+"), AGE_COLOURS, strict=True))


def _percent(utilization: pl.Series) -> list[float | None]:
    return [None if u is None else u * 100 for u in utilization.to_list()]


def utilization_trend(trend: pl.DataFrame) -> go.Figure:
    """Billable utilization per period (%), the current (last) period in full colour.

    ``trend``: label, billable_hours, available_hours, utilization (share of one, or null).
    """
    shares = _percent(trend["utilization"])
    colours = [PREVIOUS_COLOUR] * (trend.height - 1) + [PRIMARY_COLOUR]
    fig = go.Figure(
        go.Bar(
            x=trend["label"].to_list(),
            y=shares,
            marker_color=colours[-trend.height :] if trend.height else [],
            text=[f"{s:.1f} %" if s is not None else "—" for s in shares],
            textposition="outside",
            customdata=list(
                zip(
                    trend["billable_hours"].to_list(),
                    trend["available_hours"].to_list(),
                    strict=True,
                )
            ),
            hovertemplate="%{x}<br>%{y:.1f} %<br>%{customdata[0]:,.1f} h billable of "
            "%{customdata[1]:,.1f} h available<extra></extra>",
        )
    )
    top = max([s for s in shares if s is not None], default=100.0)
    fig.update_yaxes(ticksuffix=" %", range=[0, max(100.0, top * 1.15)])
    return titled(fig, "Billable utilization per period", 320)


def utilization_by_group(groups: pl.DataFrame, title: str) -> go.Figure:
    """Utilization (%) per group, lowest first so that the people or teams to look at lead.

    ``groups``: key, label, billable_hours, available_hours, utilization. Click a bar to drill
    into its time entries (``customdata`` is the group's key).
    """
    ordered = groups.sort("utilization", nulls_last=True)
    shares = _percent(ordered["utilization"])
    names = [chart_text(name) for name in ordered["label"].to_list()]
    fig = go.Figure(
        go.Bar(
            y=names,
            x=shares,
            orientation="h",
            marker_color=PRIMARY_COLOUR,
            text=[f"{s:.1f} %" if s is not None else "no capacity" for s in shares],
            textposition="auto",
            customdata=ordered["key"].to_list(),
            hovertemplate="%{y}<br>%{x:.1f} % billable<extra></extra>",
        )
    )
    fig.update_xaxes(ticksuffix=" %", rangemode="tozero")
    fig.update_yaxes(autorange="reversed", automargin=True)
    return titled(fig, title, max(260, 70 + 26 * len(names)))


def wip_by_bucket(aging: pl.DataFrame, currency: str) -> go.Figure:
    """Unbilled value of one currency per age bucket (days since the work was done).

    ``aging``: the report's ``wip`` frame. Click a bar to list its billing events.
    """
    part = aging.filter(pl.col("currency") == currency).sort("bucket")
    buckets = part["bucket"].cast(pl.String).to_list()
    amounts = part["amount"].cast(pl.Float64).to_list()
    symbol = SYMBOLS.get(currency, "")
    fig = go.Figure(
        go.Bar(
            x=[f"{b} days" for b in buckets],
            y=amounts,
            marker_color=[WIP_COLOURS.get(b, OTHER_STATUS_COLOUR) for b in buckets],
            text=[f"{symbol}{a:,.0f}" for a in amounts],
            textposition="auto",
            customdata=buckets,
            hovertemplate=money_hover(currency),
        )
    )
    fig.update_yaxes(**money_axis(currency))
    return titled(fig, f"WIP by age — {currency}", 320)


def cycle_stages(stages: pl.DataFrame) -> go.Figure:
    """Median and p90 of each billing stage in days (``stage``, ``median``, ``p90``). Click a
    bar to list the billed time slowest in that stage (``customdata`` is the stage)."""
    names = [STAGE_LABELS.get(s, s) for s in stages["stage"].to_list()]
    fig = go.Figure()
    for column, colour in (("median", PRIMARY_COLOUR), ("p90", SECOND_COLOUR)):
        values = stages[column].to_list()
        fig.add_trace(
            go.Bar(
                y=names,
                x=values,
                orientation="h",
                name=column,
                marker_color=colour,
                text=[f"{v:,.1f} d" if v is not None else "" for v in values],
                textposition="outside",
                cliponaxis=False,
                customdata=stages["stage"].to_list(),
                hovertemplate=f"%{{y}}<br>{column}: %{{x:,.1f}} days<extra></extra>",
            )
        )
    longest = max([v for c in ("median", "p90") for v in stages[c].to_list() if v], default=1.0)
    fig.update_xaxes(ticksuffix=" d", range=[0, longest * 1.12])  # room for the labels
    fig.update_yaxes(autorange="reversed", automargin=True)
    fig.update_layout(barmode="group")
    return titled(fig, "Billing cycle time by stage (days)", 320, legend=True)


def dso_trend(trend: pl.DataFrame, currency: str) -> go.Figure:
    """Countback and standard DSO (days) at each period end, for one currency."""
    part = trend.filter(pl.col("currency") == currency).sort("period_end")
    fig = go.Figure()
    series = (
        ("countback_days", PRIMARY_COLOUR, "Countback"),
        ("standard_days", SECOND_COLOUR, "Standard (3 months)"),
    )
    for column, colour, name in series:
        fig.add_trace(
            go.Scatter(
                x=part["label"].to_list(),
                y=part[column].to_list(),
                mode="lines+markers",
                name=name,
                line={"color": colour},
                hovertemplate=f"%{{x}}<br>{name}: %{{y:,.1f}} days<extra></extra>",
            )
        )
    values = [v for c in ("countback_days", "standard_days") for v in part[c].to_list() if v]
    fig.update_yaxes(ticksuffix=" d", range=[0, max(values, default=30.0) * 1.2])
    return titled(fig, f"DSO at each period end — {currency}", 320, legend=True)


def leakage_by_kind(leakage: pl.DataFrame, currency: str) -> go.Figure:
    """Revenue leakage of one currency per kind, in money. Click a bar to list its entries."""
    part = leakage.filter(pl.col("currency") == currency)
    kinds = part["kind"].to_list()
    amounts = part["amount"].cast(pl.Float64).to_list()
    hours = part["hours"].cast(pl.Float64).to_list()
    symbol = SYMBOLS.get(currency, "")
    fig = go.Figure(
        go.Bar(
            x=[LEAKAGE_LABELS.get(k, k) for k in kinds],
            y=amounts,
            marker_color=ALARM_COLOUR,
            text=[f"{symbol}{a:,.0f} · {h:,.1f} h" for a, h in zip(amounts, hours, strict=True)],
            textposition="outside",
            cliponaxis=False,
            customdata=kinds,
            hovertemplate=money_hover(currency),
        )
    )
    fig.update_yaxes(**money_axis(currency), range=[0, max(amounts, default=0) * 1.2 or 1])
    return titled(fig, f"Revenue leakage — {currency}", 320)


def journey_timeline(journey: pl.DataFrame) -> go.Figure:
    """A record's business events on a time axis (UTC), one row per kind of event."""
    events = journey["event"].to_list()
    order = list(dict.fromkeys(events))
    fig = go.Figure(
        go.Scatter(
            x=journey["occurred_at"].to_list(),
            y=events,
            mode="markers+lines",
            marker={"size": 12, "color": PRIMARY_COLOUR},
            line={"color": PREVIOUS_COLOUR, "dash": "dot"},
            customdata=[chart_text(e) for e in journey["entity_id"].to_list()],
            hovertemplate="%{y}<br>%{x|%d %b %Y %H:%M} UTC<br>%{customdata}<extra></extra>",
        )
    )
    fig.update_yaxes(
        categoryorder="array", categoryarray=order, autorange="reversed", automargin=True
    )
    return titled(fig, "Journey (UTC)", max(220, 80 + 34 * len(order)))
