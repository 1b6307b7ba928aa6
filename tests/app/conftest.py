"""Dashboard fixtures: a store URL in the environment; streamlit caches emptied around tests."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import streamlit as st

from sync.store.db import make_engine
from sync.store.migrate import upgrade
from tests.app.seed import seed

APP = Path(__file__).resolve().parents[2] / "app" / "streamlit_app.py"


def _clear_caches() -> None:
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture
def store_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An empty SQLite store the dashboard reads through ``PLAN2CASH__DATABASE_URL``."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    monkeypatch.setenv("PLAN2CASH__DATABASE_URL", url)
    monkeypatch.setenv("PLAN2CASH_CONFIG", str(tmp_path / "absent.toml"))
    _clear_caches()
    yield url
    _clear_caches()


@pytest.fixture
def seeded_url(store_url: str) -> str:
    """The same store with the hand-countable rows of :mod:`tests.app.seed`."""
    engine = make_engine(store_url)
    upgrade(engine)
    seed(engine, datetime.now(UTC).date())
    engine.dispose()
    return store_url
