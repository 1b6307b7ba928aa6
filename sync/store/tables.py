"""The store's tables: canonical entities, cross-references, and the engine's own bookkeeping.

SQLAlchemy 2.0 typed declarative models with a naming convention so that Alembic migrations
are deterministic on SQLite and PostgreSQL alike. Rows are plain records; the pydantic entities in
``collectors.entities`` stay apart from these classes (Prefect's split of schemas and ORM models).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator, TypeEngine

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

MONEY = Numeric(18, 4, asdecimal=True)


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in, timezone-aware UTC out, on every dialect.

    PostgreSQL stores ``timestamptz``. SQLite has no datetime type: there the value is kept as
    ISO 8601 text in UTC with microseconds (``2026-11-25 09:30:00.000000``), which sorts and
    compares correctly as text and is written without a second conversion on the hot path.
    """

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(26))
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use timezone-aware UTC")
        if dialect.name == "sqlite":
            naive = value.astimezone(UTC).replace(tzinfo=None)
            return naive.isoformat(sep=" ", timespec="microseconds")
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


UTC_DT = UtcDateTime(timezone=True)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads this class attribute
        dict[str, Any]: JSON,
        Decimal: MONEY,
        datetime: UTC_DT,
    }


class SourcedMixin:
    """Where a canonical record came from."""

    source: Mapped[str] = mapped_column(String(32))
    source_id: Mapped[str] = mapped_column(String(128))
    updated_at: Mapped[datetime]
    schema_version: Mapped[int] = mapped_column(Integer, default=1)


# --- canonical entities -------------------------------------------------------------------------


class CustomerRow(SourcedMixin, Base):
    __tablename__ = "customers"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(256))
    currency: Mapped[str] = mapped_column(String(3))
    legal_entity: Mapped[str | None] = mapped_column(String(64))
    payment_terms_days: Mapped[int] = mapped_column(Integer, default=30)
    tax_code: Mapped[str | None] = mapped_column(String(32))
    region: Mapped[str | None] = mapped_column(String(64))
    parent_id: Mapped[str | None] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(default=True)


class ContractRow(SourcedMixin, Base):
    __tablename__ = "contracts"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(256))
    billing_model: Mapped[str] = mapped_column(String(32))
    currency: Mapped[str] = mapped_column(String(3))
    rate_card_id: Mapped[str | None] = mapped_column(String(64))
    not_to_exceed: Mapped[Decimal | None]
    start: Mapped[date | None]
    end: Mapped[date | None]
    status: Mapped[str] = mapped_column(String(16))


class RateCardRow(SourcedMixin, Base):
    __tablename__ = "rate_cards"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    contract_id: Mapped[str] = mapped_column(String(64), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON)


class ProjectRow(SourcedMixin, Base):
    __tablename__ = "projects"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    contract_id: Mapped[str] = mapped_column(String(64), index=True)
    customer_id: Mapped[str] = mapped_column(String(64), index=True)
    code: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(256))
    status: Mapped[str] = mapped_column(String(16))
    practice: Mapped[str | None] = mapped_column(String(64))
    region: Mapped[str | None] = mapped_column(String(64))
    legal_entity: Mapped[str | None] = mapped_column(String(64))
    budget: Mapped[Decimal | None]
    currency: Mapped[str] = mapped_column(String(3))
    start: Mapped[date | None]
    end: Mapped[date | None]


class ResourceRow(SourcedMixin, Base):
    __tablename__ = "resources"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(256))
    email: Mapped[str | None] = mapped_column(String(256))
    role: Mapped[str | None] = mapped_column(String(64))
    practice: Mapped[str | None] = mapped_column(String(64))
    region: Mapped[str | None] = mapped_column(String(64))
    cost_rate: Mapped[Decimal | None]
    weekly_capacity_hours: Mapped[Decimal]
    employment_status: Mapped[str] = mapped_column(String(16))
    hire_date: Mapped[date | None]
    termination_date: Mapped[date | None]


class TimeOffRow(Base):
    """One day of a person's time off, in hours (a request spread over its dates). ``status``
    is the request's: only ``approved`` time off reduces available hours."""

    __tablename__ = "time_off"
    id: Mapped[str] = mapped_column(String(96), primary_key=True)  # request id + day
    request_id: Mapped[str] = mapped_column(String(64), index=True)
    resource_id: Mapped[str] = mapped_column(String(64), index=True)
    day: Mapped[date] = mapped_column(index=True)
    hours: Mapped[Decimal]
    kind: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(32))
    updated_at: Mapped[datetime] = mapped_column(index=True)


class HolidayRow(Base):
    """A public or company holiday; ``region`` null means it applies everywhere."""

    __tablename__ = "holidays"
    id: Mapped[str] = mapped_column(String(96), primary_key=True)
    region: Mapped[str | None] = mapped_column(String(64))
    day: Mapped[date] = mapped_column(index=True)
    name: Mapped[str] = mapped_column(String(128))
    source: Mapped[str] = mapped_column(String(32))
    updated_at: Mapped[datetime]


class AssignmentRow(SourcedMixin, Base):
    __tablename__ = "assignments"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    resource_id: Mapped[str] = mapped_column(String(64), index=True)
    role: Mapped[str | None] = mapped_column(String(64))
    start: Mapped[date | None]
    end: Mapped[date | None]
    planned_hours: Mapped[Decimal | None]
    rate_override: Mapped[Decimal | None]
    active: Mapped[bool] = mapped_column(default=True)


class TimeEntryRow(SourcedMixin, Base):
    __tablename__ = "time_entries"
    # The biggest table and the one a backfill writes: every index costs each insert, so it has
    # only those its queries read. Reads go by day (``spent_date``), by change (``updated_at``,
    # the rollups' and compensation's watermark) and by deletion (``deleted_at``, indexed only
    # where set: nearly every entry is live, and a live one then costs the index nothing). A
    # person's or a project's entries are always read for a period, on the day index.
    __table_args__ = (
        Index("ix_time_entries_updated_at", "updated_at"),
        Index(
            "ix_time_entries_deleted",
            "deleted_at",
            sqlite_where=text("deleted_at IS NOT NULL"),
            postgresql_where=text("deleted_at IS NOT NULL"),
        ),
    )
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    resource_id: Mapped[str | None] = mapped_column(String(64))
    project_id: Mapped[str | None] = mapped_column(String(64))
    task: Mapped[str | None] = mapped_column(String(128))
    spent_date: Mapped[date | None] = mapped_column(index=True)
    hours: Mapped[Decimal | None]
    billable: Mapped[bool | None]
    status: Mapped[str] = mapped_column(String(16))
    notes: Mapped[str | None] = mapped_column(Text)
    vendor_rate: Mapped[Decimal | None]
    submitted_at: Mapped[datetime | None]
    approved_at: Mapped[datetime | None]
    is_billed: Mapped[bool | None]  # invoiced outside plan2cash (e.g. before go-live)
    deleted_at: Mapped[datetime | None]


class BillingEventRow(Base):
    __tablename__ = "billing_events"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    contract_id: Mapped[str] = mapped_column(String(64), index=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    customer_id: Mapped[str] = mapped_column(String(64), index=True)
    resource_id: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    source_record_id: Mapped[str] = mapped_column(String(64), unique=True)
    occurred_on: Mapped[date] = mapped_column(index=True)
    quantity: Mapped[Decimal]
    rate: Mapped[Decimal]
    amount: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3))
    description: Mapped[str] = mapped_column(String(512))
    approved_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime] = mapped_column(index=True)
    invoice_id: Mapped[str | None] = mapped_column(String(64), index=True)
    # made from a record a person edited before replaying it: the audit row of the edit says
    # who, when and what changed (before → after); null for an event made as the vendor sent it
    edit_audit_id: Mapped[int | None] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("audit_log.id")
    )


class InvoiceRow(Base):
    __tablename__ = "invoices"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    number: Mapped[str] = mapped_column(String(64), unique=True)
    customer_id: Mapped[str] = mapped_column(String(64), index=True)
    contract_id: Mapped[str] = mapped_column(String(64), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    period_start: Mapped[date]
    period_end: Mapped[date]
    sequence: Mapped[int] = mapped_column(Integer, default=1)
    issue_date: Mapped[date]
    due_date: Mapped[date]
    total: Mapped[Decimal]
    amount_due: Mapped[Decimal | None]
    status: Mapped[str] = mapped_column(String(16), index=True)
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_at: Mapped[datetime]
    posted_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(index=True)


class CompensationRow(Base):
    """A compensating transaction for time that changed after it was invoiced: a credit note
    (kind ``credit_note``, taken back against the original invoice) or an adjustment (kind
    ``adjustment``, an extra billing event on the contract's next invoice). One per time entry and
    version; a posted invoice itself is never edited."""

    __tablename__ = "compensations"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    time_entry_id: Mapped[str] = mapped_column(String(64), index=True)
    invoice_id: Mapped[str] = mapped_column(String(64), index=True)  # the invoice compensated
    customer_id: Mapped[str] = mapped_column(String(64), index=True)
    contract_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    number: Mapped[str | None] = mapped_column(String(96), unique=True)  # credit note number
    billing_event_id: Mapped[str | None] = mapped_column(String(64))  # the adjustment's event
    quantity: Mapped[Decimal]  # hours, always positive
    rate: Mapped[Decimal]
    amount: Mapped[Decimal]  # always positive: credited, or added
    currency: Mapped[str] = mapped_column(String(3))
    issue_date: Mapped[date]
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), index=True)
    external_id: Mapped[str | None] = mapped_column(String(128))
    allocated: Mapped[Decimal | None]
    created_at: Mapped[datetime]
    posted_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]


class PaymentRow(SourcedMixin, Base):
    __tablename__ = "payments"
    __table_args__ = (Index("ix_payments_updated_at", "updated_at"),)  # rollups' watermark
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    invoice_id: Mapped[str] = mapped_column(String(64), index=True)
    received_on: Mapped[date]
    amount: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3))


# --- the engine's bookkeeping -------------------------------------------------------------------


class XrefRow(Base):
    """Canonical id ⇄ (system, external id): how one customer is known in every system."""

    __tablename__ = "xrefs"
    __table_args__ = (UniqueConstraint("entity_type", "system", "external_id"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    entity_type: Mapped[str] = mapped_column(String(32))
    canonical_id: Mapped[str] = mapped_column(String(64), index=True)
    system: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime]


class SyncRunRow(Base):
    __tablename__ = "sync_runs"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    flow: Mapped[str] = mapped_column(String(64), index=True)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16))
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
    status: Mapped[str] = mapped_column(String(16), index=True)
    assignee: Mapped[str | None] = mapped_column(String(128))
    notes: Mapped[str | None] = mapped_column(Text)


class OutboxRow(Base):
    """A side effect on a vendor, recorded in the same transaction as the change that causes it."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(48))
    system: Mapped[str] = mapped_column(String(32))
    aggregate_id: Mapped[str] = mapped_column(String(64), index=True)
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    payload: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(16), index=True)
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


# --- rollups (daily facts the KPIs read; kept by the ``rollups`` flow) ----------------------


class RollupTimeRow(Base):
    """Hours logged per day, person and project, split by billable, status and the days the
    time was submitted and approved (so a past cut-off can be re-read)."""

    __tablename__ = "rollup_time"
    # covering indexes: a period's KPIs read index pages only (cell first, for refreshes)
    __table_args__ = (
        Index(
            "ix_rollup_time_cell",
            *("day", "resource_id", "project_id", "status", "billable", "approved_on"),
            *("hours", "standard_value"),
        ),
        Index(
            "ix_rollup_time_waiting",
            *("status", "approved_on", "submitted_on", "resource_id", "project_id"),
            *("hours", "entries"),
        ),
    )
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    day: Mapped[date]
    resource_id: Mapped[str] = mapped_column(String(64))  # "" when the person is unknown
    project_id: Mapped[str] = mapped_column(String(64))  # "" when the project is unknown
    billable: Mapped[bool]
    status: Mapped[str] = mapped_column(String(16))
    submitted_on: Mapped[date | None]
    approved_on: Mapped[date | None]
    hours: Mapped[Decimal]
    standard_value: Mapped[Decimal]  # billable hours × the time system's billable rate
    entries: Mapped[int] = mapped_column(Integer)


class RollupBillingRow(Base):
    """Billing events' hours and value per day of work, person and project, with the days they
    were approved, created, invoiced (issue date) and posted."""

    __tablename__ = "rollup_billing"
    __table_args__ = (  # covering indexes, as for rollup_time
        Index(
            "ix_rollup_billing_cell",
            *("day", "resource_id", "project_id", "currency", "posted_on", "amount"),
        ),
        Index(
            "ix_rollup_billing_open",
            *("invoiced_on", "day", "created_on", "resource_id", "project_id", "currency"),
            *("amount", "hours", "events"),
        ),
    )
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    day: Mapped[date]
    resource_id: Mapped[str] = mapped_column(String(64))
    project_id: Mapped[str] = mapped_column(String(64))
    currency: Mapped[str] = mapped_column(String(3))
    approved_on: Mapped[date | None]
    created_on: Mapped[date]
    invoiced_on: Mapped[date | None]
    posted_on: Mapped[date | None]
    hours: Mapped[Decimal]
    amount: Mapped[Decimal]
    events: Mapped[int] = mapped_column(Integer)


class RollupCycleRow(Base):
    """Billing cycle stages of the events on one posted invoice, as a histogram in whole hours
    (one row per project, stage and duration)."""

    __tablename__ = "rollup_cycle"
    __table_args__ = (
        Index("ix_rollup_cycle_posted", "posted_on", "project_id", "stage", "hours", "events"),
    )
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    invoice_id: Mapped[str] = mapped_column(String(64), index=True)
    posted_on: Mapped[date]
    project_id: Mapped[str] = mapped_column(String(64))
    stage: Mapped[str] = mapped_column(String(16))
    hours: Mapped[int] = mapped_column(Integer)
    events: Mapped[int] = mapped_column(Integer)


class RollupReceivableRow(Base):
    """Per customer and day: posted invoices by issue date (``invoiced``) and cash received
    (``paid``); ``known_on`` is the day the figure became known (posting, receipt)."""

    __tablename__ = "rollup_receivables"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64), index=True)
    day: Mapped[date] = mapped_column(index=True)
    kind: Mapped[str] = mapped_column(String(8))
    known_on: Mapped[date]
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[Decimal]
    documents: Mapped[int] = mapped_column(Integer)


class RollupCapacityRow(Base):
    """A person's capacity and available hours on one day (weekdays while employed)."""

    __tablename__ = "rollup_capacity"
    __table_args__ = (Index("ix_rollup_capacity_day", "day", "resource_id", "available_hours"),)
    day: Mapped[date] = mapped_column(primary_key=True)
    resource_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    capacity_hours: Mapped[Decimal]
    time_off_hours: Mapped[Decimal]
    holiday: Mapped[bool]
    available_hours: Mapped[Decimal]


class RollupMemberRow(Base):
    """The (day, person) cell each time entry was last rolled up into, so that an entry moved to
    another day or person also refreshes the cell it left."""

    __tablename__ = "rollup_members"
    time_entry_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date]
    resource_id: Mapped[str] = mapped_column(String(64))


class RollupPersonRow(Base):
    """What a person's capacity facts were computed from (capacity, dates, region), as a digest:
    a person re-read without a change in those refreshes nothing."""

    __tablename__ = "rollup_people"
    resource_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64))


metadata = Base.metadata
