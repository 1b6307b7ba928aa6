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
