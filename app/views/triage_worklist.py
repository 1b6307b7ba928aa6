"""The Exceptions worklist: the filters (bound to the URL, so that an alert links straight to
``?category=negative_hours&status=open``) and the table one exception is selected from.

Changing a filter clears the selection: a selected row always belongs to the listing shown.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from app import data, labels
from app.views import columns
from sync.store import OPEN_STATUSES, ExceptionStatus

STATUSES = tuple(status.value for status in ExceptionStatus)
AGES: dict[str, float | None] = {  # the words are the URL values (?age=over+7+days)
    "any age": None,
    "over 1 day": 1.0,
    "over 7 days": 7.0,
    "over 30 days": 30.0,
}
TABLE = "exception_table"
NO_SELECTION: dict[str, Any] = {"selection": {"rows": [], "columns": [], "cells": []}}
COLUMNS = columns.table(
    "id", "status", "category", "reason", "value_at_risk", "currency", "age_days", "assignee",
    "attempts", "flow", "record_key",
    status=columns.text("Status", width="small"),
    flow=columns.text("Flow", width="small"),
    reason=columns.text("Reason", width="large"),
    age_days=columns.number("Age (days)", "%.1f", help="Days since first seen.", width="small"),
    attempts=columns.number("Attempts", "%d", width="small"),
    assignee=columns.text("Assignee"),
)  # fmt: skip


def clear_selection() -> None:
    """Forget the selected row (before the table renders again)."""
    st.session_state[TABLE] = NO_SELECTION


def filters() -> data.ExceptionFilter:
    """Status, flow, category and age, each kept in the URL's query parameters."""
    flows, categories = data.exception_choices()
    status_col, flow_col, category_col, age_col = st.columns([3, 2, 3, 2])
    bound: dict[str, Any] = {"bind": "query-params", "on_change": clear_selection}
    statuses = status_col.multiselect(
        "Status",
        STATUSES,
        default=[status.value for status in OPEN_STATUSES],
        placeholder="Any status",
        key="status",
        **bound,
    )
    flow = flow_col.selectbox(
        "Flow", flows, index=None, placeholder="All flows", key="flow", **bound
    )
    category = category_col.selectbox(
        "Category",
        categories,
        index=None,
        placeholder="All categories",
        help="The names alerts use; the chart above shows what each means.",
        key="category",
        **bound,
    )
    age = age_col.selectbox("Age (since first seen)", list(AGES), key="age", **bound)
    return data.ExceptionFilter(
        flow=flow,
        category=category,
        statuses=tuple(ExceptionStatus(s) for s in statuses),
        older_than_days=AGES[age or "any age"],
    )


def exception_table(listing: data.ExceptionList) -> int | None:
    """The worklist; returns the id of the selected exception, if any."""
    shown = listing.rows.height
    st.caption(
        f"{labels.count(listing.matching, 'exception')} match the filter"
        + (f"; the first {shown:,} are listed." if shown < listing.matching else ".")
        + " Select one to see its details and act on it."
    )
    if listing.rows.is_empty():
        return None
    event = columns.dataframe(
        listing.rows, COLUMNS, key=TABLE, on_select="rerun", selection_mode="single-row"
    )
    rows = event.selection.rows
    if not rows or rows[0] >= shown:
        return None
    return int(listing.rows["id"][rows[0]])
