"""Streamlit building blocks of the dashboard pages: shared column configs and page header, and
the parts of a page too large to sit in its script (the triage worklist, detail and actions; the
Overview's tiles and drilldown).

Nothing here is a page: ``st.navigation`` registers only the scripts ``app/streamlit_app.py``
names under ``app/app_pages/``. Like the pages, these modules read through :mod:`app.data` only.
"""
