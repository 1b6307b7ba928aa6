"""Scale-out: coalesced work items, SKIP LOCKED claims, leases, one leader, two workers."""

from __future__ import annotations

import itertools
import threading
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Engine, select

from collectors.http import RetryPolicy
from sandbox.server import Sandbox
from sync.engine import FLOWS
from sync.engine import Engine as SyncEngine
from sync.settings import Settings
from sync.store.db import make_engine, session_factory, transaction
from sync.store.tables import SyncRunRow, WorkItemRow
from sync.workqueue import claim, enqueue, finish, leadership, requeue_expired, work

LEASE = timedelta(minutes=5)


def test_a_flow_is_queued_at_most_once_until_it_has_run(store: Engine) -> None:
    sessions = session_factory(store)
    with transaction(sessions) as s:
        assert enqueue(s, "billable") is True
        assert enqueue(s, "billable") is False
        assert enqueue(s, "outbox") is True
    with transaction(sessions) as s:
        item = claim(s, worker="w1", lease=LEASE)
        assert item is not None and item.flow == "billable"
        item_id = item.id
    with transaction(sessions) as s:
        assert enqueue(s, "billable") is False  # still running
        finish(s, item_id)
    with transaction(sessions) as s:
        assert enqueue(s, "billable") is True


def test_enqueue_keeps_coalescing_once_postgresql_prepares_the_statement(
    postgres_store: Engine,
) -> None:
    # psycopg prepares a statement after five runs on a connection; the generic plan must still
    # find the partial unique index (a regression: the 11th enqueue on one connection raised
    # "no unique or exclusion constraint matching the ON CONFLICT specification").
    sessions = session_factory(postgres_store)
    with transaction(sessions) as s:
        outcomes = [enqueue(s, "people") for _ in range(20)]
        queued = s.scalars(select(WorkItemRow).where(WorkItemRow.flow == "people")).all()
    assert outcomes == [True] + [False] * 19
    assert len(queued) == 1


def test_an_expired_lease_is_taken_over(store: Engine) -> None:
    sessions = session_factory(store)
    with transaction(sessions) as s:
        enqueue(s, "invoicing")
        claim(s, worker="dead-worker", lease=timedelta(seconds=-1))
    with transaction(sessions) as s:
        assert claim(s, worker="w2", lease=LEASE) is None
        assert requeue_expired(s) == 1
    with transaction(sessions) as s:
        item = claim(s, worker="w2", lease=LEASE)
        assert item is not None and item.claimed_by == "w2" and item.attempts == 2


def test_concurrent_claims_skip_locked_items(postgres_store: Engine) -> None:
    sessions = session_factory(postgres_store)
    with transaction(sessions) as s:
        for flow in ("reference", "billable"):
            enqueue(s, flow)
    first, second = sessions(), sessions()
    try:
        first.begin()
        a = claim(first, worker="a", lease=LEASE)
        second.begin()
        b = claim(second, worker="b", lease=LEASE)  # a's row is locked, not waited for
        assert a is not None and b is not None and a.id != b.id
        first.commit()
        second.commit()
    finally:
        first.close()
        second.close()


def test_a_second_scheduler_waits_for_the_leader(postgres_store: Engine) -> None:
    other = make_engine(postgres_store.url.render_as_string(hide_password=False))
    events: list[str] = []
    release = threading.Event()

    def leader() -> None:
        with leadership(postgres_store, poll_seconds=0.05):
            events.append("first leads")
            release.wait(5)
        events.append("first gone")

    def standby() -> None:
        with leadership(other, poll_seconds=0.05):
            events.append("second leads")

    one = threading.Thread(target=leader)
    one.start()
    while not events:
        time.sleep(0.01)
    two = threading.Thread(target=standby)
    two.start()
    time.sleep(0.3)
    assert events == ["first leads"]
    release.set()
    one.join(5)
    two.join(5)
    assert events == ["first leads", "first gone", "second leads"]
    other.dispose()


def test_two_workers_never_run_a_flow_twice_at_once(postgres_store: Engine) -> None:
    box = Sandbox(seed=7, today=date(2026, 11, 25))
    sessions = session_factory(postgres_store)
    fast = RetryPolicy(attempts=3, initial=0.001, maximum=0.01, jitter=0.0)
    engines = [
        SyncEngine(
            Settings(),
            postgres_store,
            transports=box.transports(),
            policy=fast,
            clock=lambda: datetime(2026, 11, 25, 12, tzinfo=UTC),
        )
        for _ in range(2)
    ]
    stop = threading.Event()
    workers = [
        threading.Thread(
            target=work, args=(sessions, e.run_flow), kwargs={"idle_seconds": 0.02, "stop": stop}
        )
        for e in engines
    ]
    for w in workers:
        w.start()
    try:
        for _ in range(12):  # the scheduler keeps enqueueing every flow
            with transaction(sessions) as s:
                for flow in FLOWS:
                    enqueue(s, flow)
            time.sleep(0.15)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with sessions() as s:
                if not s.scalars(
                    select(WorkItemRow).where(WorkItemRow.status.in_(("queued", "running")))
                ).first():
                    break
            time.sleep(0.05)
    finally:
        stop.set()
        for w in workers:
            w.join(10)
        box.stop()
    with sessions() as s:
        runs = s.scalars(select(SyncRunRow).order_by(SyncRunRow.started_at)).all()
        items = s.scalars(select(WorkItemRow)).all()
    assert {i.status for i in items} == {"done"}
    assert len({i.claimed_by for i in items}) == 2  # both workers took work
    for flow in FLOWS:
        spans = [(r.started_at, r.finished_at) for r in runs if r.flow == flow]
        for (_, end), (start, _) in itertools.pairwise(spans):
            assert end is not None and end <= start, f"{flow} ran twice at once"
    numbers = [i["InvoiceNumber"] for i in box.xero.invoices()]
    assert len(numbers) == len(set(numbers)) == len(box.firm.expected_invoices())
    assert sum(Decimal(str(i["Total"])) for i in box.xero.invoices()) == sum(
        e["total"] for e in box.firm.expected_invoices()
    )
