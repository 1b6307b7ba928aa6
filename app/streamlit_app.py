"""The plan2cash dashboard's entrypoint: page setup and navigation, nothing else.

Run with ``streamlit run app/streamlit_app.py`` (``plan2cash demo`` does it for you). Only pages
that exist are registered; each page is a thin script under ``app/app_pages/``.
"""

from __future__ import annotations

import streamlit as st

st.set_page_config(page_title="plan2cash", page_icon=":material/payments:", layout="wide")

navigation = st.navigation(
    {
        "Executive": [
            st.Page(
                "app_pages/executive.py",
                title="Overview",
                icon=":material/monitoring:",
                default=True,
                help="Utilization, WIP, cycle time, DSO, leakage and margin, with drilldown.",
            ),
        ],
        "Finance": [
            st.Page(
                "app_pages/billing.py",
                title="Billing",
                icon=":material/receipt_long:",
                url_path="billing",
            ),
        ],
        "Operations": [
            st.Page(
                "app_pages/exceptions.py",
                title="Exceptions",
                icon=":material/report:",
                url_path="exceptions",  # app.data.EXCEPTIONS_URL: alerts link here
                help="Records that could not flow: triage, replay, resolve.",
            ),
            st.Page(
                "app_pages/health.py",
                title="Integration health",
                icon=":material/monitor_heart:",
                url_path="health",
                help="Flows, vendor calls, sync lag and failed runs.",
            ),
        ],
    }
)
navigation.run()
