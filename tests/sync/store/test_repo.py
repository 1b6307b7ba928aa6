"""Resolving exceptions touches only open ones of the flow, whether the flow has few open (matched
in memory) or more than the keys given (looked up by key)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select, update

from sync.store.db import session_factory, transaction
from sync.store.repo import Problem, report_problems, resolve_problems
from sync.store.tables import ExceptionRow


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
