"""The outbox table's functions: an item is made in one shape, and each outcome is written in the
caller's transaction (nothing is committed unless the caller commits)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select

from sync.store import outbox
from sync.store.db import session_factory, transaction
from sync.store.tables import OutboxRow
from sync.store.vocabulary import OutboxKind


def test_an_item_is_pending_due_now_with_a_key_from_its_document(sqlite_store: Engine) -> None:
    sessions = session_factory(sqlite_store)
    before = datetime.now(UTC)
    with transaction(sessions) as session:
        outbox.enqueue(
            session, OutboxKind.INVOICE_CREATE, "inv_1", {"invoice_id": "inv_1"}, system="xero"
        )
    with sessions() as session:
        item = session.scalars(select(OutboxRow)).one()
        assert (item.kind, item.system, item.status, item.attempts) == (
            OutboxKind.INVOICE_CREATE,
            "xero",
            "pending",
            0,
        )
        assert item.idempotency_key == "p2c-inv_1"
        assert item.payload == {"invoice_id": "inv_1"}
        assert item.next_attempt_at == item.created_at >= before
        assert [i.id for i in outbox.due(session, limit=10)] == [item.id]


def test_outcomes_are_written_only_when_the_caller_commits(sqlite_store: Engine) -> None:
    sessions = session_factory(sqlite_store)
    with transaction(sessions) as session:
        item = outbox.enqueue(session, OutboxKind.CREDIT_NOTE_CREATE, "cn_1", {}, system="xero")
    with sessions() as session:  # a session that never commits
        outbox.attempted(session, [item.id])
        outbox.delivered(session, item.id, "xero-cn-1")
    with sessions() as session:
        kept = session.get(OutboxRow, item.id)
        assert kept is not None and (kept.status, kept.attempts) == ("pending", 0)


def test_attempts_are_taken_back_and_a_held_item_is_not_due(sqlite_store: Engine) -> None:
    sessions = session_factory(sqlite_store)
    with transaction(sessions) as session:
        item = outbox.enqueue(session, OutboxKind.INVOICE_CREATE, "inv_2", {}, system="xero")
    with transaction(sessions) as session:
        outbox.attempted(session, [item.id])
        outbox.attempted(session, [item.id])
        outbox.unattempted(session, [item.id])
        outbox.hold(session, item.id, datetime.now(UTC) + timedelta(minutes=5), "waiting")
    with sessions() as session:
        kept = session.get(OutboxRow, item.id)
        assert kept is not None and (kept.attempts, kept.last_error) == (1, "waiting")
        assert outbox.due(session, limit=10) == []
    with transaction(sessions) as session:
        outbox.route(session, kept, outbox.Route("netsuite", "sub-2"))
        outbox.delivered(session, item.id, "xero-inv-2")
    with sessions() as session:
        done = session.get(OutboxRow, item.id)
        assert done is not None
        assert (done.status, done.external_id, done.last_error) == ("delivered", "xero-inv-2", None)
        assert done.payload == {"erp": "netsuite", "company": "sub-2"}
        assert done.system == "netsuite" and done.delivered_at is not None
        assert outbox.invoice_route(session, "inv_2") == outbox.Route("netsuite", "sub-2")


def test_an_item_routed_when_xero_was_the_only_erp_goes_to_its_tenant() -> None:
    assert outbox.route_of({"tenant_id": "t-1"}) == outbox.Route("xero", "t-1")
    assert outbox.route_of({"erp": "netsuite", "company": "7", "tenant_id": "t"}) == outbox.Route(
        "netsuite", "7"
    )
    assert outbox.route_of({"invoice_id": "inv_1"}) is None and outbox.route_of(None) is None
