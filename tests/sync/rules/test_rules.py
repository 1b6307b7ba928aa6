"""The billing rules on small literal pages with hand-computed answers."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import polars as pl

from collectors.entities import canonical_id
from collectors.harvest import time_entries_frame
from sync.rules import MONEY, STORED_SCHEMA, History, Reference, check

UPDATED = "2026-10-20T10:00:00Z"


def raw(i: int, **over: object) -> dict[str, object]:
    base: dict[str, object] = {
        "id": i,
        "spent_date": "2026-10-05",
        "hours": 7.5,
        "billable": True,
        "is_closed": True,
        "user": {"id": 1},
        "project": {"id": 10},
        "client": {"id": 100},
        "task": {"name": "Consulting"},
        "billable_rate": 150,
        "created_at": UPDATED,
        "updated_at": UPDATED,
    }
    return base | over


def reference() -> Reference:
    from collectors.entities import canonical_id as cid

    p = cid("harvest", "project", 10)
    closed = cid("harvest", "project", 11)
    r = cid("harvest", "resource", 1)
    stranger = cid("harvest", "resource", 2)
    return Reference(
        projects=pl.DataFrame(
            {
                "project_id": [p, closed],
                "contract_id": ["con_a", "con_b"],
                "customer_id": ["cus", "cus"],
                "project_name": ["Alpha", "Closed"],
                "project_status": ["active", "closed"],
                "project_end": [None, date(2026, 9, 30)],
                "project_currency": ["USD", "USD"],
            }
        ),
        contracts=pl.DataFrame(
            {
                "contract_id": ["con_a", "con_b"],
                "contract_name": ["Alpha", "Closed"],
                "contract_status": ["active", "closed"],
                "contract_start": [date(2026, 1, 1)] * 2,
                "contract_end": [None, date(2026, 9, 30)],
                "currency": ["USD", "USD"],
            }
        ),
        resources=pl.DataFrame(
            {
                "resource_id": [r, stranger],
                "resource_name": ["Ann", "Bob"],
                "role": ["Consultant", "Analyst"],
            }
        ),
        assignments=pl.DataFrame(
            {
                "project_id": [p, closed],
                "resource_id": [r, r],
                "assigned": [True, True],
                "assignment_rate": [Decimal("150.00"), Decimal("150.00")],
            },
            schema_overrides={"assignment_rate": MONEY},
        ),
        rate_cards=pl.DataFrame(
            schema={
                "contract_id": pl.String,
                "role": pl.String,
                "card_rate": MONEY,
                "effective_from": pl.Date,
                "effective_to": pl.Date,
            }
        ),
    )


def categories(page: list[object]) -> dict[object, object]:
    frame = check(time_entries_frame(page), reference())  # type: ignore[arg-type]
    return dict(zip(frame["source_id"], frame["category"], strict=True))


def test_a_good_entry_is_priced_to_the_cent() -> None:
    frame = check(time_entries_frame([raw(1, hours=7.33)]), reference())
    assert frame["category"].to_list() == [None]
    assert frame["amount"].to_list() == [Decimal("1099.50")]  # 7.33 × 150


def test_each_fault_gets_its_own_category() -> None:
    got = categories(
        [
            raw(1),
            raw(2, hours=-2),
            raw(3, hours=26),
            raw(4, project={"id": 999}),
            raw(5, project={"id": 11}),
            raw(6, user={"id": 2}),
            raw(7, spent_date="not a date"),
        ]
    )
    assert got == {
        "1": None,
        "2": "negative_hours",
        "3": "over_24h",
        "4": "unknown_project",
        "5": "closed_project",
        "6": "no_assignment",
        "7": "malformed",
    }


def test_reasons_are_plain_words() -> None:
    frame = check(time_entries_frame([raw(5, project={"id": 11})]), reference())
    assert frame["reason"][0] == (
        "Project Closed is closed (ended 2026-09-30); time dated 2026-10-05 cannot be billed to it."
    )


def test_unapproved_or_non_billable_time_is_not_judged_by_billing_rules() -> None:
    got = categories([raw(1, hours=-1, is_closed=False), raw(2, billable=False, hours=30)])
    assert got == {"1": None, "2": None}


def test_garbage_records_are_malformed_not_crashes() -> None:
    frame = check(time_entries_frame(["garbage", {"no": "id"}, raw(3)]), reference())
    assert frame["category"].to_list() == ["malformed", "malformed", None]


def test_rate_card_supplies_the_rate_when_there_is_no_override() -> None:
    ref = reference()
    ref = Reference(
        ref.projects,
        ref.contracts,
        ref.resources,
        ref.assignments.with_columns(assignment_rate=pl.lit(None, dtype=MONEY)),
        pl.DataFrame(
            {
                "contract_id": ["con_a", "con_a"],
                "role": ["Consultant", "Consultant"],
                "card_rate": [Decimal(100), Decimal(120)],
                "effective_from": [date(2026, 1, 1), date(2026, 10, 1)],
                "effective_to": [date(2026, 9, 30), None],
            },
            schema_overrides={"card_rate": MONEY},
        ),
    )
    frame = check(time_entries_frame([raw(1), raw(2, spent_date="2026-09-30")]), ref)
    assert dict(zip(frame["source_id"], frame["rate"], strict=True)) == {
        "1": Decimal(120),
        "2": Decimal(100),
    }
    assert frame.height == 2
    assert frame["updated_at"][0] == datetime(2026, 10, 20, 10, tzinfo=UTC)


def test_time_invoiced_outside_plan2cash_is_never_billed_again() -> None:
    frame = check(
        time_entries_frame([raw(1, is_billed=True), raw(2, is_billed=False)]), reference()
    )
    assert dict(zip(frame["source_id"], frame["billing"], strict=True)) == {"1": False, "2": True}
    assert frame["category"].to_list() == [None, None]


# --- the rules of issue 5: people, currency, books, and rules that see past one entry ------

R1 = canonical_id("harvest", "resource", 1)


def ids(frame: pl.DataFrame, column: str = "category") -> dict[object, object]:
    return dict(zip(frame["source_id"], frame[column], strict=True))


def with_(ref: Reference, **changes: object) -> Reference:
    return replace(ref, **changes)  # type: ignore[arg-type]


def test_time_after_the_person_left_is_held_and_their_earlier_time_is_billed() -> None:
    ref = reference()
    left = ref.resources.with_columns(
        termination_date=pl.when(pl.col("resource_id") == R1)
        .then(pl.lit(date(2026, 10, 2)))
        .otherwise(None)
    )
    frame = check(
        time_entries_frame([raw(1, spent_date="2026-10-02"), raw(2, spent_date="2026-10-05")]),
        with_(ref, resources=left),
    )
    assert ids(frame) == {"1": None, "2": "terminated_resource"}
    assert frame["reason"][1] == (
        "Ann left the firm on 2026-10-02; time dated 2026-10-05 cannot be billed. "
        "Correct the date of the entry or the termination date."
    )


def test_a_project_in_another_currency_than_its_contract_or_customer_is_held() -> None:
    ref = reference()
    projects = ref.projects.with_columns(customer_currency=pl.lit("USD"))
    euro = projects.with_columns(project_currency=pl.lit("EUR"))
    assert categories_with(with_(ref, projects=projects)) == {"1": None}
    frame = check(time_entries_frame([raw(1)]), with_(ref, projects=euro))
    assert frame["category"].to_list() == ["currency_mismatch"]
    assert "set up in EUR but its contract bills in USD" in frame["reason"][0]
    # the customer (the Harvest client) bills in GBP while project and contract say USD
    pounds = projects.with_columns(customer_currency=pl.lit("GBP"))
    assert categories_with(with_(ref, projects=pounds)) == {"1": "currency_mismatch"}


def categories_with(ref: Reference, page: list[object] | None = None) -> dict[object, object]:
    return ids(check(time_entries_frame(page or [raw(1)]), ref))  # type: ignore[arg-type]


def test_time_entered_after_its_month_closed_is_held_in_a_locked_period_only() -> None:
    ref = with_(reference(), closed_through=date(2026, 9, 30), close_grace_days=3)
    page = [
        raw(1, spent_date="2026-09-29", created_at="2026-10-03T16:00:00Z"),  # within grace
        raw(2, spent_date="2026-09-29", created_at="2026-10-04T10:00:00Z", notes="late"),
        raw(3, spent_date="2026-08-12", created_at="2026-09-20T10:00:00Z"),  # August closed 3 Sep
        raw(4, spent_date="2026-10-01", created_at="2026-11-20T10:00:00Z"),  # October is open
    ]
    frame = check(time_entries_frame(page), ref)
    assert ids(frame) == {"1": None, "2": "closed_period", "3": "closed_period", "4": None}
    assert frame["reason"][1] == (
        "Dated 2026-09-29 in an accounting period already closed (books closed through "
        "2026-09-30) but entered on 2026-10-04; move the time to an open period or have finance "
        "reopen the period."
    )
    # books not configured: nothing is locked
    assert categories_with(reference(), page)["2"] is None


def test_the_later_of_two_identical_entries_is_held_as_a_duplicate() -> None:
    later = "2026-10-21T09:00:00Z"
    page = [
        raw(7, created_at=later),  # same as 8 but entered later, although its id is smaller
        raw(8),
        raw(9, notes="other work"),  # same day and hours, different notes: not a copy
        raw(10, hours=7.0),
        raw(11, hours=7.0, is_closed=False),  # not approved: never billed, so no copy of 10
    ]
    frame = check(time_entries_frame(page), reference())
    assert ids(frame) == {"7": "duplicate", "8": None, "9": None, "10": None, "11": None}
    assert frame["reason"][0].startswith(
        "Same person, project, day, hours and notes as Harvest entry 8: 7.5 h by Ann on 2026-10-05."
    )


def stored(*rows: dict[str, object]) -> History:
    """Entries of Ann's 5 October on project 10 already in the store (billed, unless said)."""
    base = {
        "resource_id": R1,
        "project_id": canonical_id("harvest", "project", 10),
        "spent_date": date(2026, 10, 5),
        "hours": Decimal("7.5"),
        "notes": None,
        "submitted_at": datetime(2026, 10, 20, 10, tzinfo=UTC),
        "billing": True,
        "billed": True,
    }
    frame = pl.DataFrame(
        [
            {**base, **r, "id": canonical_id("harvest", "time_entry", r["source_id"])}
            for r in rows  # type: ignore[index]
        ],
        schema=STORED_SCHEMA,
    )
    return History(frame, History.empty().committed)


def test_a_copy_of_an_entry_billed_on_an_earlier_page_or_run_is_held() -> None:
    # the billed twin came first (stored), or even later by id: either way nothing bills twice
    for twin in ("3", "99"):
        frame = check(time_entries_frame([raw(5)]), reference(), stored({"source_id": twin}))
        assert ids(frame) == {"5": "duplicate"}
        assert f"Harvest entry {twin}:" in frame["reason"][0]
    # a stored twin that is held itself (not billed) and came later does not hold the original
    later = stored({"source_id": "99", "billed": False, "submitted_at": datetime(2026, 11, 1)})
    assert ids(check(time_entries_frame([raw(5)]), reference(), later)) == {"5": None}


def test_a_persons_day_cannot_pass_24_hours_across_entries_pages_and_runs() -> None:
    page = [raw(1, hours=10), raw(2, hours=10, notes="b"), raw(3, hours=6, notes="c")]
    frame = check(time_entries_frame(page), reference())
    assert ids(frame) == {"1": None, "2": None, "3": "over_24h"}
    assert frame["reason"][2] == (
        "Ann would have 26.0 hours on 2026-10-05 with this entry, more than a day holds; "
        "correct the hours in Harvest."
    )
    # 20 hours already stored (billed) that day: the page's 6 hours pass the day's 24
    history = stored({"source_id": "90", "hours": Decimal(12)}, {"source_id": "91", "hours": 8})
    frame = check(time_entries_frame([raw(4, hours=6)]), reference(), history)
    assert ids(frame) == {"4": "over_24h"}
    # held entries do not count: a stored 26-hour entry, a held copy, the other person's day
    held = stored(
        {"source_id": "92", "hours": Decimal(26), "billed": False},
        {"source_id": "93", "hours": Decimal(12), "billed": False},
        {"source_id": "94", "hours": Decimal(12), "resource_id": "someone else"},
    )
    assert ids(check(time_entries_frame([raw(4, hours=6)]), reference(), held)) == {"4": None}


def test_the_entry_that_crosses_the_cap_is_held_with_the_part_over_as_value_at_risk() -> None:
    ref = reference()
    capped = with_(
        ref, contracts=ref.contracts.with_columns(not_to_exceed=pl.lit(Decimal(2000)).cast(MONEY))
    )
    committed = pl.DataFrame(
        {"contract_id": ["con_a"], "committed": [Decimal(1000)]},
        schema={"contract_id": pl.String, "committed": MONEY},
    )
    history = History(History.empty().entries, committed)
    page = [
        raw(1, spent_date="2026-10-06", notes="a"),  # 1125.00 → 2125.00: crosses, 125 over
        raw(2, spent_date="2026-10-07", notes="b"),  # all of it over
        raw(3, spent_date="2026-10-05", hours=2, notes="c"),  # 300.00 first by date: 1300
        raw(4, project={"id": 11}, spent_date="2026-09-01"),  # another contract, no cap
    ]
    frame = check(time_entries_frame(page), capped, history)
    assert ids(frame) == {"1": "over_cap", "2": "over_cap", "3": None, "4": None}
    assert ids(frame, "at_risk") == {
        "1": Decimal("425.00"),
        "2": Decimal("1125.00"),
        "3": None,
        "4": None,
    }
    assert frame["reason"][0] == (
        "Contract Alpha has a not-to-exceed cap of 2000.00 USD; with this entry its billing "
        "would reach 2425.00, 425.00 over. Raise the cap (a change order) or write the time off."
    )
