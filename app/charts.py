"""Plotly figures for the dashboard: pure functions from a frame to a figure, no streamlit.

Money is never summed across currencies: the aging chart draws one panel per currency with its
own axis, and the trend chart draws one currency at a time.
"""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl
from plotly.subplots import make_subplots

from app.frames import AGE_BUCKETS
from app.labels import SYMBOLS, category, chart_text

AGE_COLOURS = ("#2e8b57", "#e0b000", "#e67e22", "#c0392b")  # fresh → stale
STATUS_COLOURS = {"posted": "#1f4e79", "pending": "#f39c12"}
OTHER_STATUS_COLOUR = "#7f8c8d"
BILLABLE_COLOUR = "#1f6f8b"
DAY_MS = 24 * 3600 * 1000
WEEK_MS = 7 * DAY_MS  # bars on a date axis are sized in milliseconds
MONTH_MS = 28 * DAY_MS  # the shortest month, so that no bar runs into the next one


def _money_axis(currency: str) -> dict[str, object]:
    symbol = SYMBOLS.get(currency, "")
    suffix = "" if symbol else f" {currency}"
    return {"tickprefix": symbol, "ticksuffix": suffix, "tickformat": ",.0f", "rangemode": "tozero"}


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
        fig.update_yaxes(row=1, col=col, **_money_axis(currency))
        fig.update_xaxes(row=1, col=col, categoryorder="array", categoryarray=list(AGE_BUCKETS))
    fig.update_layout(margin={"t": 40, "b": 10, "l": 10, "r": 10}, height=420, bargap=0.25)
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
        go.Bar(
            x=week["week"].to_list(),
            y=week["amount"].to_list(),
            width=WEEK_MS * 0.8,
            offset=0,
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
            go.Bar(
                x=part["month"].to_list(),
                y=part["amount"].to_list(),
                width=MONTH_MS * 0.9,
                offset=0,
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
    fig.update_yaxes(**_money_axis(currency))
    fig.update_layout(
        barmode="stack",
        height=420,
        margin={"t": 40, "b": 10, "l": 10, "r": 10},
        legend={
            "orientation": "h",
            "yanchor": "bottom",
            "y": -0.18,
            "x": 0,
            "traceorder": "normal",
        },
    )
    return fig


EXCEPTION_COLOUR = "#c0392b"
PERCENTILE_COLOURS = {"p50_ms": "#2e8b57", "p95_ms": "#f39c12", "p99_ms": "#c0392b"}


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
            marker_color=EXCEPTION_COLOUR,
            text=by_category["open"].to_list(),
            textposition="auto",
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
                marker_color="#1f4e79",
                text=[f"{symbol}{amounts[c]:,.0f}" if c in amounts else "" for c in order],
                textposition="auto",
                hovertemplate=f"%{{y}}<br>{symbol}%{{x:,.2f}} {currency}<extra></extra>",
                showlegend=False,
            ),
            row=1,
            col=col,
        )
        fig.update_xaxes(row=1, col=col, **_money_axis(currency))
    fig.update_yaxes(autorange="reversed")
    height = max(220, 60 + 34 * len(order))
    fig.update_layout(margin={"t": 40, "b": 10, "l": 10, "r": 10}, height=height, bargap=0.3)
    return fig


def vendor_latency(vendors: pl.DataFrame) -> go.Figure:
    """p50, p95 and p99 latency of vendor calls (ms), grouped per vendor.

    ``vendors`` is :func:`metrics.health.vendor_calls` output.
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
    fig.update_layout(
        barmode="group",
        height=360,
        title={"text": "Latency per vendor (ms)", "x": 0, "font": {"size": 14}},
        yaxis={"title": "ms", "rangemode": "tozero", "tickformat": ",d"},
        margin={"t": 40, "b": 10, "l": 10, "r": 10},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 1, "xanchor": "right"},
    )
    return fig


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
    fig.update_layout(
        height=360,
        title={"text": "p95 latency over time (ms, UTC)", "x": 0, "font": {"size": 14}},
        yaxis={"title": "ms", "rangemode": "tozero", "tickformat": ",d"},
        margin={"t": 40, "b": 10, "l": 10, "r": 10},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 1, "xanchor": "right"},
    )
    return fig


# --- executive overview -------------------------------------------------------------------------

UTILIZATION_COLOUR = "#1f4e79"
PREVIOUS_COLOUR = "#9fb3c8"
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
_MARGIN = {"t": 40, "b": 10, "l": 10, "r": 10}


def _titled(fig: go.Figure, title: str, height: int) -> go.Figure:
    fig.update_layout(
        height=height,
        margin=_MARGIN,
        title={"text": title, "x": 0, "font": {"size": 14}},
        showlegend=False,
        clickmode="event+select",
    )
    return fig


def utilization_trend(trend: pl.DataFrame) -> go.Figure:
    """Billable utilization per period (%), the current (last) period in full colour.

    ``trend``: label, billable_hours, available_hours, utilization (share of one, or null).
    """
    shares = [None if u is None else u * 100 for u in trend["utilization"].to_list()]
    colours = [PREVIOUS_COLOUR] * (trend.height - 1) + [UTILIZATION_COLOUR]
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
    return _titled(fig, "Billable utilization per period", 320)


def utilization_by_group(groups: pl.DataFrame, title: str) -> go.Figure:
    """Utilization (%) per group, lowest first so that the people or teams to look at lead.

    ``groups``: key, label, billable_hours, available_hours, utilization. Click a bar to drill
    into its time entries (``customdata`` is the group's key).
    """
    ordered = groups.sort("utilization", nulls_last=True)
    shares = [None if u is None else u * 100 for u in ordered["utilization"].to_list()]
    names = [chart_text(name) for name in ordered["label"].to_list()]
    fig = go.Figure(
        go.Bar(
            y=names,
            x=shares,
            orientation="h",
            marker_color=UTILIZATION_COLOUR,
            text=[f"{s:.1f} %" if s is not None else "no capacity" for s in shares],
            textposition="auto",
            customdata=ordered["key"].to_list(),
            hovertemplate="%{y}<br>%{x:.1f} % billable<extra></extra>",
        )
    )
    fig.update_xaxes(ticksuffix=" %", rangemode="tozero")
    fig.update_yaxes(autorange="reversed", automargin=True)
    return _titled(fig, title, max(260, 70 + 26 * len(names)))


def wip_by_bucket(aging: pl.DataFrame, currency: str) -> go.Figure:
    """Unbilled value of one currency per age bucket (days since the work was done).

    ``aging``: :func:`metrics.wip.wip_aging` output. Click a bar to list its billing events.
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
            hovertemplate=f"%{{x}}<br>{symbol}%{{y:,.2f}} {currency}<extra></extra>",
        )
    )
    fig.update_yaxes(**_money_axis(currency))
    return _titled(fig, f"WIP by age — {currency}", 320)


def cycle_stages(stages: pl.DataFrame) -> go.Figure:
    """Median and p90 of each billing stage in days (``stage``, ``median``, ``p90``). Click a
    bar to list the billed time slowest in that stage (``customdata`` is the stage)."""
    names = [STAGE_LABELS.get(s, s) for s in stages["stage"].to_list()]
    fig = go.Figure()
    for column, colour, label in (("median", UTILIZATION_COLOUR, "median"),
                                  ("p90", "#e67e22", "p90")):  # fmt: skip
        values = stages[column].to_list()
        fig.add_trace(
            go.Bar(
                y=names,
                x=values,
                orientation="h",
                name=label,
                marker_color=colour,
                text=[f"{v:,.1f} d" if v is not None else "" for v in values],
                textposition="outside",
                cliponaxis=False,
                customdata=stages["stage"].to_list(),
                hovertemplate=f"%{{y}}<br>{label}: %{{x:,.1f}} days<extra></extra>",
            )
        )
    longest = max([v for c in ("median", "p90") for v in stages[c].to_list() if v], default=1.0)
    fig.update_xaxes(ticksuffix=" d", range=[0, longest * 1.12])  # room for the labels
    fig.update_yaxes(autorange="reversed", automargin=True)
    _titled(fig, "Billing cycle time by stage (days)", 320)
    fig.update_layout(
        barmode="group",
        showlegend=True,
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 1, "xanchor": "right"},
    )
    return fig


def dso_trend(trend: pl.DataFrame, currency: str) -> go.Figure:
    """Countback and standard DSO (days) at each period end, for one currency."""
    part = trend.filter(pl.col("currency") == currency).sort("period_end")
    fig = go.Figure()
    for column, colour, name in (("countback_days", UTILIZATION_COLOUR, "Countback"),
                                 ("standard_days", "#e67e22", "Standard (3 months)")):  # fmt: skip
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
    _titled(fig, f"DSO at each period end — {currency}", 320)
    fig.update_layout(
        showlegend=True,
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 1, "xanchor": "right"},
    )
    return fig


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
            marker_color="#c0392b",
            text=[f"{symbol}{a:,.0f} · {h:,.1f} h" for a, h in zip(amounts, hours, strict=True)],
            textposition="outside",
            cliponaxis=False,
            customdata=kinds,
            hovertemplate=f"%{{x}}<br>{symbol}%{{y:,.2f}} {currency}<extra></extra>",
        )
    )
    fig.update_yaxes(**_money_axis(currency), range=[0, max(amounts, default=0) * 1.2 or 1])
    return _titled(fig, f"Revenue leakage — {currency}", 320)


def journey_timeline(journey: pl.DataFrame) -> go.Figure:
    """A record's business events on a time axis (UTC), one row per kind of event."""
    events = journey["event"].to_list()
    order = list(dict.fromkeys(events))
    fig = go.Figure(
        go.Scatter(
            x=journey["occurred_at"].to_list(),
            y=events,
            mode="markers+lines",
            marker={"size": 12, "color": UTILIZATION_COLOUR},
            line={"color": PREVIOUS_COLOUR, "dash": "dot"},
            customdata=[chart_text(e) for e in journey["entity_id"].to_list()],
            hovertemplate="%{y}<br>%{x|%d %b %Y %H:%M} UTC<br>%{customdata}<extra></extra>",
        )
    )
    fig.update_yaxes(
        categoryorder="array", categoryarray=order, autorange="reversed", automargin=True
    )
    return _titled(fig, "Journey (UTC)", max(220, 80 + 34 * len(order)))
