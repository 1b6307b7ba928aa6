"""The store's tables. This module holds the engine's own bookkeeping (runs, cursors, spans,
business events, exceptions, the outbox, work items, the audit log) and is the one import for
every table: the other domains live in ``tables_reference`` (reference data),
``tables_billing`` (time, billing, invoices, payments), ``tables_rollups`` (KPI facts) and
``tables_alerts`` (alert state, silences, the notification log).

SQLAlchemy 2.0 typed declarative models on one ``Base`` (``sync.store.columns``). Rows are plain
records; the pydantic entities in ``collectors.entities`` stay apart from these classes.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from sync.store.columns import MONEY, Base, SourcedMixin, UtcDateTime
from sync.store.tables_alerts import (
    AlertGroupRow,
    AlertRow,
    NotificationRow,
    SilenceRow,
)
from sync.store.tables_billing import (
    BillingEventRow,
    CompensationRow,
    InvoiceRow,
    PaymentRow,
    TimeEntryRow,
)
from sync.store.tables_reference import (
    AssignmentRow,
    ContractRow,
    CustomerRow,
    HolidayRow,
    ProjectRow,
    RateCardRow,
    ResourceRow,
    TimeOffRow,
    XrefRow,
)
from sync.store.tables_rollups import (
    RollupBillingRow,
    RollupCapacityRow,
    RollupCycleRow,
    RollupMemberRow,
    RollupPersonRow,
    RollupReceivableRow,
    RollupTimeRow,
)
from sync.store.vocabulary import ExceptionStatus, OutboxKind, OutboxStatus, RunStatus


class SyncRunRow(Base):
    __tablename__ = "sync_runs"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    flow: Mapped[str] = mapped_column(String(64), index=True)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    status: Mapped[RunStatus]
    records_in: Mapped[int] = mapped_column(Integer, default=0)
    records_out: Mapped[int] = mapped_column(Integer, default=0)
    exceptions: Mapped[int] = mapped_column(Integer, default=0)
    trace_id: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(Text)


class CursorRow(Base):
    __tablename__ = "cursors"
    system: Mapped[str] = mapped_column(String(32), primary_key=True)
    stream: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime]


class SpanRow(Base):
    __tablename__ = "spans"
    span_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    trace_id: Mapped[str] = mapped_column(String(32), index=True)
    parent_span_id: Mapped[str | None] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(128), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    start_time: Mapped[datetime] = mapped_column(index=True)
    end_time: Mapped[datetime]
    duration_ms: Mapped[float]
    status: Mapped[str] = mapped_column(String(16))
    attributes: Mapped[dict[str, Any]]


class BusinessEventRow(Base):
    __tablename__ = "business_events"
    __table_args__ = (Index("ix_business_events_entity", "entity_type", "entity_id"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), index=True)
    entity_type: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[datetime] = mapped_column(index=True)
    recorded_at: Mapped[datetime]
    trace_id: Mapped[str | None] = mapped_column(String(32))
    attributes: Mapped[dict[str, Any]]


class ExceptionRow(Base):
    """A dead letter: one record that could not flow, kept with everything needed to fix it."""

    __tablename__ = "exceptions"
    __table_args__ = (UniqueConstraint("flow", "record_key"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    flow: Mapped[str] = mapped_column(String(64))
    record_key: Mapped[str] = mapped_column(String(160))
    stage: Mapped[str] = mapped_column(String(32))
    category: Mapped[str] = mapped_column(String(48), index=True)
    reason: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any] | None]
    entity_type: Mapped[str | None] = mapped_column(String(32))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    value_at_risk: Mapped[Decimal | None]
    currency: Mapped[str | None] = mapped_column(String(3))
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]
    trace_id: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[ExceptionStatus] = mapped_column(index=True)
    assignee: Mapped[str | None] = mapped_column(String(128))
    notes: Mapped[str | None] = mapped_column(Text)


class OutboxRow(Base):
    """A side effect on a vendor, recorded in the same transaction as the change that causes it."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    kind: Mapped[OutboxKind]
    system: Mapped[str] = mapped_column(String(32))
    aggregate_id: Mapped[str] = mapped_column(String(64), index=True)
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    payload: Mapped[dict[str, Any]]
    status: Mapped[OutboxStatus] = mapped_column(index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    external_id: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]


class AuditRow(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(160))
    detail: Mapped[dict[str, Any]]


metadata = Base.metadata

__all__ = [
    "MONEY",
    "AlertGroupRow",
    "AlertRow",
    "AssignmentRow",
    "AuditRow",
    "Base",
    "BillingEventRow",
    "BusinessEventRow",
    "CompensationRow",
    "ContractRow",
    "CursorRow",
    "CustomerRow",
    "ExceptionRow",
    "HolidayRow",
    "InvoiceRow",
    "NotificationRow",
    "OutboxRow",
    "PaymentRow",
    "ProjectRow",
    "RateCardRow",
    "ResourceRow",
    "RollupBillingRow",
    "RollupCapacityRow",
    "RollupCycleRow",
    "RollupMemberRow",
    "RollupPersonRow",
    "RollupReceivableRow",
    "RollupTimeRow",
    "SilenceRow",
    "SourcedMixin",
    "SpanRow",
    "SyncRunRow",
    "TimeEntryRow",
    "TimeOffRow",
    "UtcDateTime",
    "XrefRow",
    "metadata",
]
