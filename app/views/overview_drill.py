"""Drilling down on the Overview: from a chart's bar to the records behind it, and from a record
to its journey from approval to cash.

A chart's click writes the bar's value into the drill box under it (a select box, so that the
same value can also be picked by hand); the page lists that value's records, and selecting one
shows its journey.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import polars as pl
import streamlit as st

from app import charts, data, kpi_frames, labels
from app.views import columns

JOURNEY = columns.table(
    "occurred_at", "event", "wait", "entity_id",
    event=columns.text("Milestone"),
    wait=columns.text("Waited", help="Since the previous milestone"),
    entity_id=columns.text("Record"),
)  # fmt: skip


def drill_box(label: str, options: list[str], key: str, format_func: Any = str) -> str | None:
    """The value a chart bar selects (clicked, or picked here); the chart's click writes it."""
    if st.session_state.get(key) not in options:
        st.session_state.pop(key, None)
    return st.selectbox(
        label, options, index=None, key=key, placeholder="Click a bar, or pick one…",
        format_func=format_func,
    )  # fmt: skip


def on_click(chart_key: str, box_key: str) -> Callable[[], None]:
    """A plotly ``on_select`` callback that copies the clicked bar's value into the drill box."""

    def copy() -> None:
        state = st.session_state.get(chart_key)
        points = state["selection"]["points"] if state else []
        if points:
            value = points[0].get("customdata")
            st.session_state[box_key] = value[0] if isinstance(value, list) else value

    return copy


def chart(figure: Any, chart_key: str, box_key: str) -> None:
    """A clickable chart whose click fills the drill box ``box_key``."""
    st.plotly_chart(
        figure, key=chart_key, on_select=on_click(chart_key, box_key), selection_mode="points"
    )


def records(frame: pl.DataFrame, key: str, config: dict[str, Any]) -> None:
    """The records behind a figure (``metrics.drill`` rows); selecting one shows its journey."""
    if frame.is_empty():
        st.caption("No records behind this figure.")
        return
    st.caption(f"{labels.count(frame.height, 'record')} — select one to see its journey.")
    event = columns.dataframe(
        frame, config, key=key, on_select="rerun", selection_mode="single-row"
    )
    rows = event.selection.rows
    if rows:
        row = frame.row(rows[0], named=True)
        journey(row["entity_type"], row["entity_id"])


def journey(entity_type: str, entity_id: str) -> None:
    """A record's milestones on a time line, and how long each waited for the one before."""
    steps = data.record_journey(entity_type, entity_id)
    kind = entity_type.replace("_", " ")
    st.markdown(
        f"**Journey of {labels.text(kind)} {labels.code(entity_id)}** — from approval to cash"
    )
    if steps.is_empty():
        st.caption("No business events recorded for this record yet.")
        return
    timeline, table = st.columns(2, gap="large")
    timeline.plotly_chart(charts.journey_timeline(steps), key=f"journey_{entity_id}")
    with table:
        columns.dataframe(kpi_frames.with_waits(steps, labels.days), JOURNEY)
