"""The canonical entities: the governed contract between connectors and the engine.

Every connector maps its vendor's records into these models and nothing else crosses the
boundary. They are frozen pydantic v2 models; money is ``Decimal`` with an ISO 4217 currency,
datetimes are timezone-aware UTC, dates are dates. Each carries ``source``, ``source_id``,
``updated_at`` and ``schema_version`` so that a record can always be traced to where it came from.

The hot path (a page of time entries at a time) works on polars frames; these models are for the
edges: configuration, single-record APIs, replay, and validation of what a connector produces.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

SCHEMA_VERSION: Literal[1] = 1

# ISO 4217 codes we accept. Kept explicit so that a typo ("USS") is a validation error, not money.
CURRENCIES = frozenset(
    [
        "AED",
        "AUD",
        "BRL",
        "CAD",
        "CHF",
        "CNY",
        "CZK",
        "DKK",
        "EUR",
        "GBP",
        "HKD",
        "HUF",
        "IDR",
        "ILS",
        "INR",
        "JPY",
        "KRW",
        "MXN",
        "MYR",
        "NOK",
        "NZD",
        "PHP",
        "PLN",
        "RON",
        "SAR",
        "SEK",
        "SGD",
        "THB",
        "TRY",
        "TWD",
        "USD",
        "ZAR",
    ]
)


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("datetime must be timezone-aware")
    return value.astimezone(UTC)


def _currency(value: str) -> str:
    code = value.upper()
    if code not in CURRENCIES:
        raise ValueError(f"unknown currency code {value!r}")
    return code


UtcDatetime = Annotated[datetime, AfterValidator(_utc)]
Currency = Annotated[str, AfterValidator(_currency)]
Money = Annotated[Decimal, Field(max_digits=18, decimal_places=2)]
Rate = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=4)]
Hours = Annotated[Decimal, Field(ge=0, le=24, max_digits=8, decimal_places=4)]


class Entity(BaseModel):
    """Fields every canonical record carries."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    id: str = Field(min_length=1, description="canonical id (see ``canonical_id``)")
    source: str = Field(description="system the record was read from, e.g. 'harvest'")
    source_id: str = Field(min_length=1, description="the record's id in that system")
    updated_at: UtcDatetime
    schema_version: Literal[1] = SCHEMA_VERSION


def _check_span(start: date | None, end: date | None) -> None:
    if start is not None and end is not None and end < start:
        raise ValueError(f"end date {end} is before start date {start}")


class Spanned(Entity):
    """A canonical record running from ``start`` to ``end`` (either may be open): the end may not
    come before the start."""

    @model_validator(mode="after")
    def _dates(self) -> Self:
        _check_span(*(getattr(self, name, None) for name in ("start", "end")))
        return self


class BillingModel(StrEnum):
    TIME_AND_MATERIALS = "time-and-materials"
    FIXED_FEE = "fixed-fee"
    MILESTONE = "milestone"
    RETAINER = "retainer"


class TimeStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"


class Customer(Entity):
    name: str = Field(min_length=1)
    currency: Currency
    legal_entity: str | None = None
    payment_terms_days: int = Field(default=30, ge=0, le=365)
    tax_code: str | None = None
    region: str | None = None
    parent_id: str | None = None
    active: bool = True


class RateLine(BaseModel):
    """One role's hourly rate on a rate card, valid over a date range."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: str = Field(min_length=1)
    rate: Rate
    effective_from: date
    effective_to: date | None = None

    @model_validator(mode="after")
    def _dates(self) -> Self:
        _check_span(self.effective_from, self.effective_to)
        return self


class RateCard(Entity):
    contract_id: str
    currency: Currency
    lines: tuple[RateLine, ...] = ()

    def rate_for(self, role: str, on: date) -> Decimal | None:
        """The rate of ``role`` on ``on``, or ``None`` when the card has none."""
        for line in self.lines:
            ends = line.effective_to or date.max
            if line.role == role and line.effective_from <= on <= ends:
                return line.rate
        return None


class Contract(Spanned):
    customer_id: str
    name: str
    billing_model: BillingModel = BillingModel.TIME_AND_MATERIALS
    currency: Currency
    rate_card_id: str | None = None
    not_to_exceed: Money | None = None
    start: date | None = None
    end: date | None = None
    status: Literal["draft", "active", "closed"] = "active"


class Project(Spanned):
    contract_id: str
    customer_id: str
    code: str | None = None
    name: str
    status: Literal["active", "closed"] = "active"
    practice: str | None = None
    region: str | None = None
    legal_entity: str | None = None
    budget: Money | None = None
    currency: Currency
    start: date | None = None
    end: date | None = None


class Resource(Entity):
    name: str
    email: str | None = None
    role: str | None = None
    practice: str | None = None
    region: str | None = None
    cost_rate: Rate | None = None
    weekly_capacity_hours: Decimal = Field(default=Decimal(40), ge=0, le=168)
    employment_status: Literal["active", "terminated", "leave"] = "active"
    hire_date: date | None = None
    termination_date: date | None = None


class Assignment(Spanned):
    project_id: str
    resource_id: str
    role: str | None = None
    start: date | None = None
    end: date | None = None
    planned_hours: Decimal | None = Field(default=None, ge=0)
    rate_override: Rate | None = None
    active: bool = True


class TimeEntry(Entity):
    resource_id: str
    project_id: str
    task: str | None = None
    spent_date: date
    hours: Hours
    billable: bool
    status: TimeStatus
    notes: str | None = None
    vendor_rate: Rate | None = Field(
        default=None, description="the rate the time system priced the entry at, if any"
    )
    submitted_at: UtcDatetime | None = None
    approved_at: UtcDatetime | None = None


class Expense(Entity):
    resource_id: str
    project_id: str
    spent_date: date
    amount: Money = Field(ge=0)
    currency: Currency
    billable: bool
    approved: bool
    category: str | None = None


class Milestone(Entity):
    project_id: str
    name: str
    due: date
    amount: Money = Field(ge=0)
    currency: Currency
    completed: bool = False


class BillingEvent(Entity):
    """A priced, validated unit of billable work (one approved time entry, expense or milestone)."""

    contract_id: str
    project_id: str
    customer_id: str
    kind: Literal["time", "expense", "milestone"] = "time"
    source_record_id: str
    occurred_on: date
    quantity: Decimal
    rate: Rate
    amount: Money
    currency: Currency
    description: str


class InvoiceLine(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    description: str = Field(min_length=1)
    quantity: Decimal
    unit_amount: Rate
    amount: Money
    billing_event_ids: tuple[str, ...] = ()


class Invoice(Entity):
    number: str
    customer_id: str
    contract_id: str
    currency: Currency
    period_start: date
    period_end: date
    issue_date: date
    due_date: date
    lines: tuple[InvoiceLine, ...] = Field(min_length=1)
    total: Money
    status: Literal["draft", "pending", "posted", "failed", "paid", "voided"] = "draft"
    amount_due: Money | None = None

    @model_validator(mode="after")
    def _checks(self) -> Self:
        _check_span(self.period_start, self.period_end)
        _check_span(self.issue_date, self.due_date)
        if sum((line.amount for line in self.lines), Decimal(0)) != self.total:
            raise ValueError("invoice total does not equal the sum of its lines")
        return self


class Payment(Entity):
    invoice_id: str
    received_on: date
    amount: Money
    currency: Currency


def canonical_id(system: str, entity_type: str, external_id: str | int) -> str:
    """The deterministic canonical id of a record first seen as ``external_id`` in ``system``.

    Stable across runs and processes, so re-reading a record never creates a second one; other
    systems' ids for the same record are attached through the cross-reference map.
    """
    digest = hashlib.sha256(f"{system}:{entity_type}:{external_id}".encode()).hexdigest()
    return f"{PREFIXES.get(entity_type, entity_type[:3])}_{digest[:20]}"


def sourced(system: str, entity_type: str, raw: Mapping[str, Any]) -> dict[str, Any]:
    """The ``Entity`` fields of a record read from ``system`` that carries its own ``id`` and
    ``updated_at``: its canonical id, the system, its id there and when it last changed."""
    return {
        "id": canonical_id(system, entity_type, raw["id"]),
        "source": system,
        "source_id": str(raw["id"]),
        "updated_at": raw["updated_at"],
    }


PREFIXES = {
    "customer": "cus",
    "contract": "con",
    "rate_card": "rc",
    "project": "prj",
    "resource": "res",
    "assignment": "asg",
    "time_entry": "te",
    "expense": "exp",
    "milestone": "ms",
    "billing_event": "be",
    "invoice": "inv",
    "payment": "pay",
}


def now_utc() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


__all__ = [
    "CURRENCIES",
    "SCHEMA_VERSION",
    "Assignment",
    "BillingEvent",
    "BillingModel",
    "Contract",
    "Customer",
    "Entity",
    "Expense",
    "Invoice",
    "InvoiceLine",
    "Milestone",
    "Payment",
    "Project",
    "RateCard",
    "RateLine",
    "Resource",
    "TimeEntry",
    "TimeStatus",
    "canonical_id",
    "now_utc",
    "sourced",
]
