"""Triage: replay held records through the same idempotent path, resolve and ignore with audit."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from collectors.entities import canonical_id
from sandbox.server import Sandbox
from sync.access import Forbidden, Identity, Role
from sync.edits import EditRefused
from sync.engine import Engine as SyncEngine
from sync.replay import ExceptionFilter, replay, set_status
from sync.settings import Billing, Settings
from sync.store.db import transaction
from sync.store.journeys import billing_event_edits
from sync.store.tables import AssignmentRow, AuditRow, BillingEventRow, ExceptionRow, OutboxRow
from tests.sync import sandboxed
from tests.sync.sandboxed import TODAY, engine_for

FAST = replace(sandboxed.FAST, attempts=2)

OPS = Identity("ops@firm", Role.OPERATOR, "test")
ADMIN = Identity("ops@firm", Role.ADMIN, "test")
CFO = Identity("cfo", Role.OPERATOR, "test")


@pytest.fixture
def synced(sqlite_store: Engine) -> Iterator[tuple[Sandbox, SyncEngine]]:
    yield from synced_on(sqlite_store)


@pytest.fixture
def synced_any(store: Engine) -> Iterator[tuple[Sandbox, SyncEngine]]:
    """``synced`` on SQLite and, when it is reachable, on PostgreSQL."""
    yield from synced_on(store)


def refused_delivery(item: OutboxRow) -> ExceptionRow:
    """The open exception the outbox leaves when the ERP refused ``item``."""
    now = datetime.now(UTC)
    return ExceptionRow(
        flow="outbox",
        record_key=f"outbox:{item.kind}:{item.aggregate_id}",
        stage="deliver",
        category="erp_rejected",
        reason="test",
        payload={"outbox_id": item.id},
        entity_type="invoice",
        entity_id=item.aggregate_id,
        attempts=1,
        first_seen=now,
        last_seen=now,
        status="open",
    )


def synced_on(store: Engine) -> Iterator[tuple[Sandbox, SyncEngine]]:
    with Sandbox(seed=7, today=TODAY) as box:
        engine = engine_for(box, store, policy=FAST)
        engine.run_once()
        yield box, engine


def exception_for(engine: SyncEngine, category: str) -> ExceptionRow:
    with engine.context.sessions() as s:
        return s.scalars(select(ExceptionRow).where(ExceptionRow.category == category)).one()


def counts(engine: SyncEngine) -> tuple[int, int]:
    with engine.context.sessions() as s:
        events = s.scalar(select(func.count()).select_from(BillingEventRow)) or 0
        audits = s.scalar(select(func.count()).select_from(AuditRow)) or 0
    return events, audits


def admin_edit(
    engine: SyncEngine,
    which: ExceptionFilter,
    edit: dict[str, Any],
    *,
    reason: str = "fixing the entry",
    **options: Any,
) -> Any:
    """``edit`` made by an admin to the exceptions ``which`` selects, and replayed."""
    context = options.pop("context", engine.context)
    return replay(context, which, actor=ADMIN, reason=reason, edit=edit, **options)


def test_a_dry_run_reports_and_changes_nothing_but_the_audit_log(
    synced: tuple[Sandbox, SyncEngine],
) -> None:
    _, engine = synced
    events_before, audits_before = counts(engine)
    report = edit_held(engine, {"hours": 2.0}, reason="checking", dry_run=True)
    assert [o.result for o in report.outcomes] == ["resolved"]
    assert "billing event of" in report.outcomes[0].detail
    assert exception_for(engine, "negative_hours").status == "open"
    assert counts(engine) == (events_before, audits_before)


def test_edit_then_retry_bills_the_entry_once_and_records_the_edit(
    synced: tuple[Sandbox, SyncEngine],
) -> None:
    _, engine = synced
    events_before, _ = counts(engine)
    edit_held(engine, {"hours": 2.0}, reason="hours were typed with a minus")
    with pytest.raises(ValueError, match="no open exception"):  # resolved: nothing to replay
        edit_held(engine, {"hours": 2.0}, reason="again")
    assert exception_for(engine, "negative_hours").status == "resolved"
    events_after, _ = counts(engine)
    assert events_after == events_before + 1
    with engine.context.sessions() as s:
        entry = s.scalars(select(AuditRow).where(AuditRow.action == "exception.replay")).one()
    assert entry.actor == "ops@firm" and entry.detail["edit"] == {"hours": 2.0}
    assert entry.detail["reason"] == "hours were typed with a minus"


def test_replay_without_a_fix_keeps_one_open_exception(
    synced: tuple[Sandbox, SyncEngine],
) -> None:
    _, engine = synced
    report = replay(
        engine.context, ExceptionFilter(category="over_24h"), actor=OPS, reason="try again"
    )
    assert [o.result for o in report.outcomes] == ["still failing"]
    assert "over_24h" in report.outcomes[0].detail
    with engine.context.sessions() as s:
        assert (
            s.scalar(
                select(func.count())
                .select_from(ExceptionRow)
                .where(ExceptionRow.category == "over_24h")
            )
            == 1
        )


def test_an_edit_needs_exactly_one_exception(synced: tuple[Sandbox, SyncEngine]) -> None:
    _, engine = synced
    with pytest.raises(ValueError, match="exactly one"):
        admin_edit(engine, ExceptionFilter(flow="billable"), {"hours": 1})


def test_a_refused_delivery_is_requeued_and_posted_once(
    synced: tuple[Sandbox, SyncEngine], sqlite_store: Engine
) -> None:
    box, engine = synced
    with transaction(engine.context.sessions) as s:  # pretend Xero refused one invoice earlier
        item = s.scalars(select(OutboxRow)).first()
        assert item is not None
        item.status = "failed"
        s.add(refused_delivery(item))
    posted_before = len(box.xero.invoices())
    report = replay(
        engine.context,
        ExceptionFilter(category="erp_rejected"),
        actor=OPS,
        reason="contact fixed in Xero",
    )
    assert [o.result for o in report.outcomes] == ["queued"]
    engine.run_flow("outbox")
    assert len(box.xero.invoices()) == posted_before  # found by number, not posted again
    assert exception_for(engine, "erp_rejected").status == "resolved"


def test_ignore_and_resolve_by_filter_are_audited(synced: tuple[Sandbox, SyncEngine]) -> None:
    _, engine = synced
    with transaction(engine.context.sessions) as s:
        n = set_status(
            s,
            ExceptionFilter(flow="billable", category="unknown_project"),
            "ignored",
            actor=CFO,
            reason="test project, never billable",
        )
    assert n == 1
    assert exception_for(engine, "unknown_project").status == "ignored"
    with engine.context.sessions() as s:
        row = s.scalars(select(AuditRow).where(AuditRow.action == "exception.ignored")).one()
    assert row.actor == "cfo" and row.detail["previous"] == "open"


def test_a_viewer_is_refused_every_action_and_the_refusal_is_audited(
    synced: tuple[Sandbox, SyncEngine],
) -> None:
    _, engine = synced
    viewer = Identity("exec@firm", Role.VIEWER, "test")
    held = exception_for(engine, "negative_hours")
    with pytest.raises(Forbidden, match="operator"):
        replay(engine.context, ExceptionFilter(ids=[held.id]), actor=viewer, reason="forged")
    with pytest.raises(Forbidden, match="admin"):  # an edit needs more than an operator
        replay(
            engine.context,
            ExceptionFilter(ids=[held.id]),
            actor=OPS,
            reason="forged",
            edit={"hours": 1.0},
        )
    with pytest.raises(Forbidden), transaction(engine.context.sessions) as s:
        set_status(s, ExceptionFilter(ids=[held.id]), "resolved", actor=viewer, reason="forged")
    assert exception_for(engine, "negative_hours").status == "open"
    with engine.context.sessions() as s:
        refused = s.scalars(select(AuditRow).where(AuditRow.action.like("refused.%"))).all()
    assert [(r.actor, r.action) for r in refused] == [
        ("exec@firm", "refused.replay"),
        ("ops@firm", "refused.edit"),
        ("exec@firm", "refused.resolve"),
    ]


def test_an_action_over_more_than_the_bulk_limit_needs_an_admin(
    synced: tuple[Sandbox, SyncEngine],
) -> None:
    _, engine = synced
    narrow = Identity("ops@firm", Role.OPERATOR, "test", bulk_limit=1)
    with (
        pytest.raises(Forbidden, match="records: that needs the admin role"),
        transaction(engine.context.sessions) as s,
    ):
        set_status(s, ExceptionFilter(flow="billable"), "ignored", actor=narrow, reason="all")
    with transaction(engine.context.sessions) as s:
        changed = set_status(
            s, ExceptionFilter(flow="billable"), "ignored", actor=ADMIN, reason="all"
        )
    assert changed > 1


# --- edit-then-retry: only what a person may change ----------------------------------------------

EDITABLE = "only hours, spent_date, notes, task may be edited"
# the held entry (Harvest 371, -2 h on 2026-10-20 for Carlos Moreau, user 3, on project 3 at 200
# USD/h): each edit below would also fix its hours, and changes one field no edit may change
FORBIDDEN: list[tuple[str, dict[str, Any]]] = [
    ("id", {"id": 372}),
    ("project", {"project": {"id": 2}}),
    ("user", {"user": {"id": 1, "name": "Someone Else"}}),
    ("billable", {"billable": False}),
    ("is_closed", {"is_closed": False}),
    ("is_billed", {"is_billed": True}),
    ("is_locked", {"is_locked": False}),
    ("invoice", {"invoice": {"id": 1, "number": "INV-1"}}),
    ("billable_rate", {"billable_rate": 900.0}),
    ("cost_rate", {"cost_rate": 1.0}),
    ("surprise", {"surprise": "an unknown field"}),
    # a nested change is a change of the field: same project id, another code
    ("project", {"project": {"id": 3, "name": "Globex Finance Transformation", "code": "X"}}),
]


def held(engine: SyncEngine) -> ExceptionRow:
    return exception_for(engine, "negative_hours")


def edit_held(engine: SyncEngine, edit: dict[str, Any], **options: Any) -> Any:
    return admin_edit(engine, ExceptionFilter(ids=[held(engine).id]), edit, **options)


def assert_nothing_changed(engine: SyncEngine, events: int, payload: dict[str, Any]) -> None:
    row = held(engine)
    assert row.status == "open" and row.payload == payload
    with engine.context.sessions() as s:
        actions = set(s.scalars(select(AuditRow.action)))
        assert s.scalar(select(func.count()).select_from(BillingEventRow)) == events
        assert (
            s.scalar(
                select(func.count())
                .select_from(BillingEventRow)
                .where(BillingEventRow.source_record_id == row.entity_id)
            )
            == 0
        )
    assert not actions & {"exception.replay", "exception.edit"}


@pytest.mark.parametrize(("field", "change"), FORBIDDEN, ids=[f for f, _ in FORBIDDEN])
def test_an_edit_of_a_field_no_edit_may_change_is_refused_and_changes_nothing(
    synced: tuple[Sandbox, SyncEngine], field: str, change: dict[str, Any]
) -> None:
    _, engine = synced
    events, _ = counts(engine)
    payload = dict(held(engine).payload or {})
    for dry_run in (True, False):
        with pytest.raises(EditRefused, match=f"may not change {field} of a time entry") as e:
            edit_held(engine, {"hours": 2.0} | change, dry_run=dry_run)
        assert EDITABLE in str(e.value)
    assert_nothing_changed(engine, events, payload)


def test_a_held_entry_cannot_be_moved_to_another_project_its_consultant_is_staffed_on(
    synced: tuple[Sandbox, SyncEngine],
) -> None:
    """The issue's scenario: on main this was accepted, resolved and billed to project 2."""
    _, engine = synced
    payload = dict(held(engine).payload or {})
    consultant = canonical_id("harvest", "resource", payload["user"]["id"])
    other = canonical_id("harvest", "project", 2)
    with engine.context.sessions() as s:
        staffed = set(
            s.scalars(
                select(AssignmentRow.project_id).where(AssignmentRow.resource_id == consultant)
            )
        )
    assert other in staffed and payload["project"]["id"] != 2  # a plausible move, billable there
    events, _ = counts(engine)
    with pytest.raises(EditRefused, match="may not change project"):
        edit_held(engine, {"hours": 2, "project": {"id": 2}})
    assert_nothing_changed(engine, events, payload)


def test_a_field_given_its_stored_value_is_no_change(synced: tuple[Sandbox, SyncEngine]) -> None:
    _, engine = synced
    payload = dict(held(engine).payload or {})
    report = edit_held(engine, {"hours": 2.0, "project": payload["project"], "billable": True})
    assert [o.result for o in report.outcomes] == ["resolved"]
    with engine.context.sessions() as s:
        (edit,) = s.scalars(select(AuditRow).where(AuditRow.action == "exception.edit"))
    assert edit.detail["changes"] == {"hours": {"before": -2.0, "after": 2.0}}


def test_an_edit_that_changes_nothing_is_refused(synced: tuple[Sandbox, SyncEngine]) -> None:
    _, engine = synced
    with pytest.raises(EditRefused, match="changes nothing"):
        edit_held(engine, {"hours": -2.0})


@pytest.mark.parametrize(
    ("hours", "message"),
    [
        ("abc", "hours must be a number"),
        (True, "hours must be a number"),
        (-1, "hours: Input should be greater than or equal to 0"),
        (25, "hours: Input should be less than or equal to 24"),
        (float("inf"), "hours: Input should be a finite number"),  # JSON 1e400
        (float("nan"), "hours: Input should be a finite number"),
    ],
)
def test_hours_the_canonical_model_rejects_are_refused(
    synced: tuple[Sandbox, SyncEngine], hours: Any, message: str
) -> None:
    _, engine = synced
    events, _ = counts(engine)
    payload = dict(held(engine).payload or {})
    with pytest.raises(EditRefused, match=message):
        edit_held(engine, {"hours": hours})
    assert_nothing_changed(engine, events, payload)


def test_an_edit_cannot_date_time_in_a_closed_period_or_the_future(
    synced: tuple[Sandbox, SyncEngine],
) -> None:
    _, engine = synced
    books = replace(
        engine.context, settings=Settings(billing=Billing(closed_through=date(2026, 9, 30)))
    )
    events, _ = counts(engine)
    payload = dict(held(engine).payload or {})
    for day, message in (
        ("2026-09-30", r"closed accounting period \(books closed through 2026-09-30\)"),
        ("2026-08-14", "closed accounting period"),
        ("2026-11-26", r"in the future \(today is 2026-11-25\)"),
        ("2026-02-30", "spent_date must be a date"),
    ):
        with pytest.raises(EditRefused, match=message):
            edit_held(engine, {"hours": 2.0, "spent_date": day}, context=books)
    assert_nothing_changed(engine, events, payload)


def test_an_edit_may_date_time_within_the_open_period(synced: tuple[Sandbox, SyncEngine]) -> None:
    _, engine = synced
    books = replace(
        engine.context, settings=Settings(billing=Billing(closed_through=date(2026, 9, 30)))
    )
    report = edit_held(engine, {"hours": 2.0, "spent_date": "2026-10-01"}, context=books)
    assert [o.result for o in report.outcomes] == ["resolved"]
    with engine.context.sessions() as s:
        day = s.scalar(
            select(BillingEventRow.occurred_on).where(
                BillingEventRow.source_record_id == held(engine).entity_id
            )
        )
    assert day == date(2026, 10, 1)


def test_a_task_must_be_one_of_the_entrys_project(synced: tuple[Sandbox, SyncEngine]) -> None:
    _, engine = synced
    with pytest.raises(EditRefused, match="'Design' is not a task of the entry's project"):
        edit_held(engine, {"hours": 2.0, "task": {"id": 8083367, "name": "Design"}})
    with pytest.raises(EditRefused, match="task must be"):
        edit_held(engine, {"hours": 2.0, "task": {"id": 8083367}})
    report = edit_held(
        engine, {"hours": 2.0, "task": {"id": 8083365, "name": "Consulting"}, "notes": "Workshop"}
    )
    assert [o.result for o in report.outcomes] == ["resolved"]
    with engine.context.sessions() as s:
        description = s.scalar(
            select(BillingEventRow.description).where(
                BillingEventRow.source_record_id == held(engine).entity_id
            )
        )
    assert description == "Consulting — Carlos Moreau"


def test_the_dry_run_shows_the_amount_before_and_after(synced: tuple[Sandbox, SyncEngine]) -> None:
    _, engine = synced
    (outcome,) = edit_held(engine, {"hours": 2.0}, dry_run=True).outcomes
    assert (outcome.before, outcome.after, outcome.currency) == (
        Decimal("-400.00"),
        Decimal("400.00"),
        "USD",
    )
    assert outcome.detail == (
        "would bill 2.00 h × 200.00: a billing event of 400.00 USD (was -400.00 at risk)"
    )
    assert held(engine).status == "open"


def test_an_edited_entrys_billing_event_carries_the_edit(
    synced_any: tuple[Sandbox, SyncEngine],
) -> None:
    _, engine = synced_any
    row = held(engine)
    (outcome,) = edit_held(engine, {"hours": 2.0, "notes": "Workshop"}).outcomes
    assert outcome.detail.startswith("billed 2.00 h × 200.00: a billing event of 400.00 USD")
    with engine.context.sessions() as s:
        event = s.scalars(
            select(BillingEventRow).where(BillingEventRow.source_record_id == row.entity_id)
        ).one()
        edit = s.get(AuditRow, event.edit_audit_id)
        replayed = s.scalars(select(AuditRow).where(AuditRow.action == "exception.replay")).one()
        (step,) = billing_event_edits(s, [event.id])
        untouched = s.scalar(
            select(func.count())
            .select_from(BillingEventRow)
            .where(BillingEventRow.edit_audit_id.is_not(None))
        )
    assert edit is not None and edit.action == "exception.edit"
    assert (edit.actor, edit.target) == ("ops@firm", f"exception:{row.id}")
    assert edit.detail["changes"] == {
        "hours": {"before": -2.0, "after": 2.0},
        "notes": {"before": "Client working session", "after": "Workshop"},
    }
    assert edit.detail["reason"] == "fixing the entry"
    assert edit.id < replayed.id and replayed.detail["edit_audit_id"] == edit.id
    assert untouched == 1  # only the event made from the edit names one
    assert (step.audit_id, step.actor, step.at) == (edit.id, "ops@firm", edit.at)
    assert step.summary == (
        f"by ops@firm: hours -2.0 → 2.0; notes 'Client working session' → 'Workshop' "
        f"(audit #{edit.id}: fixing the entry)"
    )


def test_an_outbox_exception_accepts_no_edit(synced: tuple[Sandbox, SyncEngine]) -> None:
    _, engine = synced
    with transaction(engine.context.sessions) as s:
        item = s.scalars(select(OutboxRow)).first()
        assert item is not None
        s.add(refused_delivery(item))
    with pytest.raises(EditRefused, match="cannot be edited; fix it at the source and replay"):
        admin_edit(engine, ExceptionFilter(category="erp_rejected"), {"outbox_id": 1})
    assert exception_for(engine, "erp_rejected").status == "open"
