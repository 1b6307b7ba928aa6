"""One exception in full: its facts, the payload as received (hidden from roles that may not see
payloads), who did what to it and why, and the record's business events."""

from __future__ import annotations

from typing import Any

import polars as pl
import streamlit as st

from app import data, labels, signin
from app.views import columns
from sync.access import Action

HISTORY = columns.table(
    "at", "actor", "action", "reason", "detail",
    at=columns.when("When (UTC)"),
    actor=columns.text("Who"),
    action=columns.text("Action"),
    reason=columns.text("Why"),
    detail=columns.text("Detail"),
)  # fmt: skip
JOURNEY = columns.table(
    "occurred_at", "event", "entity_type", "entity_id", "trace_id",
    event=columns.text("Event"),
    entity_type=columns.text("Entity"),
    entity_id=columns.text("Id"),
)  # fmt: skip


def detail_panel(detail: data.ExceptionDetail) -> None:
    """The exception's facts and payload side by side, then its history and journey."""
    ex = detail.exception
    st.subheader(f"Exception #{ex['id']} · {labels.text(labels.category(ex['category']))}")
    st.markdown(f"**{labels.text(ex['reason'])}**")
    if labels.category_help(ex["category"]):
        st.caption(labels.category_help(ex["category"]))
    facts, payload = st.columns([2, 3], gap="large")
    facts.markdown("\n".join(f"- **{name}:** {value}" for name, value in _facts(ex)))
    with payload:
        st.markdown("**Payload as received** (secrets are removed before it is stored)")
        if not signin.identity().may(Action.VIEW_PAYLOAD):
            st.info(signin.PAYLOAD_HIDDEN, icon=":material/lock:")
        elif detail.payload:
            st.json(detail.payload, expanded=1)
        else:
            st.caption("No payload was stored for this record.")
    history, journey = st.columns(2, gap="large")
    with history:
        _events(
            "**History** — who did what, and why",
            detail.history,
            HISTORY,
            "No one has acted on this exception yet.",
        )
    with journey:
        _events(
            "**Journey** — the record's business events, in time order",
            detail.journey,
            JOURNEY,
            "No business events recorded for this record.",
        )


def _events(title: str, frame: pl.DataFrame, config: dict[str, columns.Config], empty: str) -> None:
    """``frame`` as a table under ``title``, or ``empty`` said when it has no rows."""
    st.markdown(title)
    if frame.is_empty():
        st.caption(empty)
    else:
        st.dataframe(frame, hide_index=True, column_config=config)


def _facts(ex: dict[str, Any]) -> list[tuple[str, object]]:
    """The exception's facts as (name, Markdown-safe value), in the order they are listed."""
    risk = (
        labels.money(ex["value_at_risk"], ex["currency"])
        if ex["value_at_risk"] is not None and ex["currency"]
        else "—"
    )
    entity = labels.code(ex["entity_id"]) if ex["entity_id"] else "—"
    status = ex["status"] + (f" — {ex['notes']}" if ex["notes"] else "")
    seen = f"{ex['first_seen']:%d %b %Y %H:%M} UTC ({labels.days(ex['age_days'])} ago)"
    return [
        ("Status", labels.text(status)),
        ("Category", labels.code(ex["category"])),
        ("Flow / stage", labels.text(f"{ex['flow']} / {ex['stage']}")),
        ("Record", labels.code(ex["record_key"])),
        ("Entity", labels.text(ex["entity_type"] or "—") + " " + entity),
        ("Value at risk", labels.text(risk)),
        ("Attempts", ex["attempts"]),
        ("First seen", seen),
        ("Last seen", f"{ex['last_seen']:%d %b %Y %H:%M} UTC"),
        ("Trace id", labels.code(ex["trace_id"]) if ex["trace_id"] else "—"),
        ("Assignee", labels.text(ex["assignee"] or "nobody yet")),
    ]
