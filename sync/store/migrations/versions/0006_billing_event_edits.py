"""a billing event made from an edited record names the audit row of the edit

``billing_events.edit_audit_id`` refers to the ``audit_log`` row that says who edited the record
before it was replayed, when, and what changed (before → after); null for every event made from
a record as the vendor sent it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'


def upgrade() -> None:
    with op.batch_alter_table('billing_events', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                'edit_audit_id',
                sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                nullable=True,
            )
        )
        batch_op.create_foreign_key(
            batch_op.f('fk_billing_events_edit_audit_id_audit_log'),
            'audit_log',
            ['edit_audit_id'],
            ['id'],
        )


def downgrade() -> None:
    with op.batch_alter_table('billing_events', schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f('fk_billing_events_edit_audit_id_audit_log'), type_='foreignkey'
        )
        batch_op.drop_column('edit_audit_id')
