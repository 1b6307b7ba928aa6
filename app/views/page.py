"""What every dashboard page opens with: its title, and a Refresh button that forgets the cache."""

from __future__ import annotations

import streamlit as st

from app import data


def header(title: str) -> None:
    """The page's title, with Refresh on the right (it drops every cached result)."""
    left, right = st.columns([6, 1], vertical_alignment="bottom")
    left.title(title)
    if right.button("Refresh", icon=":material/refresh:", width="stretch"):
        data.refresh()


def empty_store(headline: str, sync_brings: str) -> None:
    """The notice a page shows instead of its figures while the store has nothing for it:
    ``headline`` says what is missing, ``sync_brings`` what ``plan2cash sync --once`` does."""
    st.info(
        f"{headline}\n\nRun `plan2cash sync --once` to {sync_brings}, or `make demo` to start "
        "the sandbox firm, the sync engine and this dashboard together. Then press **Refresh**.",
        icon=":material/hourglass_empty:",
    )
