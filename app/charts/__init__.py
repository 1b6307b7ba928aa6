"""Plotly figures for the dashboard: pure functions from a frame to a figure, no streamlit.

One module per page family (``billing``, ``operations`` for Exceptions and Integration health,
``erps`` for the ERPs on both, ``overview`` for the executive page) over ``layout``, what every
figure shares. Money is never summed across currencies: a money figure shows one currency, or one
panel per currency with its own axis.
"""

from __future__ import annotations

from app.charts.alerts import burn_rate
from app.charts.billing import billing_trend, wip_aging_bars
from app.charts.erps import invoices_by_state, value_by_entity
from app.charts.operations import exceptions_by_category, latency_trend, vendor_latency
from app.charts.overview import (
    LEAKAGE_LABELS,
    STAGE_LABELS,
    cycle_stages,
    dso_trend,
    journey_timeline,
    leakage_by_kind,
    utilization_by_group,
    utilization_trend,
    wip_by_bucket,
)

__all__ = [
    "LEAKAGE_LABELS",
    "STAGE_LABELS",
    "billing_trend",
    "burn_rate",
    "cycle_stages",
    "dso_trend",
    "exceptions_by_category",
    "invoices_by_state",
    "journey_timeline",
    "latency_trend",
    "leakage_by_kind",
    "utilization_by_group",
    "utilization_trend",
    "value_by_entity",
    "vendor_latency",
    "wip_aging_bars",
    "wip_by_bucket",
]
