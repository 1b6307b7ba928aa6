"""Flows may run in any order (on a schedule they do): time that arrives before its reference
data waits as an exception and flows once the reference data is there."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import Engine, func, select

from sandbox.server import Sandbox
from sync.engine import Engine as SyncEngine
from sync.settings import Settings
from sync.store.db import session_factory
from sync.store.tables import ExceptionRow


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    box = Sandbox(seed=5, today=date(2026, 11, 25))
    yield box
    box.stop()


def test_time_synced_before_its_projects_is_billed_once_they_arrive(
    sandbox: Sandbox, sqlite_store: Engine
) -> None:
    engine = SyncEngine(
        Settings(),
        sqlite_store,
        transports=sandbox.transports(),
        clock=lambda: datetime(2026, 11, 25, 12, tzinfo=UTC),
    )
    assert engine.run_flow("billable").status == "succeeded"
    with session_factory(sqlite_store)() as s:
        waiting = s.scalar(
            select(func.count())
            .select_from(ExceptionRow)
            .where(ExceptionRow.category == "unknown_project", ExceptionRow.status == "open")
        )
    assert waiting and waiting > 100
    engine.run_once()
    with session_factory(sqlite_store)() as s:
        still_open = dict(
            s.execute(
                select(ExceptionRow.category, func.count())
                .where(ExceptionRow.status == "open")
                .group_by(ExceptionRow.category)
            ).all()
        )
    planted = sandbox.firm.faults.values()
    assert still_open == {c: list(planted).count(c) for c in set(planted)}
    totals = {i["InvoiceNumber"]: Decimal(str(i["Total"])) for i in sandbox.xero.invoices()}
    assert sum(totals.values()) == sum(e["total"] for e in sandbox.firm.expected_invoices())
    assert len(totals) == len(sandbox.firm.expected_invoices())
