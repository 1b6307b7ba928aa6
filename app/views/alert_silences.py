"""Silencing from the Alerts page: a silence made from a selected alert (its matchers prefilled),
or from matchers typed in, for a chosen time with a reason; and a silence expired.

Both need the operator role: a role below it sees the controls disabled and the role needed. The
engine checks the role again and audits who and why (:mod:`alerts.silences`).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import streamlit as st

import alerts
from app import data, labels, signin
from sync.access import Action, Forbidden

LENGTHS = {
    "1 hour": timedelta(hours=1),
    "2 hours": timedelta(hours=2),
    "4 hours": timedelta(hours=4),
    "1 day": timedelta(days=1),
    "1 week": timedelta(days=7),
}
OUTCOME = "alerts_outcome"


def silence_form(selected: dict[str, Any] | None) -> None:
    """Matchers (prefilled from ``selected``, an alert row), duration and reason → a silence."""
    who = signin.identity()
    blocked = signin.needs(who, Action.SILENCE)
    prefill = "\n".join(selected["matchers"]) if selected else ""
    if selected:
        st.caption(f"From the selected alert **{labels.text(selected['rule'])}** "
                   f"({labels.text(selected['labels']) or 'no slice'}).")  # fmt: skip
    else:
        st.caption("Select an alert above to prefill its matchers, or write your own.")
    matchers = st.text_area(
        'Matchers (one per line: name="value", !=, =~ or !~)',
        value=prefill,
        key=f"silence_matchers_{selected['fingerprint'] if selected else 'none'}",
        height=110,
        disabled=blocked is not None,
    )
    length = st.selectbox("For", list(LENGTHS), index=1, key="silence_for",
                          disabled=blocked is not None)  # fmt: skip
    comment = st.text_input("Reason (required, kept in the audit log)", key="silence_comment",
                            placeholder="e.g. Xero maintenance until 14:00; posts retry after",
                            disabled=blocked is not None)  # fmt: skip
    if blocked is not None:
        st.caption(f":material/lock: {blocked}")
    if not st.button("Silence", key="silence_add", type="primary",
                     disabled=blocked is not None, help=blocked):  # fmt: skip
        return
    lines = [line.strip() for line in matchers.splitlines() if line.strip()]
    try:
        made = data.add_silence(lines, LENGTHS[length or "2 hours"], comment, actor=who)
    except (alerts.SilenceError, alerts.MatcherError, Forbidden) as exc:
        st.error(labels.text(exc), icon=":material/block:")
        return
    _done(f"Silence {made.id} in force until {made.ends_at:%d %b %Y %H:%M} UTC.")


def expire_form(silences: Any) -> None:
    """Pick a silence in force and end it now."""
    who = signin.identity()
    blocked = signin.needs(who, Action.SILENCE)
    ids = silences["id"].to_list()
    shown = {
        row["id"]: f"{row['id'][:8]} — {row['matchers']} (until {row['ends_at']:%d %b %H:%M} UTC)"
        for row in silences.iter_rows(named=True)
    }
    chosen = st.selectbox("Silence to expire", ids, format_func=lambda i: shown[i],
                          key="silence_expire_id", disabled=blocked is not None)  # fmt: skip
    if blocked is not None:
        st.caption(f":material/lock: {blocked}")
    if not st.button("Expire", key="silence_expire", disabled=blocked is not None or not chosen,
                     help=blocked):  # fmt: skip
        return
    try:
        data.expire_silence(str(chosen), actor=who)
    except (alerts.SilenceError, Forbidden) as exc:
        st.error(labels.text(exc), icon=":material/block:")
        return
    _done(f"Silence {chosen} expired.")


def _done(message: str) -> None:
    st.session_state[OUTCOME] = message
    st.session_state.pop("silence_comment", None)
    st.rerun()


def show_outcome() -> None:
    """What the last silencing did, shown once."""
    message = st.session_state.pop(OUTCOME, None)
    if message:
        st.success(message, icon=":material/notifications_off:")
