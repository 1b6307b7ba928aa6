"""time entries keep only the indexes their queries read

The backfill writes every time entry, and each index costs each insert: the project and
resource indexes had no query of their own (entries are read by day, then narrowed), and led
SQLite's planner to read a person's whole history for a page of new days. ``deleted_at`` is
indexed only where set.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 21:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

DELETED = 'deleted_at IS NOT NULL'


def upgrade() -> None:
    with op.batch_alter_table('time_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_time_entries_project_id')
        batch_op.drop_index('ix_time_entries_resource_id')
        batch_op.drop_index('ix_time_entries_deleted_at')
        batch_op.create_index(
            'ix_time_entries_deleted',
            ['deleted_at'],
            unique=False,
            sqlite_where=sa.text(DELETED),
            postgresql_where=sa.text(DELETED),
        )


def downgrade() -> None:
    with op.batch_alter_table('time_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_time_entries_deleted')
        batch_op.create_index('ix_time_entries_deleted_at', ['deleted_at'], unique=False)
        batch_op.create_index('ix_time_entries_resource_id', ['resource_id'], unique=False)
        batch_op.create_index('ix_time_entries_project_id', ['project_id'], unique=False)
