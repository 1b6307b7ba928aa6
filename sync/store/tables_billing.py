"""Time and money: time entries, the billing events valued from them, invoices, the
compensations (credit notes and adjustments) for time changed after invoicing, and payments.
A posted invoice is never edited; a change after invoicing becomes a compensation."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from sync.store.columns import Base, SourcedMixin


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
