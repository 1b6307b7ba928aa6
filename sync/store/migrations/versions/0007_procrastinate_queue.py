"""the work queue is procrastinate's: its schema on PostgreSQL; ``work_items`` is gone

On PostgreSQL this applies the schema SQL shipped with the installed procrastinate (its tables,
types and functions, all named ``procrastinate_*``) in the store's schema, so flow runs are
procrastinate jobs (``sync.queue``). On SQLite there is no queue (one process runs every flow),
so only ``work_items`` is dropped there.

A later procrastinate release that changes its schema comes with a migration of ours that applies
procrastinate's delta files for that release (``procrastinate/sql/migrations``).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-10 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from sync.store import tables

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

ACTIVE_WORK_ITEM = "status IN ('queued', 'running')"


def upgrade() -> None:
    op.drop_table('work_items')  # its indexes go with it
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        from procrastinate.schema import SchemaManager

        # psycopg runs a parameterless script as it is (several statements, ``%`` literal)
        bind.connection.dbapi_connection.execute(SchemaManager.get_schema())  # type: ignore[union-attr]


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        _drop_procrastinate(bind)
    op.create_table(
        'work_items',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('flow', sa.String(length=64), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('enqueued_at', tables.UtcDateTime(timezone=True), nullable=False),
        sa.Column('claimed_at', tables.UtcDateTime(timezone=True), nullable=True),
        sa.Column('claimed_by', sa.String(length=128), nullable=True),
        sa.Column('lease_until', tables.UtcDateTime(timezone=True), nullable=True),
        sa.Column('finished_at', tables.UtcDateTime(timezone=True), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('error', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_work_items')),
    )
    with op.batch_alter_table('work_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_work_items_status'), ['status'], unique=False)
        batch_op.create_index(
            'uq_work_items_active_flow',
            ['flow'],
            unique=True,
            sqlite_where=sa.text(ACTIVE_WORK_ITEM),
            postgresql_where=sa.text(ACTIVE_WORK_ITEM),
        )


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
