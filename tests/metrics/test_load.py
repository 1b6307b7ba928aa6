"""Loading KPI inputs from a store the engine filled from the sandbox, on both dialects."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import polars as pl
from sqlalchemy import Engine, func, select

from metrics import load
from metrics.cycle import cycle_time
from metrics.health import flow_health, open_exceptions
from metrics.wip import wip_aging
from sandbox.server import Sandbox
from sync.engine import FLOWS
from sync.engine import Engine as SyncEngine
from sync.settings import Settings
from sync.store.tables import BillingEventRow, ExceptionRow

TODAY = date(2026, 11, 25)


def test_kpis_from_the_store_match_the_rows_behind_them(store: Engine) -> None:
    box = Sandbox(seed=7, today=TODAY)
    try:
        SyncEngine(
            Settings(),
            store,
            transports=box.transports(),
            clock=lambda: datetime(2026, 11, 25, 12, tzinfo=UTC),
        ).run_once()
    finally:
        box.stop()
    with store.connect() as conn:
        events = load.billing_events(conn)
        runs = load.runs(conn)
        problems = load.exceptions(conn)
        expected_wip = dict(
            conn.execute(
                select(BillingEventRow.currency, func.sum(BillingEventRow.amount))
                .where(BillingEventRow.invoice_id.is_(None))
                .group_by(BillingEventRow.currency)
            ).all()
        )
        open_count = conn.scalar(select(func.count()).select_from(ExceptionRow))
    wip = wip_aging(events, as_of=TODAY).group_by("currency").agg(pl.col("amount").sum())
    assert {c: Decimal(a) for c, a in wip.iter_rows()} == {
        c: Decimal(a).quantize(Decimal("0.01")) for c, a in expected_wip.items()
    }
    cycle = cycle_time(events, start=date(2026, 11, 1), end=TODAY).row(0, named=True)
    assert cycle["events"] == events.filter(pl.col("posted_at").is_not_null()).height > 0
    assert cycle["cycle_time_median"] > 0
    health = flow_health(runs, now=datetime.now(UTC))
    assert set(health["flow"]) == set(FLOWS)
    assert health["failed_runs"].sum() == 0
    assert open_exceptions(problems, now=datetime.now(UTC))["open"].sum() == open_count
