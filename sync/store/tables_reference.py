"""Reference data: customers, contracts and their rate cards, projects, people, their time off,
assignments and public holidays, and the cross-references that say how one record is known in
each system. Canonical entities are kept as the vendors' records say, with their source."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from sync.store.columns import Base, SourcedMixin


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
