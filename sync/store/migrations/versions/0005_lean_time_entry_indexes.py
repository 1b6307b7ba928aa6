"""time entries keep only the indexes their queries read

The backfill writes every time entry, and each index costs each insert: the project and
resource indexes had no query of their own (entries are read by day, then narrowed), and led
SQLite's planner to read a person's whole history for a page of new days. ``deleted_at`` is
indexed only where set.
"""

from __future__ import annotations

from sync.store.migrations.ddl import Index, indexed

revision = '0005'
down_revision = '0004'

TABLE = 'time_entries'
UNREAD = tuple(indexed(TABLE, column) for column in ('project_id', 'resource_id', 'deleted_at'))
DELETED = Index('ix_time_entries_deleted', ('deleted_at',), where='deleted_at IS NOT NULL')


def upgrade() -> None:
    for index in UNREAD:
        index.drop(TABLE)
    DELETED.create(TABLE)


def downgrade() -> None:
    DELETED.drop(TABLE)
    for index in reversed(UNREAD):
        index.create(TABLE)
