"""The shared store fixtures (``tests/conftest.py``) hand each test a store as a fresh migration
leaves it, although a test process migrates once per dialect."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, inspect, select, text

from sync.store.db import make_engine, session_factory, transaction
from sync.store.migrate import current, heads, upgrade
from sync.store.tables import SyncRunRow
from sync.store.vocabulary import RunStatus
from tests.conftest import POSTGRES_URL, PostgresSchemas, migrated_sqlite, schema_pool


def record_runs(engine: Engine, n: int) -> list[int]:
    """Records ``n`` runs and returns the ids the store gave them."""
    with transaction(session_factory(engine)) as session:
        rows = [
            SyncRunRow(flow="reconcile", started_at=datetime.now(UTC), status=RunStatus.SUCCEEDED)
            for _ in range(n)
        ]
        session.add_all(rows)
        session.flush()
        return [row.id for row in rows]


def runs(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(SyncRunRow)) or 0)


def sqlite_schema(engine: Engine) -> set[tuple[str, str]]:
    with engine.connect() as conn:
        return {(r.name, r.sql) for r in conn.execute(text("SELECT name, sql FROM sqlite_master"))}


def test_a_copied_sqlite_store_is_what_a_migration_makes(tmp_path: Path) -> None:
    fresh = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    upgrade(fresh)
    first = migrated_sqlite(tmp_path / "a.db")
    second = migrated_sqlite(tmp_path / "new" / "b.db")  # its folder made as make_engine does
    assert sqlite_schema(first) == sqlite_schema(fresh) and current(first) == heads()
    assert record_runs(first, 2) == [1, 2]
    assert runs(second) == 0 and record_runs(second, 1) == [1]  # copies share nothing
    for engine in (fresh, first, second):
        engine.dispose()


@pytest.fixture
def schemas(postgres_ok: bool) -> Iterator[PostgresSchemas]:
    """A pool of its own for each test, unlike the process-wide ``postgres_schemas``."""
    with schema_pool(postgres_ok) as pool:
        yield pool


def schema_exists(name: str) -> bool:
    admin = make_engine(POSTGRES_URL)
    with admin.connect() as conn:
        found = conn.scalar(text("SELECT 1 FROM pg_namespace WHERE nspname = :n"), {"n": name})
    admin.dispose()
    return found is not None


def test_a_schema_handed_back_is_emptied_with_its_sequences_restarted(
    schemas: PostgresSchemas,
) -> None:
    name = schemas.take()
    engine = schemas.engine(name)
    assert record_runs(engine, 3) == [1, 2, 3]
    engine.dispose()
    schemas.give_back(name)
    assert schemas.take() == name  # migrated once, reused
    engine = schemas.engine(name)
    assert runs(engine) == 0 and current(engine) == heads()
    assert record_runs(engine, 1) == [1]
    engine.dispose()
    schemas.give_back(name)


def test_a_schema_a_test_changed_is_dropped_and_the_next_migrated_anew(
    schemas: PostgresSchemas,
) -> None:
    name = schemas.take()
    engine = schemas.engine(name)
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE sync_runs ADD COLUMN extra integer"))
    engine.dispose()
    schemas.give_back(name)
    other = schemas.take()
    assert other != name
    engine = schemas.engine(other)
    assert "extra" not in {c["name"] for c in inspect(engine).get_columns("sync_runs")}
    engine.dispose()
    schemas.close()
    assert not schema_exists(name) and not schema_exists(other)


def test_a_schema_a_test_left_connected_to_is_not_reused(schemas: PostgresSchemas) -> None:
    name = schemas.take()
    engine = schemas.engine(name)
    leaked = engine.connect()  # never closed by the "test"
    leaked.execute(text("SELECT 1"))
    schemas.give_back(name)
    assert schemas.take() != name
    leaked.close()
    engine.dispose()
