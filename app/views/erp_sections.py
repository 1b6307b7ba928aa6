"""The ERPs on the Integration health and Billing pages: each ERP as a system of its own.

Health: a tile per ERP (invoices posted, waiting and refused; calls, 429s, errors, last call), a
table per ERP and per set of books (company and legal entity), and a figure of invoices by state
with each ERP's delivery lag. Billing: the value posted and waiting per legal entity and ERP, one
panel per currency, and the same per currency in a table. Every figure is read from
:class:`app.data.ErpReport` (all time: every document the outbox has held).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import streamlit as st

from app import charts, data, labels
from app.views import columns

ERPS = columns.table(
    "erp_name", "posted", "waiting", "refused", "dead", "credit_notes", "lag_p50_seconds",
    "lag_p95_seconds", "oldest_waiting_minutes", "calls", "throttled", "errors", "last_call",
    erp_name=columns.text("ERP"),
    posted=columns.number("Posted", "%d", width="small", help="Invoices the ERP holds."),
    waiting=columns.number(
        "Waiting", "%d", width="small", help="Invoices queued or retrying: sent again on their own."
    ),
    refused=columns.number(
        "Refused", "%d", width="small",
        help="Invoices the ERP refused (or with no books): an exception waits on a person.",
    ),
    dead=columns.number(
        "Dead", "%d", width="small", help="Invoices dead-lettered after too many attempts."
    ),
    credit_notes=columns.number("Credit notes", "%d", width="small", help="Credit notes posted."),
    lag_p50_seconds=columns.number(
        "Lag p50 (s)", "%.1f", help="Delivery lag: from queued in the outbox to held by the ERP."
    ),
    lag_p95_seconds=columns.number("Lag p95 (s)", "%.1f", help="Delivery lag, 95th percentile."),
    oldest_waiting_minutes=columns.number(
        "Oldest waiting (min)", "%.1f", help="Minutes since the oldest waiting item was queued."
    ),
    calls=columns.number("Calls", "%d", width="small"),
    throttled=columns.number("429s", "%d", width="small", help="Calls refused as too many."),
    errors=columns.number("Errors", "%d", width="small", help="Calls that failed."),
    last_call=columns.when("Last good call (UTC)"),
)  # fmt: skip
BOOKS = columns.table(
    "erp_name", "legal_entity", "company", "posted", "waiting", "refused", "dead",
    "credit_notes", "lag_p95_seconds", "oldest_waiting_minutes",
    erp_name=ERPS["erp_name"],
    legal_entity=columns.text("Legal entity"),
    company=columns.text("Company in the ERP", help="Xero tenant, D365 dataAreaId, Fusion "
                         "business unit or NetSuite subsidiary."),
    posted=ERPS["posted"], waiting=ERPS["waiting"], refused=ERPS["refused"], dead=ERPS["dead"],
    credit_notes=ERPS["credit_notes"], lag_p95_seconds=ERPS["lag_p95_seconds"],
    oldest_waiting_minutes=ERPS["oldest_waiting_minutes"],
)  # fmt: skip
VALUES = columns.table(
    "erp_name", "legal_entity", "company", "currency", "posted_invoices", "posted_value",
    "waiting_invoices", "waiting_value", "refused_invoices", "refused_value",
    erp_name=ERPS["erp_name"], legal_entity=BOOKS["legal_entity"], company=BOOKS["company"],
    posted_invoices=columns.number("Posted", "%d", width="small"),
    posted_value=columns.money("Posted value"),
    waiting_invoices=columns.number("Waiting", "%d", width="small"),
    waiting_value=columns.money("Waiting value"),
    refused_invoices=columns.number("Refused", "%d", width="small",
                                    help="Refused or dead-lettered."),
    refused_value=columns.money("Refused value"),
)  # fmt: skip


def _tile(erp: dict[str, Any], now: datetime) -> None:
    refused = erp["refused"] + erp["dead"]
    colour = "red" if refused else "orange" if erp["waiting"] else "green"
    last = labels.ago(erp["last_call"], now) if erp["last_call"] else "never"
    with st.container(border=True):
        st.metric(
            erp["erp_name"],
            f"{erp['posted']:,} posted",
            delta=f"{erp['waiting']:,} waiting · {refused:,} refused",
            delta_color=colour,  # type: ignore[arg-type]
            delta_arrow="off",
            help="Invoices, all time. Posted: the ERP holds them; waiting: queued or retrying; "
            "refused: refused by the ERP, dead-lettered or without books.",
        )
        st.caption(
            f"{labels.count(erp['calls'], 'call')} · {erp['throttled']:,} × 429 · "
            f"{labels.count(erp['errors'], 'error')} · last good call {last}"
        )


def health_section(report: data.ErpReport) -> None:
    """Each ERP: tiles, the per-ERP and per-books tables and the state and lag figure."""
    st.subheader("ERPs")
    if report.erps.is_empty():
        st.caption("No document has been queued for an ERP yet.")
        return
    st.caption(
        "Invoices and credit notes delivered to each ERP through the outbox, and the ERP's "
        "calls; all time, from the store."
    )
    rows = list(report.erps.iter_rows(named=True))
    for column, erp in zip(st.columns(max(4, len(rows))), rows, strict=False):
        with column:
            _tile(erp, report.fetched_at)
    columns.dataframe(report.erps, ERPS, key="erps")
    st.plotly_chart(charts.invoices_by_state(report.erps), key="erp_states")
    st.markdown("**Per company and legal entity**")
    columns.dataframe(report.books, BOOKS, key="erp_books")


def billing_section(report: data.ErpReport) -> None:
    """Invoices and their value per ERP and legal entity, per currency."""
    st.subheader("Invoices per ERP")
    if report.values.is_empty():
        st.caption("No invoice has been queued for an ERP yet.")
        return
    st.caption(
        "Each legal entity's invoices in the ERP and company that keep its books; posted: the "
        "ERP holds them; waiting: queued or retrying. All time, money per currency."
    )
    st.plotly_chart(charts.value_by_entity(report.values), key="erp_values")
    columns.dataframe(report.values, VALUES, key="erp_values_table")
