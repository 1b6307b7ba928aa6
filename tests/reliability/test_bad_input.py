"""Bad input (issue 5): the engine over a sandbox firm, judged by the world's ground truth.

The world plants data-quality faults and labels each one (``World.faults``). After a run of every
flow, each planted entry must be held as one open exception with the fault's category, a plain
reason, the payload as received and its value at risk; no clean entry may be held back (each
has a billing event); and the invoices in Xero must equal ``truth.expected_invoices`` (a project
whose time passes its not-to-exceed cap stays within the cap instead). A second run changes
nothing: what waits is checked again and still waits, once. ``edited_after_invoiced`` (entries
the firm invoiced before go-live, changed since) is the compensation work's, not a billing rule's:
here it must only never be billed again.

The sandbox's books are closed where its world closed them (``World.period_lock``): that is
configuration, as a firm's finance team would set it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from collectors.http import RetryPolicy
from sandbox.server import Sandbox
from sandbox.world import truth
from sandbox.world.model import FAULT_EDITED_AFTER_INVOICE, World
from sync.engine import Engine as SyncEngine
from sync.settings import Billing, Settings
from sync.store.db import make_engine, session_factory
from sync.store.migrate import upgrade
from sync.store.tables import BillingEventRow, ExceptionRow, TimeEntryRow
from tests.conftest import POSTGRES_URL, migrated_sqlite
from tests.sync.sandboxed import by_project_and_period

TODAY = date(2026, 11, 25)
NOON = datetime(2026, 11, 25, 12, tzinfo=UTC)
FAST = RetryPolicy(attempts=3, initial=0.001, maximum=0.01, jitter=0.0)
# faults whose entry has a price (a known project, a person with a rate, hours above zero)
PRICED = {
    "closed_project",
    "over_24h",
    "terminated_resource",
    "currency_mismatch",
    "duplicate",
    "closed_period",
}


@dataclass
class Snapshot:
    """What one run left: exceptions by Harvest entry id, billed entry ids, posted invoices."""

    exceptions: dict[int, ExceptionRow]
    billed: set[int]
    invoices: dict[str, Decimal]


@dataclass
class Outcome:
    world: World
    first: Snapshot
    second: Snapshot
    project_codes: dict[int, str]


def engine_for(box: Sandbox, store: Engine, *, locked: bool = True) -> SyncEngine:
    """The engine on ``box``, its books closed where the world closed them (or open)."""
    books = Billing(closed_through=box.world.period_lock if locked else None)
    return SyncEngine(
        Settings(database_url=str(store.url), billing=books),
        store,
        transports=box.transports(),
        clock=lambda: NOON,
        policy=FAST,
    )


def snapshot(box: Sandbox, store: Engine) -> Snapshot:
    with session_factory(store)() as s:
        rows = s.scalars(select(ExceptionRow).where(ExceptionRow.flow == "billable")).all()
        billed = s.scalars(
            select(TimeEntryRow.source_id).join(
                BillingEventRow, BillingEventRow.source_record_id == TimeEntryRow.id
            )
        ).all()
        for row in rows:
            s.expunge(row)
    exceptions = {int(r.record_key.rsplit(":", 1)[1]): r for r in rows}
    assert len(exceptions) == len(rows), "one exception per entry"
    invoices = {
        i["InvoiceNumber"]: Decimal(str(i["Total"]))
        for i in box.xero.invoices()
        if i["InvoiceNumber"].startswith("P2C-")
    }
    return Snapshot(exceptions, {int(b) for b in billed}, invoices)


def make_store(dialect: str, tmp: Path) -> Iterator[Engine]:
    if dialect == "sqlite":
        store = migrated_sqlite(tmp / "store.db")
        yield store
        store.dispose()
        return
    import uuid

    from sqlalchemy import text

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception:
        admin.dispose()
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}")
    store = make_engine(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"})
    upgrade(store)
    try:
        yield store
    finally:
        store.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


# (size, seed, dialect, months of history: None for the size's own). Every firm but the tiny one
# plants two entries of each fault and has contracts whose time passes their cap; a shorter
# history keeps both (the books close, and go-live falls, three months back) with fewer entries.
FIRMS = [
    pytest.param(("tiny", 7, "sqlite", None), id="tiny"),
    pytest.param(("small", 7, "sqlite", None), id="small"),
    pytest.param(("small", 1, "postgresql", 6), id="small-6-months-seed1-postgresql"),
    pytest.param(("small", 1, "sqlite", 9), id="small-9-months-seed1-over-cap"),
]


@pytest.fixture(scope="module", params=FIRMS)
def outcome(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    size, seed, dialect, months = request.param
    history = {} if months is None else {"months": months}
    box = Sandbox(seed=seed, size=size, today=TODAY, **history)
    stores = make_store(dialect, tmp_path_factory.mktemp(f"{size}-{seed}-{dialect}"))
    store = next(stores)
    try:
        engine = engine_for(box, store)
        assert {r.status for r in engine.run_once()} == {"succeeded"}
        first = snapshot(box, store)
        assert {r.status for r in engine.run_once()} == {"succeeded"}
        second = snapshot(box, store)
        codes = {p.id: p.code for p in box.world.projects}
        yield Outcome(box.world, first, second, codes)
    finally:
        box.stop()
        next(stores, None)


def planted(world: World) -> dict[int, str]:
    return {key: label for (kind, key), label in world.faults.items() if kind == "time_entry"}


def test_every_planted_fault_is_held_with_its_category(outcome: Outcome) -> None:
    faults = planted(outcome.world)
    judged = {k: v for k, v in faults.items() if v != FAULT_EDITED_AFTER_INVOICE}
    found = {k: r.category for k, r in outcome.first.exceptions.items()}
    assert {k: found.get(k) for k in judged} == judged
    assert Counter(judged.values()), "the world plants faults"
    if outcome.world.size != "tiny":  # every kind the world plants is there to be caught
        assert set(judged.values()) >= {
            "terminated_resource",
            "currency_mismatch",
            "duplicate",
            "closed_period",
        }
    for entry, label in faults.items():
        assert entry not in outcome.first.billed, f"{label} entry {entry} was billed"
        if label == FAULT_EDITED_AFTER_INVOICE:
            assert found.get(entry) in (None, FAULT_EDITED_AFTER_INVOICE)


def test_each_held_entry_is_one_open_exception_a_clerk_can_act_on(outcome: Outcome) -> None:
    for entry, row in outcome.first.exceptions.items():
        assert row.status == "open" and row.stage == "validate"
        assert row.reason and len(row.reason) > 30 and "{" not in row.reason
        assert row.payload is not None and row.payload["id"] == entry
        if row.category in PRICED:
            assert row.value_at_risk is not None and row.value_at_risk > 0, row.reason
            assert row.currency


def test_no_clean_entry_is_held_back(outcome: Outcome) -> None:
    world = outcome.world
    faulty = set(planted(world))
    known = {p.id for p in world.projects}
    capped = capped_projects(world)
    clean = world.time_entries.filter(
        (world.time_entries["status"] == "approved")
        & world.time_entries["billable"]
        & world.time_entries["invoice_id"].is_null()
        & world.time_entries["project_id"].is_in(sorted(known))
        & ~world.time_entries["id"].is_in(sorted(faulty))
    )
    over_cap = {k for k, r in outcome.first.exceptions.items() if r.category == "over_cap"}
    held_clean = {
        e: outcome.first.exceptions[e].category
        for e in clean["id"]
        if e in outcome.first.exceptions and e not in over_cap
    }
    assert held_clean == {}
    unbilled = [
        (e, p)
        for e, p in clean.select("id", "project_id").iter_rows()
        if e not in outcome.first.billed and not (e in over_cap and p in capped)
    ]
    assert unbilled == []
    assert clean.height > 0


def capped_projects(world: World) -> set[int]:
    """Projects of contracts whose time passes the contract's cap."""
    over = truth.over_cap(world)
    return {p.id for p in world.projects if p.contract_id in over}


def test_invoices_in_xero_equal_the_truth_and_stay_within_caps(outcome: Outcome) -> None:
    world = outcome.world
    capped = capped_projects(world)
    capped_codes = {outcome.project_codes[p] for p in capped}
    posted = by_project_and_period(outcome.first.invoices)
    expected = {
        (e["project_code"], e["period_start"]): e["total"] for e in truth.expected_invoices(world)
    }
    assert {k: v for k, v in posted.items() if k[0] not in capped_codes} == {
        k: v for k, v in expected.items() if k[0] not in capped_codes
    }
    held = Counter(
        r.payload["project"]["id"]
        for r in outcome.first.exceptions.values()
        if r.category == "over_cap" and r.payload
    )
    assert set(held) <= capped, "over_cap only where the time passes a cap"
    for contract, (cap, _) in truth.over_cap(world).items():
        codes = {p.code for p in world.projects if p.contract_id == contract}
        billed = sum(v for k, v in posted.items() if k[0] in codes)
        assert billed <= cap, f"{codes} billed {billed}, over the cap of {cap}"
        assert sum(n for p, n in held.items() if outcome.project_codes[p] in codes) > 0


def test_time_over_a_cap_is_valued_at_what_passes_the_cap(outcome: Outcome) -> None:
    rows = [r for r in outcome.first.exceptions.values() if r.category == "over_cap"]
    assert bool(rows) == bool(truth.over_cap(outcome.world))
    assert rows or outcome.world.size == "tiny", "the firm has time past a cap to value"
    for row in rows:
        assert row.value_at_risk is not None and row.value_at_risk > 0
        assert "not-to-exceed cap" in row.reason


def test_a_second_run_keeps_what_waits_held_once_and_bills_nothing_new(outcome: Outcome) -> None:
    first, second = outcome.first, outcome.second
    assert {k: r.category for k, r in second.exceptions.items()} == {
        k: r.category for k, r in first.exceptions.items()
    }
    assert all(r.status == "open" for r in second.exceptions.values())
    assert second.billed == first.billed
    assert second.invoices == first.invoices


def test_late_time_is_judged_again_and_billed_once_it_passes(tmp_path: Path) -> None:
    """Finance reopens the period: late time is judged again on the next run. The world's late
    entries repeat an earlier entry word for word, so they now wait as duplicates; the one whose
    notes were corrected in Harvest passes, is billed, and its exception is resolved."""
    box = Sandbox(
        seed=7, size="small", months=6, today=TODAY, faults=["closed_period"], now=lambda: NOON
    )
    stores = make_store("sqlite", tmp_path)
    store = next(stores)
    try:
        assert {r.status for r in engine_for(box, store).run_once()} == {"succeeded"}
        fixed, *others = sorted(k for k, v in planted(box.world).items() if v == "closed_period")
        before = snapshot(box, store)
        assert {before.exceptions[k].category for k in (fixed, *others)} == {"closed_period"}
        box.harvest.edit_entry(fixed, notes="Steering committee follow-up (logged late)")
        reopened = engine_for(box, store, locked=False)
        assert reopened.run_flow("billable").status == "succeeded"
        after = snapshot(box, store)
        assert fixed in after.billed and after.exceptions[fixed].status == "resolved"
        for entry in others:
            assert entry not in after.billed
            assert after.exceptions[entry].category == "duplicate"
            assert after.exceptions[entry].status == "open"
    finally:
        box.stop()
        next(stores, None)
