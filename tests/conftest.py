"""Shared fixtures: stores on SQLite and PostgreSQL, each migrated with Alembic."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from sync.store.db import make_engine
from sync.store.migrate import upgrade

POSTGRES_URL = os.environ.get(
    "PLAN2CASH_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _postgres_available() -> bool:
    try:
        probe = make_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        with probe.connect():
            pass
        probe.dispose()
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def postgres_ok() -> bool:
    available = _postgres_available()
    if not available and os.environ.get("CI"):
        pytest.fail(f"PostgreSQL at {POSTGRES_URL} is required in CI and is not reachable")
    return available


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def postgres_store(postgres_ok: bool) -> Iterator[Engine]:
    if not postgres_ok:
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"})
    upgrade(engine)
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest) -> Engine:
    """The store on each dialect in turn."""
    name = "sqlite_store" if request.param == "sqlite" else "postgres_store"
    return request.getfixturevalue(name)


def sandbox_environment(box: object) -> dict[str, str]:
    """``PLAN2CASH__<VENDOR>__<URL>`` variables pointing plan2cash at a served sandbox."""
    connections: dict[str, dict[str, str]] = box.connections()  # type: ignore[attr-defined]
    return {
        f"PLAN2CASH__{vendor.upper()}__{key.upper()}": value
        for vendor, details in connections.items()
        for key, value in details.items()
        if key.endswith("_url")
    }
