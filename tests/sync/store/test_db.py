"""The store on SQLite and PostgreSQL: migrations, upserts, UTC, exceptions, cursors."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import Engine, func, inspect, select, text

from sync.store.db import session_factory, transaction, upsert
from sync.store.migrate import current, heads, ours
from sync.store.repo import (
    Problem,
    get_cursor,
    link,
    report_problems,
    resolve_problems,
    set_cursor,
)
from sync.store.tables import BillingEventRow, ExceptionRow, XrefRow, metadata


def test_migrations_create_every_table(store: Engine) -> None:
    assert current(store) == heads()
    assert len(heads()) == 1, "migrations must form one line: set down_revision to the head"
    assert set(metadata.tables) <= set(inspect(store).get_table_names())


def test_migrations_match_the_table_definitions(store: Engine) -> None:
    """A table or column added to ``tables.py`` without a migration fails here (the work
    queue's tables are procrastinate's, made from its schema SQL, and are left out)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with store.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_name": ours})
        diff = compare_metadata(context, metadata)
    assert diff == []


def test_sqlite_runs_in_wal_mode(sqlite_store: Engine) -> None:
    with sqlite_store.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"


def _event(i: int, amount: str, invoice: str | None = None) -> dict[str, object]:
    moment = datetime(2026, 11, 1, 12, tzinfo=UTC)
    return {
        "id": f"be_{i}",
        "contract_id": "con",
        "project_id": "prj",
        "customer_id": "cus",
        "resource_id": "res",
        "kind": "time",
        "source_record_id": f"te_{i}",
        "occurred_on": date(2026, 10, 5),
        "quantity": Decimal("7.5"),
        "rate": Decimal("150"),
        "amount": Decimal(amount),
        "currency": "USD",
        "description": "work",
        "approved_at": moment,
        "created_at": moment,
        "updated_at": moment,
        "invoice_id": invoice,
    }


def test_bulk_upsert_inserts_then_updates_by_key(store: Engine) -> None:
    sessions = session_factory(store)
    with transaction(sessions) as s:
        upsert(s, BillingEventRow, [_event(i, "1125.00") for i in range(3)], keys=["id"])
    with transaction(sessions) as s:
        upsert(s, BillingEventRow, [_event(1, "99.99"), _event(3, "10.00")], keys=["id"])
    with sessions() as s:
        amounts = dict(s.execute(select(BillingEventRow.id, BillingEventRow.amount)).all())
    assert amounts == {
        "be_0": Decimal("1125.00"),
        "be_1": Decimal("99.99"),
        "be_2": Decimal("1125.00"),
        "be_3": Decimal("10.00"),
    }


def test_conditional_upsert_leaves_invoiced_rows_alone(store: Engine) -> None:
    sessions = session_factory(store)
    with transaction(sessions) as s:
        upsert(
            s,
            BillingEventRow,
            [_event(1, "100.00", invoice="inv_1"), _event(2, "100.00")],
            keys=["id"],
        )
    with transaction(sessions) as s:
        upsert(
            s,
            BillingEventRow,
            [_event(1, "5.00"), _event(2, "5.00")],
            keys=["id"],
            update=["amount"],
            where=BillingEventRow.__table__.c.invoice_id.is_(None),
        )
    with sessions() as s:
        amounts = dict(s.execute(select(BillingEventRow.id, BillingEventRow.amount)).all())
    assert amounts == {"be_1": Decimal("100.00"), "be_2": Decimal("5.00")}


def test_datetimes_come_back_as_aware_utc(store: Engine) -> None:
    sessions = session_factory(store)
    with transaction(sessions) as s:
        upsert(s, BillingEventRow, [_event(1, "1.00")], keys=["id"])
    with sessions() as s:
        row = s.get(BillingEventRow, "be_1")
    assert row is not None
    assert row.created_at == datetime(2026, 11, 1, 12, tzinfo=UTC)
    assert row.created_at.tzinfo is not None


def test_cursor_round_trip(store: Engine) -> None:
    sessions = session_factory(store)
    with transaction(sessions) as s:
        assert get_cursor(s, "harvest", "time_entries") is None
        set_cursor(s, "harvest", "time_entries", "2026-11-01T00:00:00Z")
        set_cursor(s, "harvest", "time_entries", "2026-11-02T00:00:00Z")
    with sessions() as s:
        assert get_cursor(s, "harvest", "time_entries") == "2026-11-02T00:00:00Z"


def test_xref_links_are_unique_per_system_id(store: Engine) -> None:
    sessions = session_factory(store)
    with transaction(sessions) as s:
        link(s, "customer", [("cus_1", "harvest", "10"), ("cus_1", "xero", "abc")])
        link(s, "customer", [("cus_1", "harvest", "10")])
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(XrefRow)) == 2


def test_a_failing_record_keeps_one_exception_until_it_is_resolved(store: Engine) -> None:
    sessions = session_factory(store)
    problem = Problem(
        record_key="harvest:time_entry:1",
        stage="validate",
        category="negative_hours",
        reason="-2 hours",
        payload={"id": 1},
        value_at_risk=Decimal("300.00"),
        currency="USD",
    )
    for _ in range(3):
        with transaction(sessions) as s:
            report_problems(s, "billable", [problem], trace_id=None)
    with sessions() as s:
        rows = s.scalars(select(ExceptionRow)).all()
    assert len(rows) == 1 and rows[0].attempts == 3 and rows[0].status == "open"
    assert rows[0].payload == {"id": 1} and rows[0].value_at_risk == Decimal("300.00")
    with transaction(sessions) as s:
        assert resolve_problems(s, "billable", ["harvest:time_entry:1"], note="fixed") == 1
    with sessions() as s:
        assert s.scalars(select(ExceptionRow.status)).one() == "resolved"
    with transaction(sessions) as s:
        report_problems(s, "billable", [problem], trace_id=None)
    with sessions() as s:
        assert s.scalars(select(ExceptionRow.status)).one() == "open"


def test_the_hot_path_upsert_stores_what_the_orm_reads_back(store: Engine) -> None:
    import polars as pl

    from sync.store.db import upsert_frame

    moment = datetime(2026, 11, 1, 12, 30, 15, 250_000, tzinfo=UTC)
    frame = pl.DataFrame(
        [_event(1, "1125.50"), _event(2, "99.99", invoice="inv_1")],
        schema_overrides={
            "quantity": pl.Decimal(18, 4),
            "rate": pl.Decimal(18, 4),
            "amount": pl.Decimal(18, 4),
        },
    ).with_columns(pl.lit(moment).alias("created_at"))
    sessions = session_factory(store)
    with transaction(sessions) as s:
        assert upsert_frame(s, BillingEventRow, frame, keys=["id"]) == 2
    changed = frame.with_columns(pl.lit(Decimal("1.00")).cast(pl.Decimal(18, 4)).alias("amount"))
    with transaction(sessions) as s:
        upsert_frame(
            s, BillingEventRow, changed, keys=["id"], update=["amount"], unless_set="invoice_id"
        )
    with sessions() as s:
        rows = {r.id: r for r in s.scalars(select(BillingEventRow))}
    assert rows["be_1"].amount == Decimal("1.00")  # updated
    assert rows["be_2"].amount == Decimal("99.99")  # protected: already invoiced
    assert rows["be_1"].created_at == moment and rows["be_1"].occurred_on == date(2026, 10, 5)
    assert rows["be_1"].quantity == Decimal("7.5") and rows["be_1"].invoice_id is None
    with sessions() as s:  # range queries compare correctly against ORM-bound datetimes
        later = s.scalars(
            select(BillingEventRow.id).where(
                BillingEventRow.created_at > datetime(2026, 11, 1, 12, 30, 15, tzinfo=UTC)
            )
        ).all()
    assert sorted(later) == ["be_1", "be_2"]
