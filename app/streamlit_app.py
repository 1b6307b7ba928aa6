"""The plan2cash dashboard's entrypoint: who is here, and the pages their role may see.

Run with ``plan2cash demo`` (or ``streamlit run app/streamlit_app.py`` behind the same options,
see :mod:`app.dashboard`). The pages are built on every run from the signed-in person's role:
someone with no role (anonymous, not granted, or demo mode refused) gets one page with no data
and no navigation; a viewer, operator or admin gets every page, each page enabling the actions
the role allows. Each page is a thin script under ``app/app_pages/``.
"""

from __future__ import annotations

import streamlit as st

from app import signin
from sync.access import Role

st.set_page_config(page_title="plan2cash", page_icon=":material/payments:", layout="wide")

PAGES = {
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
        st.Page(
            "app_pages/alerts.py",
            title="Alerts",
            icon=":material/notifications_active:",
            url_path="alerts",
            help="What fires and why, SLO error budgets, silences and every notification sent.",
        ),
    ],
}

if signin.configuration_refused():
    st.stop()
who = signin.identity()
if signin.demo_refusal() is not None or who.role is Role.NONE:
    closed = st.Page(signin.closed_page, title="plan2cash", default=True)
    st.navigation([closed], position="hidden").run()
else:
    signin.banner(who)
    st.navigation(PAGES).run()
