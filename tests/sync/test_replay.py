"""Triage: replay held records through the same idempotent path, resolve and ignore with audit."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine, func, select

from collectors.http import RetryPolicy
from sandbox.server import Sandbox
from sync.access import Forbidden, Identity, Role
from sync.engine import Engine as SyncEngine
from sync.replay import ExceptionFilter, replay, set_status
from sync.settings import Settings
from sync.store.db import transaction
from sync.store.tables import AuditRow, BillingEventRow, ExceptionRow, OutboxRow

FAST = RetryPolicy(attempts=2, initial=0.001, maximum=0.01, jitter=0.0)

OPS = Identity("ops@firm", Role.OPERATOR, "test")
ADMIN = Identity("ops@firm", Role.ADMIN, "test")
CFO = Identity("cfo", Role.OPERATOR, "test")


@pytest.fixture
def synced(sqlite_store: Engine) -> Iterator[tuple[Sandbox, SyncEngine]]:
    box = Sandbox(seed=7, today=date(2026, 11, 25))
    engine = SyncEngine(
        Settings(),
        sqlite_store,
        transports=box.transports(),
        policy=FAST,
        clock=lambda: datetime(2026, 11, 25, 12, tzinfo=UTC),
    )
    engine.run_once()
    yield box, engine
    box.stop()


def exception_for(engine: SyncEngine, category: str) -> ExceptionRow:
    with engine.context.sessions() as s:
        return s.scalars(select(ExceptionRow).where(ExceptionRow.category == category)).one()


def counts(engine: SyncEngine) -> tuple[int, int]:
    with engine.context.sessions() as s:
        events = s.scalar(select(func.count()).select_from(BillingEventRow)) or 0
        audits = s.scalar(select(func.count()).select_from(AuditRow)) or 0
    return events, audits


def test_a_dry_run_reports_and_changes_nothing_but_the_audit_log(
    synced: tuple[Sandbox, SyncEngine],
) -> None:
    _, engine = synced
    held = exception_for(engine, "negative_hours")
    events_before, audits_before = counts(engine)
    report = replay(
        engine.context,
        ExceptionFilter(ids=[held.id]),
        actor=ADMIN,
        reason="checking",
        dry_run=True,
        edit={"hours": 2.0},
    )
    assert [o.result for o in report.outcomes] == ["resolved"]
    assert "billing event of" in report.outcomes[0].detail
    assert exception_for(engine, "negative_hours").status == "open"
    assert counts(engine) == (events_before, audits_before)


def test_edit_then_retry_bills_the_entry_once_and_records_the_edit(
    synced: tuple[Sandbox, SyncEngine],
) -> None:
    _, engine = synced
    held = exception_for(engine, "negative_hours")
    events_before, _ = counts(engine)
    replay(
        engine.context,
        ExceptionFilter(ids=[held.id]),
        actor=ADMIN,
        reason="hours were typed with a minus",
        edit={"hours": 2.0},
    )
    with pytest.raises(ValueError, match="no open exception"):  # resolved: nothing to replay
        replay(
            engine.context,
            ExceptionFilter(ids=[held.id]),
            actor=ADMIN,
            reason="again",
            edit={"hours": 2.0},
        )
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
        replay(
            engine.context,
            ExceptionFilter(flow="billable"),
            actor=ADMIN,
            reason="x",
            edit={"hours": 1},
        )


def test_a_refused_delivery_is_requeued_and_posted_once(
    synced: tuple[Sandbox, SyncEngine], sqlite_store: Engine
) -> None:
    box, engine = synced
    with transaction(engine.context.sessions) as s:  # pretend Xero refused one invoice earlier
        item = s.scalars(select(OutboxRow)).first()
        assert item is not None
        item.status = "failed"
        s.add(
            ExceptionRow(
                flow="outbox",
                record_key=f"outbox:{item.kind}:{item.aggregate_id}",
                stage="deliver",
                category="erp_rejected",
                reason="test",
                payload={"outbox_id": item.id},
                entity_type="invoice",
                entity_id=item.aggregate_id,
                attempts=1,
                first_seen=datetime.now(UTC),
                last_seen=datetime.now(UTC),
                status="open",
            )
        )
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
