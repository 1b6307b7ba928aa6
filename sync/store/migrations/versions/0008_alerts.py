"""alerting state: alert instances, groups per channel, silences, the notification log"""

from __future__ import annotations

from sync.store.migrations.ddl import (
    Index,
    Table,
    double,
    integer,
    json,
    numeric,
    serial,
    string,
    text,
    utc,
)

revision = '0008'
down_revision = '0007'

TABLES = (
    Table(
        'alerts',
        (
            string('fingerprint', 32),
            string('rule', 128),
            string('group_key', 512),
            json('group_labels'),
            json('labels'),
            string('severity', 16),
            string('state', 16),
            utc('pending_since', nullable=True),
            utc('active_since', nullable=True),
            utc('resolved_at', nullable=True),
            utc('evaluated_at'),
            double('value', nullable=True),
            double('threshold', nullable=True),
            string('unit', 16),
            numeric('value_at_risk', nullable=True),
            string('currency', 3),
            text('summary'),
            text('link'),
            json('causes'),
        ),
        key=('fingerprint',),
        indexed=('rule', 'state'),
    ),
    Table(
        'alert_groups',
        (
            string('channel', 16),
            string('group_key', 512),
            string('rule', 128),
            utc('created_at'),
            utc('next_flush_at', nullable=True),
            utc('last_notified_at', nullable=True),
            json('last_firing'),
            json('last_resolved'),
        ),
        key=('channel', 'group_key'),
    ),
    Table(
        'alert_silences',
        (
            string('id', 32),
            json('matchers'),
            utc('starts_at'),
            utc('ends_at'),
            utc('created_at'),
            string('created_by', 128),
            text('comment'),
            utc('expired_at', nullable=True),
            string('expired_by', 128, nullable=True),
        ),
        indexed=('ends_at',),
    ),
    Table(
        'alert_notifications',
        (
            serial(),
            string('group_key', 512),
            string('channel', 16),
            string('rule', 128),
            string('severity', 16),
            string('status', 16),
            json('notification'),
            text('message'),
            string('delivery', 16),
            integer('attempts'),
            text('error', nullable=True),
            utc('created_at'),
            utc('next_attempt_at', nullable=True),
            utc('sent_at', nullable=True),
        ),
        indexed=('created_at', 'group_key'),
        indexes=(Index('ix_alert_notifications_due', ('delivery', 'next_attempt_at')),),
    ),
)


def upgrade() -> None:
    for table in TABLES:
        table.create()


def downgrade() -> None:
    for table in reversed(TABLES):
        table.drop()  # its indexes go with it
