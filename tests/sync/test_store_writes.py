"""The hot-path upsert on both dialects: a row that arrives again unchanged is not rewritten
(its ``updated_at`` keeps meaning "last changed"), a changed one is, nulls compare as values, and
an invoiced row stays protected; and flow 3 run twice over the same time leaves its billing events
untouched the second time."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import Engine, select

from sync.store.db import session_factory, transaction, upsert_frame
from sync.store.tables import BillingEventRow

MONEY = pl.Decimal(18, 4)
FIRST = datetime(2026, 11, 1, 12, tzinfo=UTC)
LATER = datetime(2026, 11, 2, 8, tzinfo=UTC)
COMPARED = ["quantity", "amount", "resource_id", "approved_at"]


def _events(moment: datetime, **over: object) -> pl.DataFrame:
    rows = [
        {
            "id": f"be_{i}",
            "contract_id": "con",
            "project_id": "prj",
            "customer_id": "cus",
            "resource_id": None if i == 3 else "res",
            "kind": "time",
            "source_record_id": f"te_{i}",
            "occurred_on": date(2026, 10, 5),
            "quantity": Decimal("7.5"),
            "rate": Decimal("150"),
            "amount": Decimal("1125"),
            "currency": "USD",
            "description": "work",
            "approved_at": FIRST,
            "created_at": moment,
            "updated_at": moment,
            "invoice_id": "inv_1" if i == 4 else None,
        }
        for i in range(1, 5)
    ]
    frame = pl.DataFrame(
        rows,
        schema_overrides={"quantity": MONEY, "rate": MONEY, "amount": MONEY},
    )
    return frame.with_columns(**{k: pl.lit(v) for k, v in over.items()}) if over else frame


def _write(store: Engine, frame: pl.DataFrame) -> None:
    with transaction(session_factory(store)) as s:
        upsert_frame(
            s,
            BillingEventRow,
            frame,
            keys=["id"],
            update=[*COMPARED, "updated_at"],
            unless_set="invoice_id",
            when_changed=COMPARED,
        )


def _stored(store: Engine) -> dict[str, BillingEventRow]:
    with session_factory(store)() as s:
        return {r.id: r for r in s.scalars(select(BillingEventRow))}


def test_an_unchanged_row_is_not_rewritten(store: Engine) -> None:
    _write(store, _events(FIRST))
    _write(store, _events(LATER))
    assert {r.updated_at for r in _stored(store).values()} == {FIRST}


def test_a_changed_row_is_rewritten_and_nulls_compare_as_values(store: Engine) -> None:
    _write(store, _events(FIRST))
    changed = _events(LATER).with_columns(
        amount=pl.when(pl.col("id") == "be_1")
        .then(pl.lit(Decimal("1200")).cast(MONEY))
        .otherwise(pl.col("amount")),
        resource_id=pl.when(pl.col("id") == "be_3").then(pl.lit("res")).otherwise("resource_id"),
    )
    _write(store, changed)
    rows = _stored(store)
    assert rows["be_1"].amount == Decimal("1200") and rows["be_1"].updated_at == LATER
    assert rows["be_3"].resource_id == "res" and rows["be_3"].updated_at == LATER  # null → value
    assert rows["be_2"].updated_at == FIRST  # unchanged


def test_an_invoiced_row_stays_protected_even_when_it_changed(store: Engine) -> None:
    _write(store, _events(FIRST))
    _write(store, _events(LATER, amount=Decimal("1")))
    rows = _stored(store)
    assert rows["be_4"].amount == Decimal("1125") and rows["be_4"].updated_at == FIRST
    assert rows["be_1"].amount == Decimal("1")


def test_flow_3_over_the_same_time_again_changes_nothing(sqlite_store: Engine) -> None:
    from sqlalchemy import delete, func

    from sandbox.server import Sandbox
    from sync.engine import Engine as SyncEngine
    from sync.settings import Settings
    from sync.store.tables import BusinessEventRow, CursorRow

    with Sandbox(seed=7, today=date(2026, 11, 25)) as box:
        engine = SyncEngine(
            Settings(database_url=str(sqlite_store.url)), sqlite_store, transports=box.transports()
        )
        engine.run_flow("reference")
        first = engine.run_flow("billable")
        sessions = session_factory(sqlite_store)
        with sessions() as s:
            before = {r.id: r.updated_at for r in s.scalars(select(BillingEventRow))}
            events = s.scalar(select(func.count()).select_from(BusinessEventRow))
        with transaction(sessions) as s:  # forget the cursor: every page comes again
            s.execute(delete(CursorRow))
        again = engine.run_flow("billable")
    with sessions() as s:
        after = {r.id: r.updated_at for r in s.scalars(select(BillingEventRow))}
        assert s.scalar(select(func.count()).select_from(BusinessEventRow)) == events
    assert first.result.records_out == len(before) > 0 and again.result.records_out == 0
    assert after == before


def test_pages_batched_in_one_transaction_store_what_page_by_page_stores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sandbox.server import Sandbox
    from sync.engine import Engine as SyncEngine
    from sync.flows import billable
    from sync.settings import Settings
    from sync.store.db import make_engine
    from sync.store.migrate import upgrade
    from sync.store.tables import ExceptionRow, TimeEntryRow

    def stored(batch: int) -> tuple[list[object], ...]:
        monkeypatch.setattr(billable, "BATCH_RECORDS", batch)
        store = make_engine(f"sqlite:///{tmp_path / f'b{batch}.db'}")
        upgrade(store)
        with Sandbox(seed=7, today=date(2026, 11, 25)) as box:
            settings = Settings(database_url=str(store.url))
            settings = settings.model_copy(
                update={"harvest": settings.harvest.model_copy(update={"per_page": 50})}
            )
            engine = SyncEngine(settings, store, transports=box.transports())
            engine.run_flow("reference")
            assert engine.run_flow("billable").status == "succeeded"
        with session_factory(store)() as s:
            return (
                sorted(tuple(r) for r in s.execute(select(TimeEntryRow.id, TimeEntryRow.hours))),
                sorted(
                    tuple(r) for r in s.execute(select(BillingEventRow.id, BillingEventRow.amount))
                ),
                sorted(
                    tuple(r)
                    for r in s.execute(select(ExceptionRow.record_key, ExceptionRow.category))
                ),
            )

    one_page_each, batched = stored(1), stored(10_000)
    assert one_page_each == batched and all(one_page_each)
