"""compensation"""

from __future__ import annotations

from sync.store.migrations.ddl import Table, date, integer, numeric, string, text, utc

revision = '0003'
down_revision = '0002'

COMPENSATIONS = Table(
    'compensations',
    (
        string('id', 64),
        string('kind', 16),
        string('time_entry_id', 64),
        string('invoice_id', 64),
        string('customer_id', 64),
        string('contract_id', 64),
        integer('version'),
        string('number', 96, nullable=True),
        string('billing_event_id', 64, nullable=True),
        numeric('quantity'),
        numeric('rate'),
        numeric('amount'),
        string('currency', 3),
        date('issue_date'),
        text('reason'),
        string('status', 16),
        string('external_id', 128, nullable=True),
        numeric('allocated', nullable=True),
        utc('created_at'),
        utc('posted_at', nullable=True),
        utc('updated_at'),
    ),
    unique=('number',),
    indexed=('customer_id', 'invoice_id', 'status', 'time_entry_id'),
)


def upgrade() -> None:
    COMPENSATIONS.create()


def downgrade() -> None:
    COMPENSATIONS.drop()
