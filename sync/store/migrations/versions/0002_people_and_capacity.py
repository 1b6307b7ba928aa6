"""people and capacity"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from sync.store.migrations.ddl import Table, date, numeric, string, utc

revision = '0002'
down_revision = '0001'

TABLES = (
    Table(
        'holidays',
        (
            string('id', 96),
            string('region', 64, nullable=True),
            date('day'),
            string('name', 128),
            string('source', 32),
            utc('updated_at'),
        ),
        indexed=('day',),
    ),
    Table(
        'time_off',
        (
            string('id', 96),
            string('request_id', 64),
            string('resource_id', 64),
            date('day'),
            numeric('hours'),
            string('kind', 64, nullable=True),
            string('status', 16),
            string('source', 32),
            utc('updated_at'),
        ),
        indexed=('day', 'request_id', 'resource_id'),
    ),
)
EMPLOYMENT = ('hire_date', 'termination_date')


def upgrade() -> None:
    for table in TABLES:
        table.create()
    with op.batch_alter_table('resources', schema=None) as batch_op:
        for name in EMPLOYMENT:
            batch_op.add_column(sa.Column(name, sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('resources', schema=None) as batch_op:
        for name in reversed(EMPLOYMENT):
            batch_op.drop_column(name)
    for table in reversed(TABLES):
        table.drop()
