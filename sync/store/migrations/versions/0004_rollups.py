"""rollups"""

from __future__ import annotations

from sync.store.migrations.ddl import (
    Index,
    Table,
    boolean,
    date,
    indexed,
    integer,
    numeric,
    serial,
    string,
)

revision = '0004'
down_revision = '0003'

TABLES = (
    Table(
        'rollup_billing',
        (
            serial(),
            date('day'),
            string('resource_id', 64),
            string('project_id', 64),
            string('currency', 3),
            date('approved_on', nullable=True),
            date('created_on'),
            date('invoiced_on', nullable=True),
            date('posted_on', nullable=True),
            numeric('hours'),
            numeric('amount'),
            integer('events'),
        ),
        indexes=(
            Index(
                'ix_rollup_billing_cell',
                ('day', 'resource_id', 'project_id', 'currency', 'posted_on', 'amount'),
            ),
            Index(
                'ix_rollup_billing_open',
                ('invoiced_on', 'day', 'created_on', 'resource_id', 'project_id', 'currency',
                 'amount', 'hours', 'events'),
            ),
        ),
    ),
    Table(
        'rollup_capacity',
        (
            date('day'),
            string('resource_id', 64),
            numeric('capacity_hours'),
            numeric('time_off_hours'),
            boolean('holiday'),
            numeric('available_hours'),
        ),
        key=('day', 'resource_id'),
        indexes=(Index('ix_rollup_capacity_day', ('day', 'resource_id', 'available_hours')),),
    ),
    Table(
        'rollup_cycle',
        (
            serial(),
            string('invoice_id', 64),
            date('posted_on'),
            string('project_id', 64),
            string('stage', 16),
            integer('hours'),
            integer('events'),
        ),
        indexed=('invoice_id',),
        indexes=(
            Index(
                'ix_rollup_cycle_posted', ('posted_on', 'project_id', 'stage', 'hours', 'events')
            ),
        ),
    ),
    Table(
        'rollup_members',
        (string('time_entry_id', 64), date('day'), string('resource_id', 64)),
        key=('time_entry_id',),
    ),
    Table(
        'rollup_people',
        (string('resource_id', 64), string('digest', 64)),
        key=('resource_id',),
    ),
    Table(
        'rollup_receivables',
        (
            serial(),
            string('customer_id', 64),
            date('day'),
            string('kind', 8),
            date('known_on'),
            string('currency', 3),
            numeric('amount'),
            integer('documents'),
        ),
        indexed=('customer_id', 'day'),
    ),
    Table(
        'rollup_time',
        (
            serial(),
            date('day'),
            string('resource_id', 64),
            string('project_id', 64),
            boolean('billable'),
            string('status', 16),
            date('submitted_on', nullable=True),
            date('approved_on', nullable=True),
            numeric('hours'),
            numeric('standard_value'),
            integer('entries'),
        ),
        indexes=(
            Index(
                'ix_rollup_time_cell',
                ('day', 'resource_id', 'project_id', 'status', 'billable', 'approved_on',
                 'hours', 'standard_value'),
            ),
            Index(
                'ix_rollup_time_waiting',
                ('status', 'approved_on', 'submitted_on', 'resource_id', 'project_id', 'hours',
                 'entries'),
            ),
        ),
    ),
)
# one-column indexes on tables of earlier revisions
INDEXED = (
    ('billing_events', 'updated_at'),
    ('invoices', 'updated_at'),
    ('payments', 'updated_at'),
    ('time_entries', 'deleted_at'),
    ('time_entries', 'updated_at'),
    ('time_off', 'updated_at'),
)


def upgrade() -> None:
    for table in TABLES:
        table.create()
    for table_name, column in INDEXED:
        indexed(table_name, column).create(table_name)


def downgrade() -> None:
    for table_name, column in reversed(INDEXED):
        indexed(table_name, column).drop(table_name)
    for table in reversed(TABLES):
        table.drop()
