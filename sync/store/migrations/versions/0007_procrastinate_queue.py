"""the work queue is procrastinate's: its schema on PostgreSQL; ``work_items`` is gone

On PostgreSQL this applies the schema SQL shipped with the installed procrastinate (its tables,
types and functions, all named ``procrastinate_*``) in the store's schema, so flow runs are
procrastinate jobs (``sync.queue``). On SQLite there is no queue (one process runs every flow),
so only ``work_items`` is dropped there.

A later procrastinate release that changes its schema comes with a migration of ours that applies
procrastinate's delta files for that release (``procrastinate/sql/migrations``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from sync.store.migrations.ddl import WORK_ITEMS

revision = '0007'
down_revision = '0006'


def upgrade() -> None:
    WORK_ITEMS.drop()
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        from procrastinate.schema import SchemaManager

        # psycopg runs a parameterless script as it is (several statements, ``%`` literal)
        bind.connection.dbapi_connection.execute(SchemaManager.get_schema())  # type: ignore[union-attr]


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        _drop_procrastinate(bind)
    WORK_ITEMS.create()


def _drop_procrastinate(bind: sa.Connection) -> None:
    """Drop procrastinate's tables, functions and types from the store's schema."""
    for table in ('events', 'periodic_defers', 'jobs', 'workers'):
        op.execute(f'DROP TABLE IF EXISTS procrastinate_{table} CASCADE')
    functions = bind.execute(
        sa.text(
            "SELECT p.oid::regprocedure::text FROM pg_proc p "
            "WHERE p.pronamespace = current_schema()::regnamespace "
            "AND p.proname LIKE 'procrastinate\\_%'"
        )
    ).scalars()
    for signature in list(functions):
        op.execute(f'DROP FUNCTION IF EXISTS {signature} CASCADE')
    for kind in ('job_to_defer_v1', 'job_event_type', 'job_status'):
        op.execute(f'DROP TYPE IF EXISTS procrastinate_{kind} CASCADE')
