"""A seeded firm with its rollups built, changed and refreshed: the store the report and
drilldown tests read (on SQLite and PostgreSQL).

``seeded`` is made once per module and dialect and shared by the tests that only read it; it is
checked when the module ends to hold the rows it held when made. A test that writes takes
``writable_seeded``, the same firm in a store of its own.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, func, select

from sync.flows import rollups
from sync.store.db import session_factory, transaction
from sync.store.tables import Base
from tests.conftest import migrated_sqlite, schema_pool
from tests.metrics.seeded import TODAY, change, seed


def seeded_firm(store: Engine) -> Engine:
    """``store`` with the firm of seed 11, its rollups built, changed and refreshed."""
    firm = seed(store, 11)
    with transaction(session_factory(store)) as session:
        rollups.refresh(session, today=TODAY)
    change(firm, 25)
    with transaction(session_factory(store)) as session:
        rollups.refresh(session, today=TODAY)
    return store


def row_counts(store: Engine) -> dict[str, int]:
    with store.connect() as connection:
        return {
            name: connection.scalar(select(func.count()).select_from(table)) or 0
            for name, table in Base.metadata.tables.items()
        }


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def seeded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, postgres_ok: bool
) -> Iterator[Engine]:
    """The seeded firm on each dialect, shared by the module's tests that only read it."""
    if request.param == "sqlite":
        store = seeded_firm(migrated_sqlite(tmp_path_factory.mktemp("seeded") / "store.db"))
        yield from _shared(store)
        return
    with schema_pool(postgres_ok) as schemas:
        yield from _shared(seeded_firm(schemas.engine(schemas.take())))


def _shared(store: Engine) -> Iterator[Engine]:
    made = row_counts(store)
    try:
        yield store
        assert row_counts(store) == made, "a test wrote to the shared seeded store"
    finally:
        store.dispose()


@pytest.fixture
def writable_seeded(store: Engine) -> Engine:
    """The seeded firm in the test's own store, on each dialect."""
    return seeded_firm(store)
