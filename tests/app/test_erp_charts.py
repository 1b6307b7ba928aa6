"""The ERPs' figures (``app.charts.erps``): what each trace and panel shows."""

from __future__ import annotations

import polars as pl

from app import charts

ERPS = pl.DataFrame(
    {
        "erp": ["dynamics365", "xero"],
        "erp_name": ["Dynamics 365 Finance", "Xero"],
        "posted": [3, 1],
        "waiting": [1, 0],
        "refused": [0, 2],
        "dead": [0, 0],
        "lag_p50_seconds": [4.0, 1.0],
        "lag_p95_seconds": [30.0, None],
    }
)
VALUES = pl.DataFrame(
    {
        "erp": ["dynamics365", "oracle_fusion", "netsuite"],
        "erp_name": ["Dynamics 365 Finance", "Oracle Fusion", "NetSuite"],
        "legal_entity": ["Firm UK Ltd", "Firm GmbH", "Firm <B.V.>"],
        "company": ["gb01", "BU DE", "1"],
        "currency": ["GBP", "EUR", "EUR"],
        "posted_invoices": [3, 1, 0],
        "posted_value": [175.0, 70.0, 0.0],
        "waiting_invoices": [1, 0, 2],
        "waiting_value": [10.0, 0.0, 40.0],
    }
)


def test_invoices_by_state_stacks_the_states_and_dots_the_lag() -> None:
    fig = charts.invoices_by_state(ERPS)
    bars = {t.name: list(t.x) for t in fig.data if t.type == "bar"}
    assert bars == {"Posted": [3, 1], "Waiting": [1, 0], "Refused": [0, 2], "Dead-lettered": [0, 0]}
    dots = {t.name: list(t.x) for t in fig.data if t.type == "scatter"}
    assert dots == {"lag p50": [4.0, 1.0], "lag p95": [30.0, None]}
    assert all(list(t.y) == ["Dynamics 365 Finance", "Xero"] for t in fig.data)


def test_value_by_entity_has_one_panel_per_currency_and_one_colour_per_erp() -> None:
    fig = charts.value_by_entity(VALUES)
    titles = [a.text for a in fig.layout.annotations]
    assert titles == ["Invoice value — EUR", "Invoice value — GBP"]
    assert fig.layout.xaxis.tickprefix == "€" and fig.layout.xaxis2.tickprefix == "£"
    posted = {t.y[0]: (t.x[0], t.marker.color) for t in fig.data if t.marker.opacity == 1.0}
    assert posted["Firm UK Ltd · Dynamics 365 Finance"][0] == 175.0
    assert "Firm &lt;B.V.&gt; · NetSuite" in posted  # store text is escaped for plotly
    assert len({colour for _, colour in posted.values()}) == 3
    legend = [t.name for t in fig.data if t.showlegend]
    assert sorted(legend) == ["Dynamics 365 Finance", "NetSuite", "Oracle Fusion"]
