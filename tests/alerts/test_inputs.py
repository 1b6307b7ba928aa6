"""The SLIs read from a seeded store (both dialects), and the default rules evaluated without
error over a sandbox firm's store after an engine run."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, insert

from alerts import slo
from alerts.evaluate import evaluate
from alerts.evaluate_slo import judged
from alerts.inputs import read_inputs
from alerts.rules import load_rules
from sandbox.server import Sandbox
from sync.engine import Engine as SyncEngine
from sync.settings import Settings
from sync.store.db import session_factory
from sync.store.tables import (
    BillingEventRow,
    BusinessEventRow,
    InvoiceRow,
    SyncRunRow,
    TimeEntryRow,
)

NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)
H = timedelta(hours=1)
LIVE = NOW - timedelta(days=10)  # every flow first ran then


def _entry(i: int, approved: datetime, billed_after: timedelta | None) -> list[tuple[Any, dict]]:
    entry = {
        "id": f"te{i}", "source": "harvest", "source_id": str(i), "updated_at": approved,
        "schema_version": 1, "resource_id": "r", "project_id": "p",
        "spent_date": date(2026, 3, 1), "hours": Decimal(2), "billable": True,
        "status": "approved", "approved_at": approved,
    }  # fmt: skip
    rows: list[tuple[Any, dict]] = [(TimeEntryRow, entry)]
    if billed_after is not None:
        made = approved + billed_after
        rows.append((BillingEventRow, {
            "id": f"be{i}", "contract_id": "c", "project_id": "p", "customer_id": "cu",
            "resource_id": "r", "kind": "time", "source_record_id": f"te{i}",
            "occurred_on": date(2026, 3, 1), "quantity": Decimal(2), "rate": Decimal(100),
            "amount": Decimal(200), "currency": "EUR", "description": "work",
            "approved_at": approved, "created_at": made, "updated_at": made}))  # fmt: skip
    return rows


def _invoice(i: int, created: datetime, posted_after: timedelta | None) -> tuple[Any, dict]:
    return InvoiceRow, {
        "id": f"inv{i}", "number": f"P2C-{i}", "customer_id": f"cu{i % 2}", "contract_id": "c",
        "currency": "EUR", "period_start": date(2026, 2, 1), "period_end": date(2026, 2, 28),
        "issue_date": date(2026, 3, 1), "due_date": date(2026, 3, 31), "total": Decimal(100),
        "status": "posted" if posted_after else "pending", "lines": [], "created_at": created,
        "posted_at": created + posted_after if posted_after else None, "updated_at": created,
    }  # fmt: skip


def _event(name: str, entity: str, at: datetime) -> tuple[Any, dict]:
    return BusinessEventRow, {"name": name, "entity_type": "x", "entity_id": entity,
                              "occurred_at": at, "recorded_at": at, "attributes": {}}  # fmt: skip


def _seed(store: Engine) -> None:
    rows = [
        *_entry(1, NOW - 30 * H, H),  # billed in 1 h: good
        *_entry(2, NOW - 30 * H, 26 * H),  # billed after 26 h: bad
        *_entry(3, NOW - 30 * H, None),  # never billed, deadline passed: bad
        *_entry(4, NOW - 2 * H, None),  # inside its 24 h: not judged
        *_entry(5, LIVE - 5 * H, H),  # before go-live: not counted
        _invoice(1, NOW - 5 * H, timedelta(minutes=10)),  # good
        _invoice(2, NOW - 5 * H, None),  # not posted after 5 h: bad
        _invoice(3, NOW - timedelta(minutes=20), None),  # inside its hour
        _event("payment.received", "inv0", NOW - 40 * H),  # customer cu0 ...
        _event("receivable.written", "cu0", NOW - 39 * H),  # ... reflected within 1 h: good
        _event("payment.received", "inv1", NOW - 50 * H),  # customer cu1: never reflected
        _event("receivable.written", "cu1", NOW - 51 * H),  # (written before the payment)
        _invoice(0, NOW - 60 * H, timedelta(minutes=1)),
    ]
    runs = [{"flow": f, "started_at": LIVE, "finished_at": LIVE + H, "status": "succeeded"}
            for f in ("billable", "outbox", "status_back")]  # fmt: skip
    with session_factory(store)() as session, session.begin():
        for table, row in rows:
            session.execute(insert(table), [row])
        session.execute(insert(SyncRunRow), runs)


def test_slis_from_the_store(store: Engine) -> None:
    _seed(store)
    tables = [{"name": f"s-{name}", "kind": "slo", "sli": name} for name in slo.SLIS]
    rules = load_rules(tables)
    with store.connect() as connection:
        inputs = read_inputs(connection, Settings(), NOW, rules)
    assert inputs.errors == {}
    counts = {}
    for rule in rules:
        decided = judged(rule, inputs, NOW)  # type: ignore[arg-type]
        counts[rule.sli] = (decided.height, int((~decided["good"]).sum()))  # type: ignore[union-attr]
    assert counts == {
        "billable_within_24h": (3, 2),
        "posted_within_1h": (3, 1),  # inv0 (good), inv1 (good), inv2 (bad)
        "crm_within_24h": (2, 1),
    }


def test_the_default_rules_evaluate_without_error_on_a_sandbox_firm(store: Engine) -> None:
    today = date(2026, 11, 25)
    clock = datetime(2026, 11, 25, 12, tzinfo=UTC)
    box = Sandbox(seed=7, today=today)
    try:
        reports = SyncEngine(
            Settings(), store, transports=box.transports(), clock=lambda: clock
        ).run_once()
    finally:
        box.stop()
    assert {r.status for r in reports} == {"succeeded"}
    rules = load_rules(None)
    settings = Settings()
    with store.connect() as connection:
        inputs = read_inputs(connection, settings, clock + timedelta(hours=1), rules)
    results = evaluate(rules, inputs, clock + timedelta(hours=1), "http://localhost:8501")
    assert inputs.errors == {}
    assert [(r.policy.name, r.error) for r in results if r.error] == []
    assert [r.policy.name for r in results] == [rule.name for rule in rules]
    fired = [a for r in results for a in r.alerts]
    assert all(a.link.startswith("http://localhost:8501/") for a in fired)
    # the sandbox firm plants billing faults: its held work is at risk
    assert any(a.rule == "exceptions-value-at-risk" for a in fired), [a.summary for a in fired]
