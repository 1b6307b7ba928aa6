"""The column types: SQLite's datetime text is one encoding whether a value or a polars column is
written, and a vocabulary column stores plain text and reads back members."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import polars as pl
import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session

from sync.store.columns import Base, sqlite_datetime, sqlite_datetimes
from sync.store.tables import ExceptionRow, OutboxRow
from sync.store.vocabulary import (
    OPEN_STATUSES,
    ExceptionCategory,
    ExceptionStatus,
    Flow,
    OutboxKind,
    OutboxStatus,
)

MOMENTS = [
    datetime(2026, 11, 25, 9, 30, tzinfo=UTC),
    datetime(2026, 3, 29, 1, 59, 59, 999_999, tzinfo=UTC),
    datetime(2026, 1, 1, 0, 30, 0, 5, tzinfo=timezone(timedelta(hours=5, minutes=30))),
]


@pytest.mark.parametrize("time_zone", ["UTC", "Asia/Kolkata", None])
def test_a_column_is_written_as_each_of_its_values_is(time_zone: str | None) -> None:
    values = [m.astimezone(UTC) for m in MOMENTS]
    column = pl.Series("at", values, dtype=pl.Datetime("us", "UTC"))
    if time_zone is None:
        column = column.dt.replace_time_zone(None)
    elif time_zone != "UTC":
        column = column.dt.convert_time_zone(time_zone)
    dtype = column.dtype
    assert isinstance(dtype, pl.Datetime)
    written = pl.select(sqlite_datetimes(pl.lit(column), dtype)).to_series().to_list()
    assert written == [sqlite_datetime(m) for m in MOMENTS]
    assert written[0] == "2026-11-25 09:30:00.000000"


def _session() -> Session:
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine, tables=[ExceptionRow.__table__, OutboxRow.__table__])  # type: ignore[list-item]
    return Session(engine)


def test_a_vocabulary_column_stores_the_word_and_reads_back_a_member() -> None:
    now = datetime.now(UTC)
    with _session() as session:
        session.add(
            ExceptionRow(
                flow=Flow.BILLABLE,
                record_key="harvest:1",
                stage="validate",
                category=ExceptionCategory.NEGATIVE_HOURS,
                reason="negative",
                status="retrying",
                first_seen=now,
                last_seen=now,
            )
        )
        session.flush()
        stored = session.execute(text("SELECT status, flow, category FROM exceptions")).one()
        assert tuple(stored) == ("retrying", "billable", "negative_hours")
        row = session.scalars(select(ExceptionRow).where(ExceptionRow.status.in_(OPEN_STATUSES)))
        status = row.one().status
        assert status is ExceptionStatus.RETRYING


def test_a_word_outside_the_vocabulary_is_refused() -> None:
    now = datetime.now(UTC)
    with _session() as session:
        session.add(
            OutboxRow(
                kind=OutboxKind.INVOICE_CREATE,
                system="xero",
                aggregate_id="inv-1",
                idempotency_key="k",
                payload={},
                status="sent",  # not an outbox status
                next_attempt_at=now,
                created_at=now,
            )
        )
        with pytest.raises(StatementError, match="'sent' is not a valid OutboxStatus"):
            session.flush()
    assert OutboxStatus("pending") is OutboxStatus.PENDING
