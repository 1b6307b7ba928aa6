"""The store's record keeping on SQLite and PostgreSQL: cursors, cross-reference links, one open
exception per failing record; resolving exceptions touches only open ones of the flow, whether the
flow has few open (matched in memory) or more than the keys given (looked up by key)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import Engine, func, select, update

from sync.store.db import session_factory, transaction
from sync.store.repo import (
    Problem,
    get_cursor,
    link,
    report_problems,
    resolve_problems,
    set_cursor,
)
from sync.store.tables import ExceptionRow, XrefRow


def key(n: int) -> str:
    return f"harvest:time_entry:{n}"


def problem(n: int) -> Problem:
    return Problem(key(n), "validate", "over_24h", f"entry {n} logs 25 h")


def statuses(store: Engine) -> dict[tuple[str, str], str]:
    with session_factory(store)() as s:
        rows = s.execute(select(ExceptionRow.flow, ExceptionRow.record_key, ExceptionRow.status))
        return {(flow, record): status for flow, record, status in rows}


@pytest.mark.parametrize("open_count", [3, 40])
def test_only_the_flows_open_exceptions_of_those_keys_are_resolved(
    store: Engine, open_count: int
) -> None:
    sessions = session_factory(store)
    with transaction(sessions) as s:
        report_problems(s, "billable", [problem(n) for n in range(open_count)], trace_id=None)
        report_problems(s, "other", [problem(1)], trace_id=None)
        s.execute(
            update(ExceptionRow)
            .where(ExceptionRow.flow == "billable", ExceptionRow.record_key == key(2))
            .values(status="ignored")
        )
    keys = [key(n) for n in (0, 1, 2, 999)]  # fewer keys than open exceptions when 40 are open
    with transaction(sessions) as s:
        assert resolve_problems(s, "billable", keys, note="now billable") == 2
    after = statuses(store)
    assert after[("billable", key(0))] == after[("billable", key(1))] == "resolved"
    assert after[("billable", key(2))] == "ignored" and after[("other", key(1))] == "open"
    still_open = {k for (f, k), v in after.items() if f == "billable" and v == "open"}
    assert still_open == {key(n) for n in range(3, open_count)}
    with transaction(sessions) as s:
        assert resolve_problems(s, "billable", keys, note="again") == 0
        assert resolve_problems(s, "nothing-open", keys, note="none") == 0


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
    failing = Problem(
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
            report_problems(s, "billable", [failing], trace_id=None)
    with sessions() as s:
        rows = s.scalars(select(ExceptionRow)).all()
    assert len(rows) == 1 and rows[0].attempts == 3 and rows[0].status == "open"
    assert rows[0].payload == {"id": 1} and rows[0].value_at_risk == Decimal("300.00")
    with transaction(sessions) as s:
        assert resolve_problems(s, "billable", ["harvest:time_entry:1"], note="fixed") == 1
    with sessions() as s:
        assert s.scalars(select(ExceptionRow.status)).one() == "resolved"
    with transaction(sessions) as s:
        report_problems(s, "billable", [failing], trace_id=None)
    with sessions() as s:
        assert s.scalars(select(ExceptionRow.status)).one() == "open"
