"""A small firm written straight into the store from a seed, and random changes to it, for the
rollup and KPI tests (rollups vs rebuild, rollups vs raw records) on both dialects.

Rows are what the engine's flows would store: time entries with their billing events, monthly
invoices per contract (posted), payments, people with capacity, time off and holidays. Every
change stamps ``updated_at`` (and ``deleted_at``) later than anything before it, as the flows do.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.orm import Session

from sync.store.db import session_factory
from sync.store.repo import set_cursor
from sync.store.tables import (
    BillingEventRow,
    ContractRow,
    CustomerRow,
    HolidayRow,
    InvoiceRow,
    PaymentRow,
    ProjectRow,
    ResourceRow,
    TimeEntryRow,
    TimeOffRow,
)

TODAY = date(2026, 11, 25)
START = date(2026, 7, 1)
SOURCED = {"source": "seed", "schema_version": 1}


@dataclass
class Firm:
    """The seeded store's clock and ids, so that changes can follow."""

    store: Engine
    rng: random.Random
    clock: datetime = datetime(2026, 11, 25, 8, tzinfo=UTC)
    entries: int = 0
    invoices: int = 0
    payments: int = 0
    time_off: int = 0
    people: list[str] = field(default_factory=list)
    projects: dict[str, dict[str, Any]] = field(default_factory=dict)

    def tick(self) -> datetime:
        self.clock += timedelta(minutes=self.rng.randint(1, 30))
        return self.clock

    def session(self) -> Session:
        return session_factory(self.store)()


def seed(store: Engine, seed_value: int = 1, *, entries: int = 400) -> Firm:
    firm = Firm(store, random.Random(seed_value))
    with firm.session() as session, session.begin():
        _reference(session, firm)
        for _ in range(entries):
            _new_entry(session, firm, _weekday(firm, START, TODAY - timedelta(days=1)))
        _invoice_closed_months(session, firm)
        for _ in range(12):
            _pay(session, firm)
        for _ in range(6):
            _time_off(session, firm)
        _harvest_cursor(session, firm)
    return firm


def _weekday(firm: Firm, start: date, end: date) -> date:
    while True:
        day = start + timedelta(days=firm.rng.randint(0, (end - start).days))
        if day.weekday() < 5:
            return day


def _reference(session: Session, firm: Firm) -> None:
    stamp = firm.clock - timedelta(days=200)
    for c in range(4):
        currency = ("USD", "EUR")[c % 2]
        session.execute(
            insert(CustomerRow),
            [
                {
                    **SOURCED,
                    "id": f"cus_{c}",
                    "source_id": str(c),
                    "updated_at": stamp,
                    "name": f"Customer {c}",
                    "currency": currency,
                    "legal_entity": ("LE-US", "LE-EU")[c % 2],
                    "region": ("Americas", "Europe")[c % 2],
                    "payment_terms_days": 30,
                }
            ],
        )
        session.execute(
            insert(ContractRow),
            [
                {
                    **SOURCED,
                    "id": f"con_{c}",
                    "source_id": str(c),
                    "updated_at": stamp,
                    "customer_id": f"cus_{c}",
                    "name": f"Contract {c}",
                    "billing_model": "time-and-materials",
                    "currency": currency,
                    "status": "activated",
                    "not_to_exceed": Decimal(200_000),
                }
            ],
        )
        for p in range(2):
            pid = f"pro_{c}{p}"
            firm.projects[pid] = {"customer": f"cus_{c}", "contract": f"con_{c}", "cur": currency}
            session.execute(
                insert(ProjectRow),
                [
                    {
                        **SOURCED,
                        "id": pid,
                        "source_id": pid,
                        "updated_at": stamp,
                        "contract_id": f"con_{c}",
                        "customer_id": f"cus_{c}",
                        "code": f"C{c}-{p}",
                        "name": f"Project {c}{p}",
                        "status": "active" if p == 0 else "closed",
                        "practice": ("Strategy", "Technology")[p],
                        "region": ("Americas", "Europe")[c % 2],
                        "legal_entity": ("LE-US", "LE-EU")[c % 2],
                        "currency": currency,
                    }
                ],
            )
    for r in range(6):
        firm.people.append(f"res_{r}")
        session.execute(
            insert(ResourceRow),
            [
                {
                    **SOURCED,
                    "id": f"res_{r}",
                    "source_id": str(r),
                    "updated_at": stamp,
                    "name": f"Person {r}",
                    "role": "Consultant",
                    "practice": ("Strategy", "Technology")[r % 2],
                    "region": ("Americas", "Europe")[r % 2],
                    "cost_rate": Decimal(60),
                    "weekly_capacity_hours": Decimal((40, 32)[r % 2]),
                    "employment_status": "active",
                    "hire_date": date(2026, 8, 3) if r == 5 else None,
                    "termination_date": date(2026, 10, 30) if r == 4 else None,
                }
            ],
        )
    session.execute(
        insert(HolidayRow),
        [
            {"id": i, "region": g, "day": d, "name": n, "source": "seed", "updated_at": stamp}
            for i, g, d, n in (
                ("h1", "Americas", date(2026, 9, 7), "Labor Day"),
                ("h2", None, date(2026, 10, 12), "Company day"),
                ("h3", "Europe", date(2026, 11, 2), "All Souls"),
            )
        ],
    )


def _new_entry(session: Session, firm: Firm, day: date, *, stamp: datetime | None = None) -> str:
    rng = firm.rng
    firm.entries += 1
    eid = f"te_{firm.entries:05d}"
    project = rng.choice(sorted(firm.projects))
    status = rng.choices(["approved", "submitted", "draft", "rejected"], [70, 15, 10, 5])[0]
    worked = datetime(day.year, day.month, day.day, 18, tzinfo=UTC)
    submitted = worked + timedelta(hours=rng.randint(1, 96)) if status != "draft" else None
    approved = (
        submitted + timedelta(hours=rng.randint(1, 240))
        if status == "approved" and submitted
        else None
    )
    if approved is not None and approved > firm.clock:  # not approved yet
        status, approved = "submitted", None
    if submitted is not None and submitted > firm.clock:
        status, submitted = "draft", None
    stamp = stamp or min(approved or submitted or worked, _past(firm))
    hours = Decimal(rng.choice([1, 2, 3.5, 4, 6, 8]))
    rate = Decimal(rng.choice([150, 200, 250]))
    billable = rng.random() < 0.85
    resource = rng.choice([*firm.people, None]) if rng.random() < 0.05 else rng.choice(firm.people)
    session.execute(
        insert(TimeEntryRow),
        [
            {
                **SOURCED,
                "id": eid,
                "source_id": eid,
                "updated_at": stamp,
                "resource_id": resource,
                "project_id": project,
                "task": "Work",
                "spent_date": day,
                "hours": hours,
                "billable": billable,
                "status": status,
                "vendor_rate": rate,
                "submitted_at": submitted,
                "approved_at": approved,
            }
        ],
    )
    if status == "approved" and billable and resource is not None:
        _event(session, firm, eid, min(stamp + timedelta(minutes=rng.randint(1, 600)), _past(firm)))
    return eid


def _past(firm: Firm) -> datetime:
    """A moment of the seeded history: before the clock, spread so stamps rarely coincide."""
    return firm.clock - timedelta(days=1, minutes=firm.rng.randint(0, 5000))


def _event(session: Session, firm: Firm, eid: str, created: datetime) -> None:
    entry = session.get(TimeEntryRow, eid)
    assert entry is not None and entry.project_id is not None and entry.hours is not None
    project = firm.projects[entry.project_id]
    rate = entry.vendor_rate or Decimal(100)
    session.execute(
        insert(BillingEventRow),
        [
            {
                "id": f"be_{eid}",
                "contract_id": project["contract"],
                "project_id": entry.project_id,
                "customer_id": project["customer"],
                "resource_id": entry.resource_id,
                "kind": "time",
                "source_record_id": eid,
                "occurred_on": entry.spent_date,
                "quantity": entry.hours,
                "rate": rate,
                "amount": entry.hours * rate,
                "currency": project["cur"],
                "description": "Work",
                "approved_at": entry.approved_at,
                "created_at": created,
                "updated_at": created,
            }
        ],
    )


def _invoice_closed_months(session: Session, firm: Firm, *, stamp: datetime | None = None) -> None:
    """Invoice every pending event of a month that has ended, per contract, and post it."""
    open_month = TODAY.replace(day=1)
    pending = session.scalars(
        select(BillingEventRow).where(
            BillingEventRow.invoice_id.is_(None), BillingEventRow.occurred_on < open_month
        )
    ).all()
    groups: dict[tuple[str, date], list[BillingEventRow]] = {}
    for event in pending:
        groups.setdefault((event.contract_id, event.occurred_on.replace(day=1)), []).append(event)
    for (contract, month), events in sorted(groups.items()):
        firm.invoices += 1
        iid = f"inv_{firm.invoices:04d}"
        following = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
        created = stamp or datetime(following.year, following.month, 1, 6, tzinfo=UTC)
        posted = stamp or created + timedelta(minutes=firm.rng.randint(1, 3000))
        total = sum((e.amount for e in events), Decimal(0))
        session.execute(
            insert(InvoiceRow),
            [
                {
                    "id": iid,
                    "number": f"P2C-{iid}",
                    "customer_id": events[0].customer_id,
                    "contract_id": contract,
                    "currency": events[0].currency,
                    "period_start": month,
                    "period_end": following - timedelta(days=1),
                    "issue_date": created.date(),
                    "due_date": created.date() + timedelta(days=30),
                    "total": total,
                    "amount_due": total,
                    "status": "posted",
                    "lines": [],
                    "created_at": created,
                    "posted_at": posted,
                    "updated_at": stamp or created + timedelta(days=3),
                }
            ],
        )
        session.execute(
            update(BillingEventRow)
            .where(BillingEventRow.id.in_([e.id for e in events]))
            .values(invoice_id=iid)
        )


def _pay(session: Session, firm: Firm, *, stamp: datetime | None = None) -> None:
    invoices = session.scalars(select(InvoiceRow).order_by(InvoiceRow.id)).all()
    if not invoices:
        return
    invoice = firm.rng.choice(invoices)
    firm.payments += 1
    received = min(invoice.issue_date + timedelta(days=firm.rng.randint(5, 60)), TODAY)
    session.execute(
        insert(PaymentRow),
        [
            {
                **SOURCED,
                "id": f"pay_{firm.payments:04d}",
                "source_id": str(firm.payments),
                "updated_at": stamp or firm.clock - timedelta(days=1),
                "invoice_id": invoice.id,
                "received_on": received,
                "amount": (invoice.total * Decimal(firm.rng.choice([0.5, 1]))).quantize(
                    Decimal("0.01")
                ),
                "currency": invoice.currency,
            }
        ],
    )


def _time_off(session: Session, firm: Firm, *, stamp: datetime | None = None) -> None:
    firm.time_off += 1
    person = firm.rng.choice(firm.people)
    day = _weekday(firm, START, TODAY)
    session.execute(
        insert(TimeOffRow),
        [
            {
                "id": f"off_{firm.time_off}:{day}",
                "request_id": f"off_{firm.time_off}",
                "resource_id": person,
                "day": day,
                "hours": Decimal(firm.rng.choice([4, 8])),
                "kind": "Vacation",
                "status": firm.rng.choice(["approved", "approved", "requested"]),
                "source": "seed",
                "updated_at": stamp or firm.clock - timedelta(days=100),
            }
        ],
    )


def _harvest_cursor(session: Session, firm: Firm) -> None:
    newest = session.scalar(
        select(TimeEntryRow.updated_at).order_by(TimeEntryRow.updated_at.desc())
    )
    if newest is not None:
        set_cursor(session, "harvest", "time_entries", newest.isoformat())


# --- changes -----------------------------------------------------------------------------------


def change(firm: Firm, count: int) -> list[str]:
    """``count`` random changes of the kinds the engine makes; returns their names."""
    kinds = [
        _edit_hours,
        _move_entry,
        _delete_entry,
        _approve,
        _add_entry,
        _invoice_and_post,
        _add_payment,
        _change_person,
        _add_time_off,
        _add_holiday,
    ]
    done = []
    with firm.session() as session, session.begin():
        for _ in range(count):
            kind = firm.rng.choice(kinds)
            kind(session, firm)
            done.append(kind.__name__)
        _harvest_cursor(session, firm)
    return done


def _some_entry(session: Session, firm: Firm, **where: Any) -> TimeEntryRow | None:
    statement = (
        select(TimeEntryRow).where(TimeEntryRow.deleted_at.is_(None)).order_by(TimeEntryRow.id)
    )
    for name, value in where.items():
        statement = statement.where(getattr(TimeEntryRow, name) == value)
    rows = session.scalars(statement).all()
    return firm.rng.choice(rows) if rows else None


def _uninvoiced_event(session: Session, eid: str) -> BillingEventRow | None:
    return session.scalar(
        select(BillingEventRow).where(
            BillingEventRow.source_record_id == eid, BillingEventRow.invoice_id.is_(None)
        )
    )


def _edit_hours(session: Session, firm: Firm) -> None:
    entry = _some_entry(session, firm)
    if entry is None:
        return
    stamp = firm.tick()
    hours = Decimal(firm.rng.choice([0.5, 2, 5, 7]))
    entry.hours, entry.updated_at = hours, stamp
    event = _uninvoiced_event(session, entry.id)
    if event is not None:
        event.quantity, event.amount, event.updated_at = hours, hours * event.rate, stamp


def _move_entry(session: Session, firm: Firm) -> None:
    entry = _some_entry(session, firm)
    if entry is None:
        return
    stamp = firm.tick()
    day = _weekday(firm, START, TODAY - timedelta(days=1))
    person = firm.rng.choice(firm.people)
    entry.spent_date, entry.resource_id, entry.updated_at = day, person, stamp
    event = _uninvoiced_event(session, entry.id)
    if event is not None:
        event.occurred_on, event.resource_id, event.updated_at = day, person, stamp


def _delete_entry(session: Session, firm: Firm) -> None:
    entry = _some_entry(session, firm)
    if entry is None:
        return
    entry.deleted_at = firm.tick()
    session.execute(
        delete(BillingEventRow).where(
            BillingEventRow.source_record_id == entry.id, BillingEventRow.invoice_id.is_(None)
        )
    )


def _approve(session: Session, firm: Firm) -> None:
    entry = _some_entry(session, firm, status="submitted")
    if entry is None:
        return
    stamp = firm.tick()
    entry.status, entry.approved_at, entry.updated_at = "approved", stamp, stamp
    session.flush()
    if entry.billable and entry.resource_id is not None:
        _event(session, firm, entry.id, stamp)


def _add_entry(session: Session, firm: Firm) -> None:
    day = _weekday(firm, TODAY - timedelta(days=20), TODAY)
    _new_entry(session, firm, day, stamp=firm.tick())


def _invoice_and_post(session: Session, firm: Firm) -> None:
    _invoice_closed_months(session, firm, stamp=firm.tick())


def _add_payment(session: Session, firm: Firm) -> None:
    _pay(session, firm, stamp=firm.tick())


def _change_person(session: Session, firm: Firm) -> None:
    person = session.get(ResourceRow, firm.rng.choice(firm.people))
    assert person is not None
    person.weekly_capacity_hours = Decimal(firm.rng.choice([20, 30, 40]))
    if firm.rng.random() < 0.3:
        person.termination_date = _weekday(firm, START, TODAY)
    person.updated_at = firm.tick()


def _add_time_off(session: Session, firm: Firm) -> None:
    _time_off(session, firm, stamp=firm.tick())


def _add_holiday(session: Session, firm: Firm) -> None:
    day = _weekday(firm, START, TODAY)
    session.execute(
        insert(HolidayRow),
        [
            {
                "id": f"h-{day}-{firm.rng.randint(0, 10**6)}",
                "region": firm.rng.choice(["Americas", "Europe", None]),
                "day": day,
                "name": "New holiday",
                "source": "seed",
                "updated_at": firm.tick(),
            }
        ],
    )
