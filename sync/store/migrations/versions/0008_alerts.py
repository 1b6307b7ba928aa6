"""alerting state: alert instances, groups per channel, silences, the notification log"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from sync.store import tables

revision = '0008'
down_revision = '0007'

ROW_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def _at(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, tables.UtcDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        'alerts',
        sa.Column('fingerprint', sa.String(32), nullable=False),
        sa.Column('rule', sa.String(128), nullable=False),
        sa.Column('group_key', sa.String(512), nullable=False),
        sa.Column('group_labels', sa.JSON(), nullable=False),
        sa.Column('labels', sa.JSON(), nullable=False),
        sa.Column('severity', sa.String(16), nullable=False),
        sa.Column('state', sa.String(16), nullable=False),
        _at('pending_since', True),
        _at('active_since', True),
        _at('resolved_at', True),
        _at('evaluated_at'),
        sa.Column('value', sa.Double(), nullable=True),
        sa.Column('threshold', sa.Double(), nullable=True),
        sa.Column('unit', sa.String(16), nullable=False),
        sa.Column('value_at_risk', sa.Numeric(18, 4), nullable=True),
        sa.Column('currency', sa.String(3), nullable=False),
        sa.Column('summary', sa.Text(), nullable=False),
        sa.Column('link', sa.Text(), nullable=False),
        sa.Column('causes', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('fingerprint', name=op.f('pk_alerts')),
    )
    op.create_index(op.f('ix_alerts_rule'), 'alerts', ['rule'])
    op.create_index(op.f('ix_alerts_state'), 'alerts', ['state'])
    op.create_table(
        'alert_groups',
        sa.Column('channel', sa.String(16), nullable=False),
        sa.Column('group_key', sa.String(512), nullable=False),
        sa.Column('rule', sa.String(128), nullable=False),
        _at('created_at'),
        _at('next_flush_at', True),
        _at('last_notified_at', True),
        sa.Column('last_firing', sa.JSON(), nullable=False),
        sa.Column('last_resolved', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('channel', 'group_key', name=op.f('pk_alert_groups')),
    )
    op.create_table(
        'alert_silences',
        sa.Column('id', sa.String(32), nullable=False),
        sa.Column('matchers', sa.JSON(), nullable=False),
        _at('starts_at'),
        _at('ends_at'),
        _at('created_at'),
        sa.Column('created_by', sa.String(128), nullable=False),
        sa.Column('comment', sa.Text(), nullable=False),
        _at('expired_at', True),
        sa.Column('expired_by', sa.String(128), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_silences')),
    )
    op.create_index(op.f('ix_alert_silences_ends_at'), 'alert_silences', ['ends_at'])
    op.create_table(
        'alert_notifications',
        sa.Column('id', ROW_ID, nullable=False),
        sa.Column('group_key', sa.String(512), nullable=False),
        sa.Column('channel', sa.String(16), nullable=False),
        sa.Column('rule', sa.String(128), nullable=False),
        sa.Column('severity', sa.String(16), nullable=False),
        sa.Column('status', sa.String(16), nullable=False),
        sa.Column('notification', sa.JSON(), nullable=False),
        sa.Column('message', sa.Text(), nullable=False),
        sa.Column('delivery', sa.String(16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('error', sa.Text(), nullable=True),
        _at('created_at'),
        _at('next_attempt_at', True),
        _at('sent_at', True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_notifications')),
    )
    op.create_index(
        op.f('ix_alert_notifications_created_at'), 'alert_notifications', ['created_at']
    )
    op.create_index(op.f('ix_alert_notifications_group_key'), 'alert_notifications', ['group_key'])
    op.create_index(
        'ix_alert_notifications_due', 'alert_notifications', ['delivery', 'next_attempt_at']
    )


def downgrade() -> None:
    for table in ('alert_notifications', 'alert_silences', 'alert_groups', 'alerts'):
        op.drop_table(table)  # its indexes go with it
