"""The Exceptions page under AppTest, on the seeded store, with the real triage functions.

Every action is checked on the database, not on the page: a dry run leaves the store as it was,
a resolve or an ignore changes the status and writes an audit row with who and why.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select
from streamlit.testing.v1 import AppTest

from sync.store.tables import AuditRow, BillingEventRow, ExceptionRow
from tests.app.conftest import APP, run_page, shown
from tests.app.seed import ASSIGNEE, FIXABLE_KEY, OVER_24H_KEY

PAGE = APP.parent / "app_pages" / "exceptions.py"
CLERK = {"is_logged_in": True, "email": "clerk@firm.example", "name": "Clerk"}


def page(query: dict[str, Any] | None = None, user: dict[str, Any] | None = None) -> AppTest:
    return run_page(PAGE, user, query)


def table_ids(at: AppTest) -> list[int]:
    return [int(i) for i in at.dataframe[0].value["id"]]


def select_row(at: AppTest, exception_id: int) -> AppTest:
    row = table_ids(at).index(exception_id)
    at.session_state["exception_table"] = {"selection": {"rows": [row], "columns": [], "cells": []}}
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def act(at: AppTest, action: str, reason: str, *, bulk: bool = False, **fields: Any) -> None:
    """Fill in the selected exception's action form (or the bulk one) and press its button."""
    form = "bulk_" if bulk else "one_"
    at.segmented_control(key=f"{form}action").set_value(action).run()
    if action != "Assign":  # an assignment is audited with who assigned whom, no reason
        at.text_input(key=f"{form}reason").input(reason)
    if "assignee" in fields:
        at.text_input(key=f"{form}assignee").input(fields["assignee"])
    if "edit" in fields:
        at.text_area(key=f"{form}edit").input(fields["edit"])
    if fields.get("confirm"):
        at.checkbox(key=f"{form}confirm").check()
    at.button(key=f"{form}run").click().run()
    assert not at.exception, [e.value for e in at.exception]


def clerk_replays_the_fixable_entry(ids: dict[str, int], reason: str, edit: str) -> AppTest:
    """The clerk selects the fixable negative-hours exception and replays it with ``edit``."""
    at = select_row(page(user=CLERK), ids[FIXABLE_KEY])
    act(at, "Replay", reason, edit=edit)
    return at


def status_of(engine: Engine, exception_id: int) -> str:
    with engine.connect() as c:
        return str(c.scalar(select(ExceptionRow.status).where(ExceptionRow.id == exception_id)))


def audit_rows(engine: Engine) -> list[AuditRow]:
    with engine.connect() as c:
        return list(c.execute(select(AuditRow).order_by(AuditRow.id)).all())  # type: ignore[arg-type]


def count(engine: Engine, table: type[Any]) -> int:
    with engine.connect() as c:
        return int(c.scalar(select(func.count()).select_from(table)) or 0)


def test_an_empty_store_says_nothing_is_held(store_url: str) -> None:
    at = page()
    assert at.title[0].value == "Exceptions"
    assert "No exceptions have been recorded" in at.info[0].value
    assert len(at.dataframe) == 0


def test_the_headline_is_the_hand_computed_figures(
    operations: tuple[Engine, dict[str, int]],
) -> None:
    metrics = {m.label: m.value for m in page().metric}
    assert metrics["Open exceptions"] == "5"  # x1, x2 and three billable; not resolved/ignored
    assert metrics["Value at risk — USD"] == "$4,950.00"  # 450 + 4,500
    assert metrics["Value at risk — GBP"] == "£240.00"
    assert metrics["Oldest open"] == "10 days"
    assert metrics["Opened in the last 24 h"] == "4"  # x1, x2, x3 (resolved since) and 2 h old


def test_the_default_list_is_open_and_retrying(operations: tuple[Engine, dict[str, int]]) -> None:
    at = page()
    listing = at.dataframe[0].value
    assert set(listing["status"]) == {"open", "retrying"}
    assert len(listing) == 5


def test_a_deep_link_filters_by_category_and_status(
    operations: tuple[Engine, dict[str, int]],
) -> None:
    _, ids = operations
    at = page({"category": "negative_hours", "status": "open"})
    assert table_ids(at) == [ids[FIXABLE_KEY]]
    at.multiselect(key="status").select("ignored").run()
    assert len(table_ids(at)) == 2  # the ignored negative-hours entry too


def test_the_category_filter_narrows_the_table(operations: tuple[Engine, dict[str, int]]) -> None:
    _, ids = operations
    at = page()
    at.selectbox(key="category").select("over_24h").run()
    assert table_ids(at) == [ids[OVER_24H_KEY]]
    at.selectbox(key="flow").select("invoicing").run()
    assert len(at.dataframe) == 0  # nothing matches both
    assert any("0 exceptions match" in c.value for c in at.caption)


def test_selecting_a_row_shows_reason_payload_history(
    operations: tuple[Engine, dict[str, int]],
) -> None:
    _, ids = operations
    at = select_row(page(), ids[OVER_24H_KEY])
    assert any("More than 24 h in a day" in s.value for s in at.subheader)
    assert any("30.0 hours on" in shown(m.value) for m in at.markdown)
    assert at.json[0].value and '"hours": 30.0' in at.json[0].value
    history = at.dataframe[1].value
    assert list(history["actor"]) == ["lead@firm.example"]
    assert ASSIGNEE in history["detail"][0]


def test_the_journey_lists_the_records_business_events(
    operations: tuple[Engine, dict[str, int]],
) -> None:
    _, ids = operations
    at = select_row(page(), ids[FIXABLE_KEY])
    journey = at.dataframe[-1].value
    assert list(journey["event"]) == ["billing_event.rejected"]


def test_a_dry_run_reports_and_changes_nothing(operations: tuple[Engine, dict[str, int]]) -> None:
    engine, ids = operations
    before = (count(engine, BillingEventRow), count(engine, AuditRow))
    at = select_row(page(), ids[FIXABLE_KEY])
    act(at, "Dry run", "checking the fix", edit='{"hours": 2.0}')
    outcome = at.dataframe[-1].value
    assert list(outcome["result"]) == ["resolved"]
    assert "billing event of 300.00" in outcome["detail"][0]
    assert float(outcome["after"][0]) == 300.0  # the amounts before and after, as columns
    assert float(outcome["before"][0]) < 0 and outcome["currency"][0]
    assert any("nothing was changed" in s.value for s in at.success)
    assert status_of(engine, ids[FIXABLE_KEY]) == "open"
    assert (count(engine, BillingEventRow), count(engine, AuditRow)) == before


def test_replay_with_an_edit_bills_the_entry_and_is_audited(
    operations: tuple[Engine, dict[str, int]],
) -> None:
    engine, ids = operations
    events = count(engine, BillingEventRow)
    at = clerk_replays_the_fixable_entry(ids, "hours were typed with a minus", '{"hours": 2.0}')
    assert status_of(engine, ids[FIXABLE_KEY]) == "resolved"
    assert count(engine, BillingEventRow) == events + 1
    (entry,) = [a for a in audit_rows(engine) if a.action == "exception.replay"]
    assert entry.actor == "clerk@firm.example"
    assert entry.detail["edit"] == {"hours": 2.0}
    assert any("Replayed 1 exception" in s.value for s in at.success)
    assert ids[FIXABLE_KEY] not in table_ids(at)  # the list refreshed


def test_an_edit_that_is_not_json_is_refused_clearly(
    operations: tuple[Engine, dict[str, int]],
) -> None:
    engine, ids = operations
    at = select_row(page(), ids[FIXABLE_KEY])
    act(at, "Replay", "fix", edit="{hours: 2}")
    assert any("not valid JSON" in e.value for e in at.error)
    assert status_of(engine, ids[FIXABLE_KEY]) == "open"


def test_resolve_needs_a_reason_and_records_who_and_why(
    operations: tuple[Engine, dict[str, int]],
) -> None:
    engine, ids = operations
    target = ids[OVER_24H_KEY]
    at = select_row(page(user=CLERK), target)
    act(at, "Resolve", "   ")
    assert any("reason is required" in e.value for e in at.error)
    assert status_of(engine, target) == "open"
    act(at, "Resolve", "split into two entries in Harvest")
    assert status_of(engine, target) == "resolved"
    (entry,) = [a for a in audit_rows(engine) if a.action == "exception.resolved"]
    assert entry.actor == "clerk@firm.example"
    assert entry.target == f"exception:{target}"
    assert entry.detail["reason"] == "split into two entries in Harvest"
    assert target not in table_ids(at)


def test_bulk_ignore_by_filter_needs_confirmation(
    operations: tuple[Engine, dict[str, int]],
) -> None:
    engine, _ = operations
    at = page({"flow": "billable"})
    billable = table_ids(at)
    assert len(billable) == 3
    act(at, "Ignore", "test data from the pilot", bulk=True)
    assert any("Tick the confirmation box" in e.value for e in at.error)
    assert {status_of(engine, i) for i in billable} == {"open"}
    act(at, "Ignore", "test data from the pilot", bulk=True, confirm=True)
    assert {status_of(engine, i) for i in billable} == {"ignored"}
    ignored = [a for a in audit_rows(engine) if a.action == "exception.ignored"]
    assert sorted(int(a.target.split(":")[1]) for a in ignored) == sorted(billable)
    assert {a.actor for a in ignored} == {"dashboard user"}  # nobody is signed in
    assert status_of(engine, 1) == "open"  # other flows untouched
    assert len(at.dataframe) == 0


def test_assign_records_the_assignee(operations: tuple[Engine, dict[str, int]]) -> None:
    engine, ids = operations
    at = select_row(page(), ids[FIXABLE_KEY])
    act(at, "Assign", "Ada knows this client", assignee="ada@firm.example")
    with engine.connect() as c:
        assignee = c.scalar(
            select(ExceptionRow.assignee).where(ExceptionRow.id == ids[FIXABLE_KEY])
        )
    assert assignee == "ada@firm.example"
    (entry,) = [a for a in audit_rows(engine) if a.action == "exception.assign"][1:]
    assert entry.actor == "dashboard user"
    assert entry.detail == {"assignee": "ada@firm.example"}


def test_the_page_is_registered_under_operations(operations: tuple[Engine, dict[str, int]]) -> None:
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    at.switch_page(str(Path("app_pages") / "exceptions.py")).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Exceptions"


def test_an_edit_shows_in_the_journey_beside_the_billing_event(
    operations: tuple[Engine, dict[str, int]],
) -> None:
    engine, ids = operations
    at = clerk_replays_the_fixable_entry(ids, "hours were typed with a minus", '{"hours": 2.0}')
    with engine.connect() as c:
        edit_id = c.scalar(
            select(BillingEventRow.edit_audit_id).where(BillingEventRow.edit_audit_id.is_not(None))
        )
    at = select_row(page({"category": "negative_hours", "status": "resolved"}), ids[FIXABLE_KEY])
    journey = at.dataframe[-1].value
    edited = journey[journey["event"] == "billing_event.edited"]
    assert len(edited) == 1
    assert edited["detail"].iloc[0] == (
        f"by clerk@firm.example: hours -2.0 → 2.0 (audit #{edit_id}: hours were typed with a minus)"
    )
    assert edited["entity_type"].iloc[0] == "billing_event"


def test_an_edit_of_a_forbidden_field_is_refused_on_the_page(
    operations: tuple[Engine, dict[str, int]],
) -> None:
    engine, ids = operations
    events = count(engine, BillingEventRow)
    at = clerk_replays_the_fixable_entry(
        ids, "bill the other project", '{"hours": 2.0, "project": {"id": 2}}'
    )
    assert any("may not change project" in e.value for e in at.error)
    assert status_of(engine, ids[FIXABLE_KEY]) == "open"
    assert count(engine, BillingEventRow) == events
