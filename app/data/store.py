"""The dashboard's store: the settings and the process-wide engine (which migrates an empty
store so that pages render on a fresh clone), forgetting cached results, and running a query of
:mod:`app.queries` into its polars frame."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

import polars as pl
import streamlit as st
from sqlalchemy import Engine, Executable

from app import queries
from collectors.redaction import install_log_redaction
from sync.settings import Settings, load_settings
from sync.store import (
    make_engine,
    read_frame,
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


def read_query(query: queries.Query) -> pl.DataFrame:
    """Run the query into its schema (``sync.store.read_frame``: Decimal money as floats)."""
    with engine().connect() as connection:
        return read_frame(connection, query.statement, query.schema)


def count_rows(statement: Executable) -> int:
    with engine().connect() as connection:
        return int(connection.scalar(statement) or 0)


def plain(value: Any) -> Any:
    return float(value) if isinstance(value, Decimal) else value
