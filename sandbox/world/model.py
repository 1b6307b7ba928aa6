"""The sandbox firm's world: what is true, before any vendor shapes it.

A ``World`` is the ground truth of one simulated professional services firm. Vendor emulators do
not generate anything: each one *projects* the world into its vendor's records (Salesforce
accounts, Kantata workspaces, Harvest time entries, BambooHR employees, Xero invoices), then lets
clients read and change those records over its API. Tests compare what plan2cash computes with
the world (``World.faults`` says which records were planted bad, and why).

Ids are small positive integers, unique per kind; vendor projections turn them into vendor-style
ids (``001…`` for a Salesforce account, strings for Kantata, UUIDs for Xero) deterministically.
Money is ``Decimal`` in the record's currency; dates are dates; datetimes are aware UTC.

Time entries are many (millions for the ``large`` firm), so they are columnar: a polars frame
with the columns of ``TIME_COLUMNS``, not objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

import polars as pl

BillingModel = Literal["time-and-materials", "fixed-fee", "milestone", "retainer"]
ContractStatus = Literal["draft", "activated", "expired"]
TimeStatus = Literal["draft", "submitted", "approved", "rejected"]
TimeOffStatus = Literal["requested", "approved", "denied", "canceled"]

# Fault labels: the data-quality problems the world plants, each labelled in ``World.faults``.
FAULT_UNKNOWN_PROJECT = "unknown_project"  # time on a project no system knows
FAULT_CLOSED_PROJECT = "closed_project"  # time dated after its project closed
FAULT_ROLE_NOT_ON_RATE_CARD = "rate_card_missing"  # the person's role has no rate on the card
FAULT_OVER_24H = "over_24h"  # more than 24 hours in one day for one person
FAULT_NEGATIVE_HOURS = "negative_hours"
FAULT_TERMINATED = "terminated_resource"  # logged by a person after their termination date
FAULT_CURRENCY = "currency_mismatch"  # the project's client currency differs from the contract
FAULT_DUPLICATE = "duplicate"  # the same person, project, day, hours and notes twice
FAULT_EDITED_AFTER_INVOICE = "edited_after_invoiced"  # hours changed after it was invoiced
FAULT_CLOSED_PERIOD = "closed_period"  # dated in an accounting period already locked
FAULTS = (
    FAULT_UNKNOWN_PROJECT, FAULT_CLOSED_PROJECT, FAULT_ROLE_NOT_ON_RATE_CARD, FAULT_OVER_24H,
    FAULT_NEGATIVE_HOURS, FAULT_TERMINATED, FAULT_CURRENCY, FAULT_DUPLICATE,
    FAULT_EDITED_AFTER_INVOICE, FAULT_CLOSED_PERIOD,
)  # fmt: skip

# Columns of ``World.time_entries`` (one row per time entry).
TIME_COLUMNS: dict[str, pl.DataType | type[pl.DataType]] = {
    "id": pl.Int64,
    "employee_id": pl.Int64,
    "project_id": pl.Int64,  # may name a project that does not exist (a planted fault)
    "task": pl.String,
    "spent_date": pl.Date,
    "hours": pl.Decimal(8, 2),  # quarters of an hour; negative or > 24 only when planted
    "billable": pl.Boolean,
    "notes": pl.String,
    "status": pl.String,  # TimeStatus
    "created_at": pl.Datetime("us", "UTC"),
    "submitted_at": pl.Datetime("us", "UTC"),  # null while draft
    "approved_at": pl.Datetime("us", "UTC"),  # null unless approved
    "updated_at": pl.Datetime("us", "UTC"),
    "invoice_id": pl.Int64,  # the historical invoice that billed it (before go-live), or null
}


@dataclass(frozen=True)
class LegalEntity:
    """A company of the group that invoices in its own name, in the books of one ERP
    (``erp``: ``xero``, ``dynamics365``, ``oracle_fusion`` or ``netsuite``)."""

    id: int
    name: str
    country: str  # ISO 3166 alpha-2
    currency: str  # functional currency
    xero_tenant_id: str  # UUID string: the organisation's id when its ERP is Xero
    erp: str = "xero"


@dataclass(frozen=True)
class Region:
    id: int
    name: str  # e.g. "North America"
    country: str  # ISO 3166 alpha-2, for public holidays
    legal_entity_id: int


@dataclass(frozen=True)
class Practice:
    id: int
    name: str  # e.g. "Strategy", "Technology", "Operations"


@dataclass(frozen=True)
class Customer:
    id: int
    name: str
    code: str  # short upper-case code used in project codes, e.g. "ACME"
    parent_id: int | None  # parent account (a group), or None
    industry: str
    region_id: int
    legal_entity_id: int  # the entity that bills this customer
    currency: str  # billing currency
    payment_terms_days: int  # 30, 45 or 60
    days_to_pay_mean: float  # how late this customer tends to pay, for payment simulation
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Opportunity:
    id: int
    customer_id: int
    name: str
    amount: Decimal
    currency: str
    stage: str  # Salesforce StageName, e.g. "Proposal/Price Quote", "Closed Won", "Closed Lost"
    close_date: date
    won: bool | None  # None while open
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class RateCardVersion:
    """Hourly rates by role, in force from ``effective_from`` to ``effective_to`` inclusive."""

    effective_from: date
    effective_to: date | None
    rates: dict[str, Decimal]  # role -> hourly rate


@dataclass(frozen=True)
class RateCard:
    id: int
    name: str
    currency: str
    versions: tuple[RateCardVersion, ...]

    def rate(self, role: str, on: date) -> Decimal | None:
        for version in self.versions:
            ends = version.effective_to or date.max
            if version.effective_from <= on <= ends:
                return version.rates.get(role)
        return None


@dataclass(frozen=True)
class Contract:
    id: int
    customer_id: int
    opportunity_id: int
    number: str  # e.g. "00001042"
    name: str
    billing_model: BillingModel
    currency: str
    rate_card_id: int
    legal_entity_id: int
    start: date
    end: date
    status: ContractStatus
    activated_at: datetime | None
    not_to_exceed: Decimal | None  # cap on time-and-materials billing
    fee: Decimal | None  # fixed fee total, or the monthly retainer
    updated_at: datetime


@dataclass(frozen=True)
class Project:
    id: int
    contract_id: int
    customer_id: int
    code: str  # e.g. "ACME-01"
    name: str
    practice_id: int
    region_id: int
    legal_entity_id: int
    status: Literal["active", "closed"]
    start: date
    end: date | None  # set when closed (and planned end while active)
    budget: Decimal | None
    currency: str  # normally the contract's; differs only for a planted currency fault
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Milestone:
    id: int
    project_id: int
    name: str
    due: date
    amount: Decimal
    completed_on: date | None
    updated_at: datetime


@dataclass(frozen=True)
class Employee:
    id: int
    first_name: str
    last_name: str
    email: str
    role: str  # one of ROLES, the key into rate cards
    practice_id: int
    region_id: int
    legal_entity_id: int
    manager_id: int | None
    hire_date: date
    termination_date: date | None
    cost_rate: Decimal  # loaded cost per hour, in the legal entity's currency
    weekly_capacity_hours: Decimal
    updated_at: datetime

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass(frozen=True)
class Assignment:
    id: int
    project_id: int
    employee_id: int
    role: str  # the role billed on this project (normally the employee's)
    start: date
    end: date | None
    planned_hours: Decimal
    rate_override: Decimal | None  # negotiated rate for this person, else the rate card
    updated_at: datetime


@dataclass(frozen=True)
class TimeOff:
    id: int
    employee_id: int
    start: date
    end: date
    kind: str  # "Vacation", "Sick", "Parental leave"
    status: TimeOffStatus
    hours_per_day: Decimal
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Holiday:
    region_id: int
    day: date
    name: str


@dataclass(frozen=True)
class Expense:
    id: int
    employee_id: int
    project_id: int
    spent_date: date
    category: str
    amount: Decimal
    currency: str
    billable: bool
    approved: bool
    invoice_id: int | None
    updated_at: datetime


@dataclass(frozen=True)
class InvoiceLine:
    description: str
    quantity: Decimal
    unit_amount: Decimal
    amount: Decimal


@dataclass(frozen=True)
class Invoice:
    """An invoice the firm issued before plan2cash went live (history in the ERP)."""

    id: int
    number: str
    legal_entity_id: int
    customer_id: int
    contract_id: int
    currency: str
    issue_date: date
    due_date: date
    period_start: date
    period_end: date
    lines: tuple[InvoiceLine, ...]
    total: Decimal
    disputed: bool
    updated_at: datetime


@dataclass(frozen=True)
class Payment:
    id: int
    invoice_id: int
    paid_on: date
    amount: Decimal
    updated_at: datetime


@dataclass(frozen=True)
class CreditNote:
    id: int
    invoice_id: int
    issued_on: date
    amount: Decimal
    reason: Literal["dispute", "write_off"]
    updated_at: datetime


@dataclass
class World:
    """One firm, 18 months of history up to ``today``, and what was planted in it."""

    name: str
    seed: int
    size: str  # "tiny", "small", "medium", "large" or "custom"
    today: date
    history_start: date
    go_live: date  # plan2cash invoices time from here on; earlier time was invoiced by hand
    period_lock: date  # accounting periods up to and including this date are closed
    legal_entities: list[LegalEntity]
    regions: list[Region]
    practices: list[Practice]
    customers: list[Customer]
    opportunities: list[Opportunity]
    rate_cards: list[RateCard]
    contracts: list[Contract]
    projects: list[Project]
    milestones: list[Milestone]
    employees: list[Employee]
    assignments: list[Assignment]
    time_off: list[TimeOff]
    holidays: list[Holiday]
    expenses: list[Expense]
    invoices: list[Invoice]
    payments: list[Payment]
    credit_notes: list[CreditNote]
    time_entries: pl.DataFrame  # columns TIME_COLUMNS
    # (kind, id) -> fault label, e.g. ("time_entry", 12345) -> "negative_hours"
    faults: dict[tuple[str, int], str] = field(default_factory=dict)
