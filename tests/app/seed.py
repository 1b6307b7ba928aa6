"""A small, hand-countable store for the dashboard tests, inserted straight through SQLAlchemy.

Expected figures (``today`` is the seeding date, as the page's ``as_of``):

- WIP USD = 1,200 + 600 + 500 = 2,300.00 over 3 events, 14.5 h (ages 10, 45 and 100 days);
  WIP GBP = 720.00 (1 event, 6 h, age 70); WIP EUR = 0.
- Unbilled hours, all currencies: 20.5 h. Billing events: 7. Invoices: 3.
- Posted this month: USD 1,500.00 (1 invoice). Posted to date: USD 1,500.00, EUR 300.00.
- Pending delivery: GBP 600.00 (1 invoice).
- Open exceptions: 2 (one USD 450.00 at risk, one without a value); a resolved USD 999
  does not count.

:func:`seed_operations` adds, on top (for the Exceptions and Integration health pages):

- four ``billable`` exceptions: ``negative_hours`` (open, a Harvest time entry of -2 h that an
  edit to 2 h makes billable: USD 300.00), ``over_24h`` (open, USD 4,500.00, 10 days old,
  assigned, with an audit row), ``no_assignment`` (open, GBP 240.00, 2 h old) and an ignored
  ``negative_hours``. With the base seed: 5 open; at risk USD 4,950.00 and GBP 240.00; oldest
  open 10 days; 4 first seen in the last 24 h (x1, x2, x3 and the ``no_assignment``).
- the reference data the fixable entry needs (contract, rate card, project, person, assignment);
- runs: ``billable`` 4 runs, 1 failed (error rate 25 %), 120 records in 6 min (20/min), last
  success 5 min ago (stale: its interval is 1 min); ``outbox`` on time; ``invoicing`` never
  succeeded;
- vendor call spans: harvest 20 calls of 10, 20 … 200 ms (p95 190 ms), 1 retry, 1 error;
  xero 4 calls, 1 retry, one 429, 2 errors.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine

from collectors.entities import canonical_id
from sync.store.db import session_factory, transaction
from sync.store.tables import (
    AssignmentRow,
    AuditRow,
    BillingEventRow,
    BusinessEventRow,
    ContractRow,
    CustomerRow,
    ExceptionRow,
    InvoiceRow,
    ProjectRow,
    RateCardRow,
    ResourceRow,
    SpanRow,
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


# --- operations: exceptions, audit, journeys, runs and vendor calls ------------------------------

HARVEST_PROJECT, HARVEST_USER, HARVEST_ENTRY = 9001, 501, 777001
FIXABLE_ENTRY = canonical_id("harvest", "time_entry", HARVEST_ENTRY)
FIXABLE_KEY = f"harvest:time_entry:{HARVEST_ENTRY}"
OVER_24H_KEY = "harvest:time_entry:777002"
BILLABLE_ERROR = "HTTP 503 from Harvest GET /v2/time_entries after 3 attempts (Service Unavailable)"
ASSIGNEE = "ops@firm.example"


def harvest_entry(entry_id: int, hours: float, spent: date, now: datetime) -> dict[str, Any]:
    """A closed (approved) billable Harvest v2 time entry, as the API sends it."""
    return {
        "id": entry_id,
        "spent_date": spent.isoformat(),
        "hours": hours,
        "billable": True,
        "is_closed": True,
        "is_billed": False,
        "billable_rate": 150.0,
        "notes": "Data pipeline work",
        "user": {"id": HARVEST_USER, "name": "Ada Lovelace"},
        "client": {"id": 42, "name": "Acme Corp"},
        "project": {"id": HARVEST_PROJECT, "name": "Acme data platform"},
        "task": {"id": 7, "name": "Development"},
        "created_at": now.isoformat(),
        "updated_at": now.isoformat(),
        "invoice": None,
    }


def seed_operations(engine: Engine, now: datetime) -> dict[str, int]:
    """Add the operations rows described above; returns exception ids by record key."""
    with transaction(session_factory(engine)) as session:
        session.add_all(_reference(now))
        rows = _ops_exceptions(now)
        session.add_all(rows)
        session.flush()
        ids = {row.record_key: row.id for row in rows}
        session.add(
            AuditRow(
                at=now - timedelta(days=1),
                actor="lead@firm.example",
                action="exception.assign",
                target=f"exception:{ids[OVER_24H_KEY]}",
                detail={"assignee": ASSIGNEE},
            )
        )
        session.add(
            BusinessEventRow(
                name="billing_event.rejected",
                entity_type="time_entry",
                entity_id=FIXABLE_ENTRY,
                occurred_at=now - timedelta(days=3),
                recorded_at=now - timedelta(days=3),
                trace_id="a" * 32,
                attributes={},
            )
        )
        session.add_all(_ops_runs(now))
        session.add_all(_spans(now))
    return ids


def _reference(now: datetime) -> list[Any]:
    sourced: dict[str, Any] = {"source": "test", "updated_at": now}
    project = canonical_id("harvest", "project", HARVEST_PROJECT)
    person = canonical_id("harvest", "resource", HARVEST_USER)
    return [
        ContractRow(
            id="k-ops",
            customer_id="c-usd",
            name="Acme T&M",
            billing_model="time-and-materials",
            currency="USD",
            rate_card_id="rc-ops",
            not_to_exceed=None,
            start=date(2020, 1, 1),
            end=None,
            status="active",
            source_id="k-ops",
            **sourced,
        ),
        RateCardRow(
            id="rc-ops",
            contract_id="k-ops",
            currency="USD",
            lines=[{"role": "consultant", "rate": "150", "effective_from": "2020-01-01"}],
            source_id="rc-ops",
            **sourced,
        ),
        ProjectRow(
            id=project,
            contract_id="k-ops",
            customer_id="c-usd",
            code="ACME-H",
            name="Acme data platform (Harvest)",
            status="active",
            currency="USD",
            source_id=str(HARVEST_PROJECT),
            **sourced,
        ),
        ResourceRow(
            id=person,
            name="Ada Lovelace",
            role="consultant",
            weekly_capacity_hours=Decimal(40),
            employment_status="active",
            source_id=str(HARVEST_USER),
            **sourced,
        ),
        AssignmentRow(
            id="as-ops",
            project_id=project,
            resource_id=person,
            role="consultant",
            active=True,
            source_id="as-ops",
            **sourced,
        ),
    ]


def _ops_exceptions(now: datetime) -> list[ExceptionRow]:
    spent = (now - timedelta(days=4)).date()

    def held(key: str, category: str, reason: str, age: timedelta, **extra: Any) -> ExceptionRow:
        fields: dict[str, Any] = {
            "flow": "billable",
            "stage": "validate",
            "entity_type": "time_entry",
            "status": "open",
            "attempts": 1,
            "value_at_risk": None,
            "currency": None,
            "trace_id": "a" * 32,
        } | extra
        return ExceptionRow(
            record_key=key,
            category=category,
            reason=reason,
            first_seen=now - age,
            last_seen=now - age / 2,
            **fields,
        )

    return [
        held(
            FIXABLE_KEY,
            "negative_hours",
            "-2.0 hours is negative; correct the entry in Harvest.",
            timedelta(days=3),
            payload=harvest_entry(HARVEST_ENTRY, -2.0, spent, now),
            entity_id=FIXABLE_ENTRY,
            currency="USD",
            attempts=2,
        ),
        held(
            OVER_24H_KEY,
            "over_24h",
            f"30.0 hours on {spent} is more than a day holds.",
            timedelta(days=10),
            payload=harvest_entry(777002, 30.0, spent, now),
            entity_id=canonical_id("harvest", "time_entry", 777002),
            value_at_risk=Decimal("4500"),
            currency="USD",
            assignee=ASSIGNEE,
        ),
        held(
            "harvest:time_entry:777003",
            "no_assignment",
            "Grace Hopper is not assigned to project Brit ERP rollout; add the assignment.",
            timedelta(hours=2),
            payload=harvest_entry(777003, 2.0, spent, now),
            entity_id=canonical_id("harvest", "time_entry", 777003),
            value_at_risk=Decimal("240"),
            currency="GBP",
        ),
        held(
            "harvest:time_entry:777004",
            "negative_hours",
            "-1.0 hours is negative; correct the entry in Harvest.",
            timedelta(days=20),
            payload=harvest_entry(777004, -1.0, spent, now),
            entity_id=canonical_id("harvest", "time_entry", 777004),
            status="ignored",
        ),
    ]


def _ops_runs(now: datetime) -> list[SyncRunRow]:
    def run(flow: str, ended: timedelta, minutes: int, status: str, **extra: Any) -> SyncRunRow:
        finished = now - ended
        return SyncRunRow(
            flow=flow,
            started_at=finished - timedelta(minutes=minutes),
            finished_at=finished,
            status=status,
            **extra,
        )

    return [
        run("billable", timedelta(hours=2), 2, "succeeded", records_in=60, exceptions=3),
        run("billable", timedelta(hours=1), 2, "succeeded", records_in=60, exceptions=3),
        run("billable", timedelta(minutes=30), 1, "failed", error=BILLABLE_ERROR),
        run("outbox", timedelta(seconds=30), 1, "succeeded", records_in=4),
    ]


def _spans(now: datetime) -> list[SpanRow]:
    calls = [  # vendor, duration ms, attempt, HTTP status, span status
        *(("harvest", 10.0 * i, 1, 200, "ok") for i in range(1, 19)),
        ("harvest", 190.0, 2, 200, "ok"),
        ("harvest", 200.0, 1, 503, "error"),
        ("xero", 100.0, 1, 200, "ok"),
        ("xero", 250.0, 1, 429, "error"),
        ("xero", 300.0, 2, 200, "ok"),
        ("xero", 400.0, 1, 503, "error"),
    ]
    spans = []
    for i, (vendor, duration, attempt, code, status) in enumerate(calls):
        start = now - timedelta(minutes=3 * (len(calls) - i))
        spans.append(
            SpanRow(
                span_id=f"{i + 1:016x}",
                trace_id="b" * 32,
                parent_span_id=None,
                name=f"{vendor} GET /resource",
                kind="client",
                start_time=start,
                end_time=start + timedelta(milliseconds=duration),
                duration_ms=duration,
                status=status,
                attributes={
                    "vendor": vendor,
                    "http.method": "GET",
                    "attempt": attempt,
                    "http.status_code": code,
                },
            )
        )
    return spans
