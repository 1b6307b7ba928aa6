"""The billing rules on small literal pages with hand-computed answers."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import polars as pl

from collectors.harvest import time_entries_frame
from sync.rules import MONEY, Reference, check

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
