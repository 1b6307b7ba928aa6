"""Schema migrations (Alembic), run programmatically: ``plan2cash db upgrade`` and tests."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).with_name("migrations")


QUEUE_TABLES = "procrastinate_"  # the work queue's tables (``sync.queue``), made by migration 0007


def ours(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic's ``include_name`` hook: the store's tables are compared with ``tables.py``;
    the queue's tables are procrastinate's (created from its schema SQL) and are not."""
    return not (type_ == "table" and (name or "").startswith(QUEUE_TABLES))


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # configparser interpolates "%": a percent-encoded password or option must be doubled
    url = engine.url.render_as_string(hide_password=False).replace("%", "%%")
    config.set_main_option("sqlalchemy.url", url)
    return config


def upgrade(engine: Engine, revision: str = "heads") -> None:
    """Bring the database behind ``engine`` up to ``revision`` (by default every head)."""
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def current(engine: Engine) -> set[str]:
    """The revisions the database is at (empty when it has never been migrated)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return set(MigrationContext.configure(connection).get_current_heads())


def heads() -> set[str]:
    """The newest revisions the code ships."""
    from alembic.script import ScriptDirectory

    return set(ScriptDirectory(str(MIGRATIONS)).get_heads())
