"""Shared fixtures: stores on SQLite and PostgreSQL, each at the head of the Alembic migrations.

Migrating costs a second or more, so a test process migrates once per dialect and hands every
test a store in the state a fresh migration leaves. SQLite: a copy of a migrated file.
PostgreSQL: one schema per test process (``postgres_schemas``), emptied after each test — every
table holding rows truncated, every sequence restarted — and checked against the migrated
shape; a schema a test changed, locked or left connected to is dropped instead, and the next
test gets a newly migrated one.
"""

from __future__ import annotations

import functools
import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from collectors import http
from sync.settings import Settings
from sync.store.db import make_engine
from sync.store.migrate import upgrade

POSTGRES_URL = os.environ.get(
    "PLAN2CASH_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)

# the vendor emulators, one fixture each, for the emulator and connector tests alike; and the
# order in which ``--dist loadfile`` hands the suite to its workers
pytest_plugins = ["tests.sandbox.emulators", "tests.scheduling"]


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


@functools.cache
def _sqlite_head() -> bytes:
    """The file of a SQLite store migrated to head, made once per test process."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "head.db"
        engine = make_engine(f"sqlite:///{path}")
        upgrade(engine)
        engine.dispose()  # the last connection closing checkpoints the WAL into the file
        if path.with_name("head.db-wal").exists():
            raise RuntimeError("the migrated SQLite store kept a write-ahead log")
        return path.read_bytes()


def migrated_sqlite(path: Path) -> Engine:
    """A SQLite store at ``path`` exactly as ``upgrade`` leaves a new file (a copy of one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_sqlite_head())
    return make_engine(f"sqlite:///{path}")


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Engine]:
    engine = migrated_sqlite(tmp_path / "store.db")
    yield engine
    engine.dispose()


# What a schema is made of, as one digest: a schema with the digest it had when migrated has the
# same tables, columns, defaults, indexes, constraints, triggers, functions, types and revision.
_SHAPE = """
SELECT md5(string_agg(item, E'\\n' ORDER BY item)) FROM (
    SELECT 'rel ' || c.relname || ' ' || c.relkind::text FROM pg_class c
    WHERE c.relnamespace = CAST(:schema AS regnamespace)
  UNION ALL
    SELECT 'col ' || c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
        || ' ' || a.attnotnull::text || ' ' || coalesce(pg_get_expr(d.adbin, d.adrelid), '')
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE c.relnamespace = CAST(:schema AS regnamespace) AND a.attnum > 0 AND NOT a.attisdropped
  UNION ALL
    SELECT 'idx ' || pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c
    ON c.oid = i.indexrelid WHERE c.relnamespace = CAST(:schema AS regnamespace)
  UNION ALL
    SELECT 'con ' || conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint
    WHERE connamespace = CAST(:schema AS regnamespace)
  UNION ALL
    SELECT 'trg ' || t.tgname || ' ' || pg_get_triggerdef(t.oid) FROM pg_trigger t
    JOIN pg_class c ON c.oid = t.tgrelid WHERE c.relnamespace = CAST(:schema AS regnamespace)
  UNION ALL
    SELECT 'fn ' || p.oid::regprocedure::text || ' ' || md5(pg_get_functiondef(p.oid))
    FROM pg_proc p WHERE p.pronamespace = CAST(:schema AS regnamespace)
  UNION ALL
    SELECT 'type ' || t.typname || ' ' || coalesce(string_agg(e.enumlabel, ','
        ORDER BY e.enumsortorder), '') FROM pg_type t LEFT JOIN pg_enum e ON e.enumtypid = t.oid
    WHERE t.typnamespace = CAST(:schema AS regnamespace) GROUP BY t.typname
) AS shape(item)
"""

# Empties a schema: locks every table (so no other transaction is writing), truncates the ones
# holding rows, keeps the migration revision, and puts every sequence back at its start.
_EMPTY = """
DO $$
DECLARE
    t text;
    has_rows boolean;
    full_tables text[] := '{{}}';
    s record;
BEGIN
    FOR t IN SELECT format('%I.%I', schemaname, tablename) FROM pg_tables
             WHERE schemaname = '{schema}' AND tablename <> 'alembic_version' LOOP
        EXECUTE 'LOCK TABLE ' || t || ' IN ACCESS EXCLUSIVE MODE';
        EXECUTE 'SELECT EXISTS (SELECT FROM ' || t || ')' INTO has_rows;
        IF has_rows THEN
            full_tables := full_tables || t;
        END IF;
    END LOOP;
    IF cardinality(full_tables) > 0 THEN
        EXECUTE 'TRUNCATE ' || array_to_string(full_tables, ', ') || ' CASCADE';
    END IF;
    FOR s IN SELECT q.seqrelid::regclass AS seq, q.seqstart FROM pg_sequence q
             JOIN pg_class c ON c.oid = q.seqrelid
             WHERE c.relnamespace = '{schema}'::regnamespace LOOP
        PERFORM setval(s.seq, s.seqstart, false);
    END LOOP;
END
$$
"""


class PostgresSchemas:
    """One migrated schema per test process, handed to one test at a time and emptied after."""

    def __init__(self) -> None:
        self.admin = make_engine(POSTGRES_URL)
        self.schema: str | None = None  # migrated (and empty) when no test holds it
        self.shape = ""
        self.dropped_later: list[str] = []

    def engine(self, schema: str) -> Engine:
        # the application name tells the schema's connections apart from everyone else's
        options = {"options": f"-csearch_path={schema}", "application_name": schema}
        return make_engine(POSTGRES_URL, connect_args=options)

    def take(self) -> str:
        if self.schema is None:
            schema = f"t_{uuid.uuid4().hex[:12]}"
            with self.admin.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            engine = self.engine(schema)
            upgrade(engine)
            engine.dispose()
            with self.admin.connect() as conn:
                self.shape = self._shape(conn, schema)
            self.schema = schema
        return self.schema

    def give_back(self, schema: str) -> None:
        """Empty ``schema`` for the next test; drop it if it is not as migrated or not free."""
        try:
            with self.admin.begin() as conn:
                conn.execute(text("SET LOCAL lock_timeout = '5s'"))
                if self._still_connected(conn, schema):
                    raise LookupError("a connection of the test outlived it")
                conn.execute(text(_EMPTY.format(schema=schema)))
                if self._shape(conn, schema) != self.shape:
                    raise LookupError("the test changed the schema")
        except (DBAPIError, LookupError):
            self.schema = None
            self.dropped_later.append(schema)

    def _still_connected(self, conn: Connection, schema: str) -> bool:
        query = text(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE application_name = :schema AND pid <> pg_backend_pid()"
        )
        return bool(conn.execute(query, {"schema": schema}).scalar())

    def _shape(self, conn: Connection, schema: str) -> str:
        return str(conn.execute(text(_SHAPE), {"schema": schema}).scalar())

    def close(self) -> None:
        leftovers = [*self.dropped_later, *([self.schema] if self.schema else [])]
        with self.admin.begin() as conn:
            for schema in leftovers:
                conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE application_name = :schema"
                    ),
                    {"schema": schema},
                )
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        self.schema, self.dropped_later = None, []
        self.admin.dispose()


@contextmanager
def schema_pool(postgres_ok: bool) -> Iterator[PostgresSchemas]:
    """A pool of schemas, closed on leaving; the test skipped when PostgreSQL is not reachable."""
    if not postgres_ok:
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}")
    schemas = PostgresSchemas()
    try:
        yield schemas
    finally:
        schemas.close()


@pytest.fixture(scope="session")
def postgres_schemas(postgres_ok: bool) -> Iterator[PostgresSchemas]:
    with schema_pool(postgres_ok) as schemas:
        yield schemas


@pytest.fixture
def postgres_store(postgres_schemas: PostgresSchemas) -> Iterator[Engine]:
    """A store in a schema of its own for the test, as a fresh migration leaves it."""
    schema = postgres_schemas.take()
    engine = postgres_schemas.engine(schema)
    try:
        yield engine
    finally:
        engine.dispose()
        postgres_schemas.give_back(schema)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest) -> Engine:
    """The store on each dialect in turn."""
    name = "sqlite_store" if request.param == "sqlite" else "postgres_store"
    return request.getfixturevalue(name)


@pytest.fixture
def spans(monkeypatch: pytest.MonkeyPatch) -> Iterator[InMemorySpanExporter]:
    """The spans of every vendor call made during the test, kept in memory."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(http, "tracer", provider.get_tracer("tests"))
    yield exporter
    provider.shutdown()


def sandbox_environment(box: object) -> dict[str, str]:
    """``PLAN2CASH__<VENDOR>__<URL>`` variables pointing plan2cash at a served sandbox, for the
    vendors plan2cash's settings have a section for (the others would be refused)."""
    connections: dict[str, dict[str, str]] = box.connections()  # type: ignore[attr-defined]
    return {
        f"PLAN2CASH__{vendor.upper()}__{key.upper()}": value
        for vendor, details in connections.items()
        if vendor in Settings.model_fields
        for key, value in details.items()
        if key.endswith("_url")
    }
