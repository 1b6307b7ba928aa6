"""Dashboard fixtures: a store URL in the environment; streamlit caches emptied around tests;
the dashboard served as the launcher serves it (on loopback), with error details kept for the
test's own messages; the seeded store, with the operations rows or without; ``[auth]`` roles
for the sign-in tests."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import streamlit as st
from sqlalchemy import Engine
from streamlit import config
from streamlit.testing.v1 import AppTest

from sync.store.db import make_engine
from sync.store.migrate import upgrade
from tests.app.seed import seed, seed_operations

APP = Path(__file__).resolve().parents[2] / "app" / "streamlit_app.py"


AUTH_TOML = """
[auth]
mode = "{mode}"
[auth.roles]
"viewer@firm.example" = "viewer"
"operator@firm.example" = "operator"
"admin@firm.example" = "admin"
"group:finance-ops" = "operator"
"""


def run_page(
    path: Path, user: dict[str, Any] | None = None, query: dict[str, Any] | None = None
) -> AppTest:
    """The page at ``path`` run once, as ``user`` (None: no one signed in) with ``query`` in the
    address; it raised nothing."""
    at = AppTest.from_file(str(path), default_timeout=60)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    if user is not None:
        at.user = user
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def shown(markdown: str) -> str:
    """Markdown source as a reader sees it: backslash escapes and word joiners removed."""
    return re.sub(r"\\(.)", r"\1", markdown).replace("\u2060", "")


@pytest.fixture(autouse=True, scope="session")
def served_on_loopback() -> None:
    """As :mod:`app.dashboard` serves it: bound to loopback. Error details stay on under test
    (the config file turns them off for browsers) so that a failing page says why."""
    config.set_option("server.address", "127.0.0.1")
    config.set_option("client.showErrorDetails", "full")


def _clear_caches() -> None:
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture
def store_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An empty SQLite store the dashboard reads through ``PLAN2CASH__DATABASE_URL``."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    monkeypatch.setenv("PLAN2CASH__DATABASE_URL", url)
    (tmp_path / "empty.toml").touch()  # no plan2cash.toml of the working directory
    monkeypatch.setenv("PLAN2CASH_CONFIG", str(tmp_path / "empty.toml"))
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


@pytest.fixture
def operations(seeded_url: str) -> Iterator[tuple[Engine, dict[str, int]]]:
    """The seeded store plus :func:`tests.app.seed.seed_operations`: its engine, and the
    exception ids by record key."""
    engine = make_engine(seeded_url)
    ids = seed_operations(engine, datetime.now(UTC))
    yield engine, ids
    engine.dispose()


@pytest.fixture
def oidc_roles(store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """``[auth] mode = "oidc"`` with the roles of :data:`AUTH_TOML`."""
    yield from _with_auth(tmp_path, monkeypatch, "oidc")


@pytest.fixture
def header_roles(store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """``[auth] mode = "header"`` with the roles of :data:`AUTH_TOML`."""
    yield from _with_auth(tmp_path, monkeypatch, "header")


def _with_auth(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str) -> Iterator[str]:
    path = tmp_path / "plan2cash.toml"
    path.write_text(AUTH_TOML.format(mode=mode))
    monkeypatch.setenv("PLAN2CASH_CONFIG", str(path))
    _clear_caches()
    yield mode
    _clear_caches()
