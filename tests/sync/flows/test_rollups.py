"""Rollups kept incrementally equal a full rebuild, after any mix of changes, on both dialects."""

from __future__ import annotations

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from sqlalchemy import Engine, func, select, update

from sync.flows import rollups
from sync.store.db import session_factory, transaction
from sync.store.tables import (
    RollupBillingRow,
    RollupCapacityRow,
    RollupCycleRow,
    RollupMemberRow,
    RollupReceivableRow,
    RollupTimeRow,
    TimeEntryRow,
)
from tests.metrics.seeded import TODAY, change, seed

TABLES = (
    RollupTimeRow,
    RollupBillingRow,
    RollupCapacityRow,
    RollupCycleRow,
    RollupReceivableRow,
    RollupMemberRow,
)


def snapshot(store: Engine) -> dict[str, pl.DataFrame]:
    """Every rollup table's rows, without surrogate ids, sorted, floats rounded to the cent."""
    out = {}
    with store.connect() as connection:
        for model in TABLES:
            table = model.__table__
            columns = [c for c in table.columns if c.name != "id"]  # type: ignore[attr-defined]
            rows = connection.execute(select(*columns)).all()
            frame = pl.DataFrame(
                [tuple(r) for r in rows], schema=[c.name for c in columns], orient="row"
            )
            frame = frame.with_columns(
                pl.col(c).cast(pl.Float64).round(2)
                for c, t in frame.schema.items()
                if (t.is_numeric() and not t.is_integer()) or isinstance(t, pl.Decimal)
            )
            out[table.name] = frame.sort(frame.columns, nulls_last=True)  # type: ignore[attr-defined]
    return out


def refresh(store: Engine) -> rollups.FlowResult:
    with transaction(session_factory(store)) as session:
        return rollups.refresh(session, today=TODAY)


def rebuild(store: Engine) -> None:
    with transaction(session_factory(store)) as session:
        rollups.rebuild(session, today=TODAY)


def assert_same(left: dict[str, pl.DataFrame], right: dict[str, pl.DataFrame]) -> None:
    for name in left:
        assert left[name].height == right[name].height, name
        assert_frame_equal(left[name], right[name], check_dtypes=False)


def test_first_run_builds_every_rollup(store: Engine) -> None:
    seed(store, 3)
    result = refresh(store)
    assert result.notes == ["full rebuild"]
    facts = snapshot(store)
    assert all(facts[t.__tablename__].height > 0 for t in TABLES)
    with store.connect() as connection:
        logged = connection.scalar(
            select(func.sum(TimeEntryRow.hours)).where(TimeEntryRow.spent_date.is_not(None))
        )
    assert facts["rollup_time"]["hours"].sum() == pytest.approx(float(logged))


@pytest.mark.parametrize("seed_value", [1, 2, 3])
def test_incremental_equals_rebuild_after_changes(store: Engine, seed_value: int) -> None:
    firm = seed(store, seed_value)
    refresh(store)
    for _ in range(4):
        kinds = change(firm, 12)
        result = refresh(store)
        assert result.notes != ["full rebuild"], kinds
        incremental = snapshot(store)
        rebuild(store)
        assert_same(incremental, snapshot(store))


def test_nothing_changed_refreshes_little(store: Engine) -> None:
    """With no change, a run recomputes only what the overlap window re-reads, not history."""
    firm = seed(store, 5, entries=600)
    refresh(store)
    change(firm, 1)
    refresh(store)
    quiet = refresh(store)
    with store.connect() as connection:
        cells = connection.scalar(select(func.count()).select_from(RollupCapacityRow))
    assert quiet.records_out < cells / 10


def test_an_entry_moved_to_another_day_leaves_its_old_cell(store: Engine) -> None:
    firm = seed(store, 4)
    refresh(store)
    with transaction(session_factory(store)) as session:
        entry = session.scalars(
            select(TimeEntryRow).where(TimeEntryRow.resource_id.is_not(None)).limit(1)
        ).one()
        old_day, old_person = entry.spent_date, entry.resource_id
        session.execute(
            update(TimeEntryRow)
            .where(TimeEntryRow.id == entry.id)
            .values(spent_date=TODAY, updated_at=firm.tick())
        )
    refresh(store)
    with store.connect() as connection:
        logged = connection.scalar(
            select(func.coalesce(func.sum(TimeEntryRow.hours), 0)).where(
                TimeEntryRow.spent_date == old_day, TimeEntryRow.resource_id == old_person
            )
        )
        rolled = connection.scalar(
            select(func.coalesce(func.sum(RollupTimeRow.hours), 0)).where(
                RollupTimeRow.day == old_day, RollupTimeRow.resource_id == old_person
            )
        )
    assert float(rolled) == pytest.approx(float(logged))


def test_the_engine_keeps_rollups_that_a_rebuild_confirms(store: Engine) -> None:
    from datetime import UTC, datetime

    from sandbox.server import Sandbox
    from sync.engine import FLOWS
    from sync.engine import Engine as SyncEngine
    from sync.settings import Settings

    box = Sandbox(seed=7, today=TODAY)
    try:
        engine = SyncEngine(
            Settings(database_url=str(store.url)),
            store,
            transports=box.transports(),
            clock=lambda: datetime(2026, 11, 25, 12, tzinfo=UTC),
        )
        assert list(FLOWS)[-1] == "rollups"
        first = engine.run_once()
        assert first[-1].flow == "rollups" and first[-1].status == "succeeded"
        engine.run_flow("rollups")
    finally:
        box.stop()
    kept = snapshot(store)
    assert kept["rollup_billing"].height > 0 and kept["rollup_time"].height > 0
    rebuild(store)
    assert_same(kept, snapshot(store))


@pytest.mark.parametrize("built_before", [False, True])
def test_billing_dated_before_any_time_is_rolled_up(store: Engine, built_before: bool) -> None:
    """A milestone (no time entry) dated months before the first time entry is WIP in the
    rollups as in the raw records, whether a rebuild or an incremental run first sees it."""
    from datetime import UTC, date, datetime
    from decimal import Decimal

    import polars as pl
    from sqlalchemy import insert

    from metrics.report import executive_kpis
    from sync.store.tables import BillingEventRow

    seed(store, 6)
    if built_before:
        refresh(store)
    stamp = datetime(2026, 11, 25, 9, tzinfo=UTC)
    with transaction(session_factory(store)) as session:
        first = session.scalar(select(func.min(TimeEntryRow.spent_date)))
        assert first is not None and first > date(2026, 3, 16)
        session.execute(
            insert(BillingEventRow),
            [{"id": "be_ms_1", "contract_id": "con_1", "project_id": "pro_10",
              "customer_id": "cus_1", "resource_id": None, "kind": "milestone",
              "source_record_id": "ms_1", "occurred_on": date(2026, 3, 16),
              "quantity": Decimal(1), "rate": Decimal(5000), "amount": Decimal(5000),
              "currency": "EUR", "description": "Design sign-off", "approved_at": stamp,
              "created_at": stamp, "updated_at": stamp}],
        )  # fmt: skip
    refresh(store)
    kept = snapshot(store)
    rebuild(store)
    assert_same(kept, snapshot(store))
    with store.connect() as connection:
        rolled = executive_kpis(connection, as_of=TODAY).wip
        raw = executive_kpis(connection, as_of=TODAY, source="raw").wip
    eur_old = pl.col("currency").eq("EUR") & pl.col("bucket").cast(pl.String).eq("90+")
    assert float(raw.filter(eur_old)["amount"].sum()) >= 5000
    assert_frame_equal(
        rolled.with_columns(pl.col("amount", "hours").round(2)),
        raw.with_columns(pl.col("amount", "hours").cast(pl.Float64).round(2)),
        check_dtypes=False,
    )
