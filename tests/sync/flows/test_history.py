"""What the store already holds for a page's rules, read on SQLite and on PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import polars as pl
from sqlalchemy import Engine

from collectors.entities import canonical_id
from collectors.harvest import time_entries_frame
from sync.flows.history import load_history, whole_days
from sync.rules import MONEY, Reference, check
from sync.store.db import session_factory
from sync.store.tables import BillingEventRow, TimeEntryRow
from tests.sync.rules.test_rules import raw
from tests.sync.rules.test_rules import reference as rules_reference

MOMENT = datetime(2026, 10, 20, 10, tzinfo=UTC)
ANN = canonical_id("harvest", "resource", 1)
PROJECT = canonical_id("harvest", "project", 10)


def entry(source_id: int, **over: object) -> TimeEntryRow:
    values: dict[str, object] = {
        "id": canonical_id("harvest", "time_entry", source_id),
        "source": "harvest",
        "source_id": str(source_id),
        "updated_at": MOMENT,
        "resource_id": ANN,
        "project_id": PROJECT,
        "spent_date": date(2026, 10, 5),
        "hours": Decimal("7.5"),
        "billable": True,
        "status": "approved",
        "notes": "Workshop",
        "submitted_at": MOMENT,
        "is_billed": False,
    }
    return TimeEntryRow(**(values | over))


def event(source_id: int, amount: str, contract: str = "con_a") -> BillingEventRow:
    entry_id = canonical_id("harvest", "time_entry", source_id)
    return BillingEventRow(
        id=f"be_{source_id}",
        contract_id=contract,
        project_id=PROJECT,
        customer_id="cus",
        kind="time",
        source_record_id=entry_id,
        occurred_on=date(2026, 10, 5),
        quantity=Decimal("7.5"),
        rate=Decimal(150),
        amount=Decimal(amount),
        currency="USD",
        description="Workshop — Ann",
        created_at=MOMENT,
        updated_at=MOMENT,
    )


def page(*ids: int, day: str = "2026-10-05") -> pl.DataFrame:
    """The rules' literal entries (Ann's 7.5 h on project 10), no rate of their own, noted."""
    stamp = "2026-10-21T10:00:00Z"
    own = {"notes": "Workshop", "billable_rate": None, "created_at": stamp, "updated_at": stamp}
    return time_entries_frame([raw(i, spent_date=day, **own) for i in ids])


def reference(cap: str | None = "2000") -> Reference:
    """The rules' test reference (Ann on project 10 of contract con_a), with a cap."""
    ref = rules_reference()
    money = pl.lit(Decimal(cap) if cap else None, dtype=MONEY)
    return replace(ref, contracts=ref.contracts.with_columns(not_to_exceed=money))


def test_the_page_people_and_days_come_back_with_whether_they_are_billed(store: Engine) -> None:
    with session_factory(store).begin() as s:
        s.add_all(
            [
                entry(1),  # billed twin
                entry(2, notes="Other", status="submitted"),  # not billing
                entry(3, deleted_at=MOMENT),  # deleted in Harvest: gone
                entry(4, spent_date=date(2026, 10, 6)),  # another day
                entry(5, resource_id="someone else"),  # another person
                entry(9),  # the page's own entry, stored by an earlier run
            ]
        )
        s.add_all([event(1, "1125"), event(9, "1125")])
    with session_factory(store)() as s:
        history = load_history(s, page(9), reference())
    stored = history.entries.sort("source_id")
    assert stored.select("source_id", "billing", "billed", "hours").rows() == [
        ("1", True, True, Decimal("7.5")),
        ("2", False, False, Decimal("7.5")),
    ]  # not 9: the page's own entry, whose new version replaces it
    # the cap's commitment leaves out the page's own entry (its new version replaces it)
    assert history.committed.rows() == [("con_a", Decimal("1125.0000"))]
    frame = check(page(9), reference(), history)
    assert frame["category"].to_list() == ["duplicate"]  # a copy of entry 1, which is billed


def test_no_cap_no_commitment_query_and_no_days_no_entries(store: Engine) -> None:
    with session_factory(store)() as s:
        uncapped = load_history(s, page(9), reference(cap=None))
        assert uncapped.committed.is_empty()
        nothing = load_history(s, page(9).clear(), reference())
        assert nothing.entries.is_empty() and nothing.committed.is_empty()


def test_a_day_is_never_cut_between_two_pages() -> None:
    def day(d: int, i: int) -> dict[str, object]:
        return {"id": i, "spent_date": f"2026-10-0{d}"}

    pages = [[day(3, 1), day(3, 2), day(2, 3)], [day(2, 4), day(1, 5)], [day(1, 6)], []]
    regrouped = list(whole_days(iter(pages)))
    assert [[r["id"] for r in p] for p in regrouped] == [[1, 2], [3, 4], [5, 6]]
    one_day = [[day(1, 1), day(1, 2)], [day(1, 3)]]  # a day bigger than a page waits whole
    assert [[r["id"] for r in p] for p in whole_days(iter(one_day))] == [[1, 2, 3]]
    assert list(whole_days(iter([["garbage", day(1, 1)]]))) == [["garbage"], [day(1, 1)]]
