"""The migrations on SQLite and PostgreSQL: one line of revisions that makes every table as
``tables.py`` defines it."""

from __future__ import annotations

from sqlalchemy import Engine, inspect

from sync.store.migrate import current, heads, ours
from sync.store.tables import metadata


def test_migrations_create_every_table(store: Engine) -> None:
    assert current(store) == heads()
    assert len(heads()) == 1, "migrations must form one line: set down_revision to the head"
    assert set(metadata.tables) <= set(inspect(store).get_table_names())


def test_migrations_match_the_table_definitions(store: Engine) -> None:
    """A table or column added to ``tables.py`` without a migration fails here (the work
    queue's tables are procrastinate's, made from its schema SQL, and are left out)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with store.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_name": ours})
        diff = compare_metadata(context, metadata)
    assert diff == []
