"""The Overview's KPI tiles: people and billing for the period, money in one currency.

Each tile shows the figure, its change against the period before (where there is one) and, in
its help, what the figure is made of. A KPI that cannot honour the slice says it shows the whole
firm's figure.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from app import labels
from app.kpi_frames import Overview
from metrics import CLOSE_DAYS

TILE: dict[str, Any] = {"border": True, "height": "stretch"}


def _vs(previous: Any, when: str) -> str | None:
    """What a tile's delta compares with (nothing when there is no delta)."""
    return None if previous is None else f"vs {when}"


def _days_tile(
    column: Any, label: str, figure: tuple[float | None, float | None, str], help_text: str
) -> None:
    """A duration in days where fewer is better: ``figure`` is (now, before, when before)."""
    value, previous, when = figure
    column.metric(
        label,
        labels.days_exact(value),
        delta=labels.days_delta(value, previous),
        delta_description=_vs(previous, when),
        delta_color="inverse",
        help=help_text,
        **TILE,
    )


def people_tiles(overview: Overview) -> None:
    """Utilization, approved before close, and the median and p90 cycle time of the period."""
    st.markdown(f"##### People and billing — {overview.label}")
    utilization, approvals, median, p90 = st.columns(4)
    now = overview.utilization_now()
    share, before = overview.tile("utilization")
    utilization.metric(
        f"Billable utilization, {overview.label_short}",
        labels.percent(share),
        delta=labels.points(share, before),
        delta_description=_vs(before, overview.previous_short),
        help=f"{labels.hours(now['billable_hours'])} billable of "
        f"{labels.hours(now['available_hours'])} available (capacity less holidays and time off)."
        + ("" if overview.filters.honoured_by("person") else " The slice does not apply to "
           "people: utilization is shown for the whole firm."),
        **TILE,
    )  # fmt: skip
    approvals_tile(approvals, overview)
    for column, stat in ((median, "median"), (p90, "p90")):
        value, previous = overview.tile(f"cycle_time_{stat}")
        _days_tile(
            column,
            f"Cycle time {stat}, {overview.label_short}",
            (value, previous, overview.previous_short),
            "Days from approval of the time to its invoice posted in the ERP, over time "
            "billed on invoices posted in the period.",
        )


def approvals_tile(column: Any, overview: Overview) -> None:
    """Approved by close of the last period whose close cut-off has passed."""
    closed = overview.approvals
    if closed.is_empty():
        column.metric("Approved before close", "—", help="No period has closed yet.", **TILE)
        return
    last = closed.row(-1, named=True)
    before = closed.row(-2, named=True) if closed.height > 1 else {}
    earlier = before.get("approved_share")
    column.metric(
        f"Approved by close, {last['label_short']}",
        labels.percent(last["approved_share"]),
        delta=labels.points(last["approved_share"], earlier),
        delta_description=_vs(earlier, before.get("label_short", "")),
        help=f"Share of the hours logged in {last['label']} that were approved by "
        f"{labels.day(last['cutoff'])}, the close cut-off {CLOSE_DAYS} days after the period "
        "ended (the last period whose cut-off has passed).",
        **TILE,
    )


def money_tiles(overview: Overview, currency: str) -> None:
    """WIP, DSO, revenue leakage and margin in ``currency``."""
    st.markdown(
        f"##### Money in {labels.text(currency)} — as of {labels.day(overview.filters.as_of)}"
    )
    wip, dso, leakage, margin = st.columns(4)
    wip_tile(wip, overview, currency)
    countback, before = overview.tile("dso_countback", currency)
    _days_tile(
        dso,
        f"DSO (countback) — {currency}",
        (countback, before, overview.previous_end),
        labels.dso_help(overview.dso_now(currency), currency)
        + ("" if overview.filters.honoured_by("customer") else
           " Receivables have no practice: DSO is the whole firm's."),
    )  # fmt: skip
    leaked, hours, entries = overview.leaked(currency)
    leakage.metric(
        f"Revenue leakage — {currency}",
        labels.money_tile(leaked, currency),
        help=f"Exactly {labels.money(leaked, currency)} over "
        f"{labels.count(entries, 'time entry')} ({labels.hours(hours)}) as of "
        f"{labels.day(overview.filters.as_of)}: approved billable time never billed (its month "
        "closed over 15 days ago), billed below its rate, or on closed projects. Time with no "
        "known rate counts in hours only.",
        **TILE,
    )
    margin_tile(margin, overview, currency)


def wip_tile(column: Any, overview: Overview, currency: str) -> None:
    """Unbilled work at the as-of date, against the end of the period before."""
    totals = overview.wip_total(currency)
    now_wip, old_wip = overview.tile("wip", currency)
    column.metric(
        f"WIP, unbilled — {currency}",
        labels.money_tile(now_wip or 0.0, currency),
        delta=labels.money_delta((now_wip or 0.0) - (old_wip or 0.0), currency),
        delta_description=_vs(old_wip, f"{overview.previous_end}"),
        delta_color="inverse",
        help=f"Exactly {labels.money(now_wip or 0.0, currency)} over "
        f"{labels.hours(totals['hours'])}: approved billable work on no invoice as of "
        f"{labels.day(overview.filters.as_of)}; {labels.money(totals['over_60'], currency)} of "
        f"it is older than 60 days. At the end of {overview.previous_label}: "
        f"{labels.money(old_wip or 0.0, currency)}.",
        **TILE,
    )


def margin_tile(column: Any, overview: Overview, currency: str) -> None:
    """The period's margin share, with revenue, labour at cost and expenses in its help."""
    row = overview.margin_row(currency)
    share, before = overview.tile("margin_share", currency)
    column.metric(
        f"Margin, {overview.label_short} — {currency}",
        labels.percent(share),
        delta=labels.points(share, before),
        delta_description=_vs(before, overview.previous_short),
        help=(
            f"Margin {labels.money(row['margin'], currency)}: revenue "
            f"{labels.money(row['revenue'], currency)} (billable value of the work done in "
            f"{overview.label}) less labour at cost {labels.money(row['labour_cost'], currency)}"
            f" and expenses {labels.money(row['expenses'], currency)}."
            if row
            else f"No work in {currency} in {overview.label}."
        ),
        **TILE,
    )
