"""The store's sessions on SQLite and PostgreSQL: WAL, upserts (the ORM one and the hot-path one
from frames), datetimes back as aware UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import Engine, select, text

from sync.store.db import session_factory, transaction, upsert
from sync.store.tables import BillingEventRow


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
