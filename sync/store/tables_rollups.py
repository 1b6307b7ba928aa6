"""Rollups: the daily facts the KPIs read, kept by the ``rollups`` flow. A fact row sums the
records of one cell (a day and a person for work; a customer and cycle for receivables); the
digests say what a person's and a project's facts were computed from."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Index,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from sync.store.columns import Base


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
