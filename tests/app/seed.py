"""A small, hand-countable store for the dashboard tests, inserted straight through SQLAlchemy.

Expected figures (``today`` is the seeding date, as the page's ``as_of``):

- WIP USD = 1,200 + 600 + 500 = 2,300.00 over 3 events, 14.5 h (ages 10, 45 and 100 days);
  WIP GBP = 720.00 (1 event, 6 h, age 70); WIP EUR = 0.
- Unbilled hours, all currencies: 20.5 h. Billing events: 7. Invoices: 3.
- Posted this month: USD 1,500.00 (1 invoice). Posted to date: USD 1,500.00, EUR 300.00.
- Pending delivery: GBP 600.00 (1 invoice).
- Open exceptions: 2 (one USD 450.00 at risk, one without a value); a resolved USD 999
  does not count.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine

from sync.store.db import session_factory, transaction
from sync.store.tables import (
    BillingEventRow,
    CustomerRow,
    ExceptionRow,
    InvoiceRow,
    ProjectRow,
    ResourceRow,
    SyncRunRow,
)

USD_INVOICE = "P2C-TEST-USD-001"
GBP_INVOICE = "P2C-TEST-GBP-001"
EUR_INVOICE = "P2C-TEST-EUR-001"
INVOICE_NUMBERS = (USD_INVOICE, GBP_INVOICE, EUR_INVOICE)
CUSTOMERS = {
    "c-usd": ("Acme Corp", "USD"),
    "c-gbp": ("Brit Ltd", "GBP"),
    "c-eur": ("Euro GmbH", "EUR"),
}
PROJECTS = {
    "p-usd": ("c-usd", "ACME-01", "Acme data platform"),
    "p-gbp": ("c-gbp", "BRIT-02", "Brit ERP rollout"),
    "p-eur": ("c-eur", "EURO-03", "Euro audit"),
}


def seed(engine: Engine, today: date) -> None:
    """Insert the customers, projects, people, events, invoices, exceptions and sync runs."""
    now = datetime.now(UTC)
    sourced: dict[str, Any] = {"source": "test", "updated_at": now}
    with transaction(session_factory(engine)) as session:
        for cid, (name, currency) in CUSTOMERS.items():
            session.add(CustomerRow(id=cid, name=name, currency=currency, source_id=cid, **sourced))
        for pid, (cid, code, name) in PROJECTS.items():
            currency = CUSTOMERS[cid][1]
            session.add(
                ProjectRow(
                    id=pid,
                    contract_id=f"k-{pid}",
                    customer_id=cid,
                    code=code,
                    name=name,
                    status="active",
                    currency=currency,
                    source_id=pid,
                    **sourced,
                )
            )
        for rid, name in (("r-ada", "Ada Lovelace"), ("r-grace", "Grace Hopper")):
            session.add(
                ResourceRow(
                    id=rid,
                    name=name,
                    weekly_capacity_hours=Decimal(40),
                    employment_status="active",
                    source_id=rid,
                    **sourced,
                )
            )
        session.add_all(_invoices(today, now))
        session.add_all(_events(today, now))
        session.add_all(_exceptions(now))
        session.add_all(
            [
                SyncRunRow(
                    flow="billable",
                    started_at=now - timedelta(minutes=6),
                    finished_at=now - timedelta(minutes=5),
                    status="succeeded",
                ),
                SyncRunRow(
                    flow="invoicing",
                    started_at=now - timedelta(minutes=2),
                    finished_at=now - timedelta(minutes=1),
                    status="failed",
                    error="boom",
                ),
            ]
        )


def _events(today: date, now: datetime) -> list[BillingEventRow]:
    rows = [  # id, project, person, age in days, hours, rate, invoice
        ("e1", "p-usd", "r-ada", 10, "8", "150", None),
        ("e2", "p-usd", "r-grace", 45, "4", "150", None),
        ("e3", "p-usd", "r-ada", 100, "2.5", "200", None),
        ("e4", "p-usd", "r-ada", 40, "10", "150", "inv-usd"),
        ("e5", "p-gbp", "r-grace", 70, "6", "120", None),
        ("e6", "p-gbp", "r-grace", 35, "5", "120", "inv-gbp"),
        ("e7", "p-eur", "r-ada", 80, "3", "100", "inv-eur"),
    ]
    events = []
    for eid, pid, rid, age, hours, rate, invoice in rows:
        cid = PROJECTS[pid][0]
        events.append(
            BillingEventRow(
                id=eid,
                contract_id=f"k-{pid}",
                project_id=pid,
                customer_id=cid,
                resource_id=rid,
                kind="time",
                source_record_id=f"te-{eid}",
                occurred_on=today - timedelta(days=age),
                quantity=Decimal(hours),
                rate=Decimal(rate),
                amount=Decimal(hours) * Decimal(rate),
                currency=CUSTOMERS[cid][1],
                description=f"Work {eid}",
                approved_at=now,
                created_at=now,
                updated_at=now,
                invoice_id=invoice,
            )
        )
    return events


def _invoices(today: date, now: datetime) -> list[InvoiceRow]:
    start = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    end = today.replace(day=1) - timedelta(days=1)
    common: dict[str, Any] = {
        "period_start": start,
        "period_end": end,
        "issue_date": today,
        "due_date": today + timedelta(days=30),
        "created_at": now,
        "updated_at": now,
    }
    line = {
        "description": "Professional services — Ada Lovelace, 10 h",
        "quantity": "10",
        "unit_amount": "150.00",
        "amount": "1500.00",
        "billing_event_ids": ["e4"],
    }
    return [
        InvoiceRow(
            id="inv-usd",
            number=USD_INVOICE,
            customer_id="c-usd",
            contract_id="k-p-usd",
            currency="USD",
            total=Decimal("1500"),
            amount_due=Decimal("1500"),
            status="posted",
            lines=[line],
            posted_at=now,
            **common,
        ),
        InvoiceRow(
            id="inv-gbp",
            number=GBP_INVOICE,
            customer_id="c-gbp",
            contract_id="k-p-gbp",
            currency="GBP",
            total=Decimal("600"),
            amount_due=Decimal("600"),
            status="pending",
            posted_at=None,
            **common,
            lines=[
                {
                    "description": "Professional services — Grace Hopper, 5 h",
                    "quantity": "5",
                    "unit_amount": "120.00",
                    "amount": "600.00",
                }
            ],
        ),
        InvoiceRow(
            id="inv-eur",
            number=EUR_INVOICE,
            customer_id="c-eur",
            contract_id="k-p-eur",
            currency="EUR",
            total=Decimal("300"),
            amount_due=Decimal("0"),
            status="posted",
            posted_at=now - timedelta(days=70),
            **common,
            lines=[
                {
                    "description": "Professional services — Ada Lovelace, 3 h",
                    "quantity": "3",
                    "unit_amount": "100.00",
                    "amount": "300.00",
                }
            ],
        ),
    ]


def _exceptions(now: datetime) -> list[ExceptionRow]:
    common: dict[str, Any] = {
        "flow": "invoicing",
        "stage": "deliver",
        "first_seen": now,
        "last_seen": now,
        "reason": "test",
    }
    return [
        ExceptionRow(
            record_key="x1",
            category="delivery_failed",
            value_at_risk=Decimal("450"),
            currency="USD",
            status="open",
            **common,
        ),
        ExceptionRow(
            record_key="x2",
            category="rate_card_missing",
            value_at_risk=None,
            currency=None,
            status="retrying",
            **common,
        ),
        ExceptionRow(
            record_key="x3",
            category="delivery_failed",
            value_at_risk=Decimal("999"),
            currency="USD",
            status="resolved",
            **common,
        ),
    ]
