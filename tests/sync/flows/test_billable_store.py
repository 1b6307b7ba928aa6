"""The hot-path upsert on both dialects: a row that arrives again unchanged is not rewritten
(its ``updated_at`` keeps meaning "last changed"), a changed one is, nulls compare as values, and
an invoiced row stays protected; and flow 3 run twice over the same time leaves its billing events
untouched the second time."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import polars as pl
import pytest
from sqlalchemy import Engine, select, update

from sync.pipeline import Behind
from sync.store.db import session_factory, transaction, upsert_frame
from sync.store.tables import BillingEventRow

MONEY = pl.Decimal(18, 4)
FIRST = datetime(2026, 11, 1, 12, tzinfo=UTC)
LATER = datetime(2026, 11, 2, 8, tzinfo=UTC)
COMPARED = ["quantity", "amount", "resource_id", "approved_at"]
R = TypeVar("R")


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


def test_thousands_of_rows_are_written_across_statements_and_a_repeated_key_updates(
    store: Engine,
) -> None:
    """SQLite takes many rows per statement (as many as its bound-variable limit allows): every
    row of a write bigger than one statement lands, and a key twice in one write ends as its
    later row, as one row per statement does (PostgreSQL's path)."""
    many = pl.concat(
        [
            _events(FIRST).with_columns(pl.col("id", "source_record_id") + f"_{n}")
            for n in range(700)
        ]
    ).with_columns(invoice_id=pl.lit(None, dtype=pl.String))
    again = many.head(1).with_columns(amount=pl.lit(Decimal("99")).cast(MONEY))
    _write(store, pl.concat([many, again]))
    rows = _stored(store)
    assert len(rows) == many.height == 2_800
    assert rows[many["id"][0]].amount == Decimal("99")
    assert {r.amount for k, r in rows.items() if k != many["id"][0]} == {Decimal("1125")}


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


Stored = tuple[list[tuple[object, ...]], ...]


def _flow_3(
    path: Path, *, cap: Decimal | None = None, day_of: Callable[[Any], None] | None = None
) -> Stored:
    """Flow 3 run on the small sandbox firm (50-entry pages) into a new store at ``path`` (every
    contract capped at ``cap``, ``day_of`` given the Harvest emulator before the run, when
    given): its time entries, billing events and exceptions."""
    from sandbox.server import Sandbox
    from sync.engine import Engine as SyncEngine
    from sync.settings import Settings
    from sync.store.db import make_engine
    from sync.store.migrate import upgrade
    from sync.store.tables import ContractRow, ExceptionRow, TimeEntryRow

    store = make_engine(f"sqlite:///{path}")
    upgrade(store)
    with Sandbox(seed=7, today=date(2026, 11, 25)) as box:
        if day_of is not None:
            day_of(box.harvest)
        settings = Settings(database_url=str(store.url))
        settings = settings.model_copy(
            update={"harvest": settings.harvest.model_copy(update={"per_page": 50})}
        )
        engine = SyncEngine(settings, store, transports=box.transports())
        engine.run_flow("reference")
        if cap is not None:
            with transaction(session_factory(store)) as s:
                s.execute(update(ContractRow).values(not_to_exceed=cap))
        assert engine.run_flow("billable").status == "succeeded"
    with session_factory(store)() as s:
        return (
            sorted(tuple(r) for r in s.execute(select(TimeEntryRow.id, TimeEntryRow.hours))),
            sorted(tuple(r) for r in s.execute(select(BillingEventRow.id, BillingEventRow.amount))),
            sorted(
                tuple(r)
                for r in s.execute(
                    select(ExceptionRow.record_key, ExceptionRow.category, ExceptionRow.reason)
                )
            ),
        )


def test_pages_batched_in_one_transaction_store_what_page_by_page_stores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sync.flows import billable

    def stored(batch: int) -> Stored:
        monkeypatch.setattr(billable, "BATCH_RECORDS", batch)
        return _flow_3(tmp_path / f"b{batch}.db")

    one_page_each, batched = stored(1), stored(10_000)
    assert one_page_each == batched and all(one_page_each)


class OneAtATime(Behind[R]):
    """Each batch stored as soon as it is checked, before the next is read."""

    def submit(self, work: Callable[..., R], *args: Any) -> None:
        self.done.append(work(*args))


@pytest.fixture
def pipelined(monkeypatch: pytest.MonkeyPatch) -> Callable[..., tuple[Stored, Stored]]:
    """Flow 3 (``_flow_3``) a page per batch, each batch stored while the next is checked and
    slowly (so the check runs before the commit), then one batch at a time: both results."""
    from sync.flows import billable

    store_batch = billable._store_batch

    def slow_store(*args: Any) -> Any:
        time.sleep(0.2)
        return store_batch(*args)

    def both(path: Path, **options: Any) -> tuple[Stored, Stored]:
        monkeypatch.setattr(billable, "BATCH_RECORDS", 1)
        monkeypatch.setattr(billable, "_store_batch", slow_store)
        overlapped = _flow_3(path / "pipelined.db", **options)
        monkeypatch.setattr(billable, "Behind", OneAtATime)
        return overlapped, _flow_3(path / "sequential.db", **options)

    return both


def test_a_cap_counts_what_the_batch_being_stored_commits(
    tmp_path: Path, pipelined: Callable[..., tuple[Stored, Stored]]
) -> None:
    """Flow 3 checks a batch while the one before is stored; a contract's cap, crossed a few
    batches in, still counts what that batch commits."""
    overlapped, one_at_a_time = pipelined(tmp_path, cap=Decimal(20_000))
    assert overlapped == one_at_a_time
    assert "over_cap" in {category for _, category, _ in overlapped[2]}


def test_a_day_shared_with_the_batch_being_stored_counts_its_entries(
    tmp_path: Path, pipelined: Callable[..., tuple[Stored, Stored]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pages cut inside a day (not whole days, as Harvest serves them): a person's 60 one-hour
    entries of one day span batches, and the hours of the batch being stored still count
    toward the day's 24."""
    from collectors import harvest

    def long_day(emulator: Any) -> None:
        entry = next(e for e in emulator.entries() if e["is_closed"] and e["billable"])
        for n in range(60):
            emulator.add_entry(
                user_id=entry["user_id"],
                project_id=entry["project_id"],
                spent_date=entry["spent_date"],
                hours=1.0,
                notes=f"hour {n}",  # not copies of one another
                approved=True,
            )

    monkeypatch.setattr(harvest, "whole_days", lambda pages: pages)
    overlapped, one_at_a_time = pipelined(tmp_path, day_of=long_day)
    assert overlapped == one_at_a_time
    over = [key for key, category, _ in overlapped[2] if category == "over_24h"]
    assert len(over) >= 36, over
