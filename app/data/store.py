"""The dashboard's store: the settings and the process-wide engine (which migrates an empty
store so that pages render on a fresh clone) and forgetting cached results."""

from __future__ import annotations

import logging

import streamlit as st

from collectors.redaction import install_log_redaction
from sync.settings import Settings, load_settings
from sync.store import (
    Engine,
    make_engine,
    upgrade,
)

TTL_SECONDS = 30
EXCEPTIONS_URL = "exceptions"  # the Exceptions page's url_path, for links from other pages


@st.cache_resource(show_spinner=False)
def settings() -> Settings:
    """The configuration the dashboard runs on (read once per process)."""
    return load_settings()


@st.cache_resource(show_spinner=False)
def engine() -> Engine:
    """The store's engine, migrated to the latest schema (an empty store renders too); the
    dashboard's logs are redacted from here on, as the engine's are."""
    for logger in (logging.getLogger(), logging.getLogger("streamlit")):
        install_log_redaction(logger)
    store = make_engine(settings().database_url)
    upgrade(store)
    return store


def store_label() -> str:
    """Where the data comes from, with any password hidden."""
    return engine().url.render_as_string(hide_password=True)


def refresh() -> None:
    """Forget cached query results (the engine stays)."""
    st.cache_data.clear()
