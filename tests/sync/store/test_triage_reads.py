"""The exceptions' reads (``sync.store.triage``) on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import polars as pl
from sqlalchemy import Engine, select

from sync.store import AuditRow, ExceptionRow, ExceptionStatus, session_factory, transaction
from sync.store import triage as reads

START = datetime(2026, 3, 2, 9, tzinfo=UTC)


def exception(key: str, hours: int, status: ExceptionStatus, risk: str | None) -> ExceptionRow:
    return ExceptionRow(
        flow="billable",
        record_key=key,
        stage="price",
        category="rate_missing",
        reason="no rate",
        first_seen=START + timedelta(hours=hours),
        last_seen=START + timedelta(hours=hours + 1),
        status=status,
        value_at_risk=None if risk is None else Decimal(risk),
        currency=None if risk is None else "EUR",
    )


def seed(store: Engine) -> None:
    with transaction(session_factory(store)) as session:
        session.add_all(
            [
                exception("te:1", 0, ExceptionStatus.RESOLVED, "50.00"),
                exception("te:2", 1, ExceptionStatus.OPEN, "120.50"),
                exception("te:3", 2, ExceptionStatus.RETRYING, "9.50"),
                exception("te:4", 3, ExceptionStatus.OPEN, None),
            ]
        )
        session.add_all(
            [
                AuditRow(at=START, actor="b", action="assign", target="exception:2", detail={}),
                AuditRow(at=START, actor="a", action="note", target="exception:2", detail={}),
                AuditRow(at=START, actor="c", action="resolve", target="exception:1", detail={}),
            ]
        )


def test_headline_reads_count_open_and_sum_risk_per_currency(store: Engine) -> None:
    seed(store)
    with store.connect() as connection:
        assert reads.total_count(connection) == 4
        assert reads.open_count(connection) == 3
        assert reads.oldest_open(connection) == START + timedelta(hours=1)
        risk = reads.value_at_risk(connection)
    assert risk.to_dicts() == [{"currency": "EUR", "amount": 130.0, "count": 2}]


def test_nothing_open_has_no_oldest(store: Engine) -> None:
    with store.connect() as connection:
        assert reads.oldest_open(connection) is None
        assert reads.value_at_risk(connection).is_empty()


def test_latest_is_newest_first_limited_and_filtered_by_status(store: Engine) -> None:
    seed(store)
    with session_factory(store)() as session:
        newest = [row.record_key for row in reads.latest(session, 2)]
        still_open = [row.record_key for row in reads.latest(session, 10, status="open")]
    assert newest == ["te:4", "te:3"]
    assert still_open == ["te:4", "te:2"]


def test_matching_counts_the_rows_a_select_returns(store: Engine) -> None:
    seed(store)
    statement = select(ExceptionRow).where(ExceptionRow.status != "resolved").limit(1)
    with session_factory(store)() as session:
        assert reads.matching(session, statement) == 1
        assert reads.matching(session, statement.limit(None)) == 3


def test_an_exceptions_history_is_its_own_oldest_first_in_insertion_order(store: Engine) -> None:
    seed(store)
    with session_factory(store)() as session:
        history = [(row.actor, row.action) for row in reads.audit_history(session, 2)]
    assert history == [("b", "assign"), ("a", "note")]


def test_exception_frame_has_the_listed_columns_with_money_as_floats(store: Engine) -> None:
    seed(store)
    with session_factory(store)() as session:
        frame = reads.exception_frame(reads.latest(session, 10, status="open"))
    assert frame.columns == list(reads.EXCEPTION_COLUMNS)
    assert frame.schema["value_at_risk"] == pl.Float64
    assert frame["value_at_risk"].to_list() == [None, 120.5]
    assert reads.exception_frame([]).schema == pl.Schema(reads.EXCEPTION_COLUMNS)
