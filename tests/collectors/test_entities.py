from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from pydantic import ValidationError

from collectors.entities import (
    Contract,
    Invoice,
    InvoiceLine,
    RateCard,
    RateLine,
    TimeEntry,
    TimeStatus,
    canonical_id,
)

NOW = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
HARVEST_ONE: dict[str, object] = {"source": "harvest", "source_id": "1", "updated_at": NOW}


def entry(**overrides: object) -> TimeEntry:
    fields: dict[str, object] = {
        "id": "te_1",
        **HARVEST_ONE,
        "resource_id": "res_1",
        "project_id": "prj_1",
        "spent_date": date(2026, 11, 2),
        "hours": Decimal("7.5"),
        "billable": True,
        "status": TimeStatus.APPROVED,
    }
    return TimeEntry(**(fields | overrides))  # type: ignore[arg-type]


def test_valid_entry_is_frozen_and_versioned() -> None:
    e = entry()
    assert e.schema_version == 1
    with pytest.raises(ValidationError):
        e.hours = Decimal(1)  # type: ignore[misc]


def test_negative_hours_are_rejected() -> None:
    with pytest.raises(ValidationError, match="greater than or equal to 0"):
        entry(hours=Decimal("-1"))


def test_more_than_a_day_is_rejected() -> None:
    with pytest.raises(ValidationError):
        entry(hours=Decimal("24.25"))


def test_naive_datetime_is_rejected_and_aware_is_converted_to_utc() -> None:
    with pytest.raises(ValidationError, match="timezone-aware"):
        entry(updated_at=datetime(2026, 11, 2, 9, 30))
    plus_two = timezone(timedelta(hours=2))
    e = entry(updated_at=datetime(2026, 11, 2, 11, 30, tzinfo=plus_two))
    assert e.updated_at == NOW and e.updated_at.tzinfo == UTC


def contract(**overrides: object) -> Contract:
    fields: dict[str, object] = {
        "id": "c",
        **HARVEST_ONE,
        "customer_id": "cus",
        "name": "x",
        "currency": "usd",
    }
    return Contract(**(fields | overrides))  # type: ignore[arg-type]


def test_unknown_currency_is_rejected() -> None:
    with pytest.raises(ValidationError, match="unknown currency"):
        contract(currency="USS")


def test_end_before_start_is_rejected() -> None:
    with pytest.raises(ValidationError, match="before start"):
        contract(start=date(2026, 2, 1), end=date(2026, 1, 1))


def test_rate_card_finds_the_rate_in_force() -> None:
    card = RateCard(
        id="rc",
        source="kantata",
        source_id="9",
        updated_at=NOW,
        contract_id="c",
        currency="EUR",
        lines=(
            RateLine(
                role="Analyst",
                rate=Decimal(100),
                effective_from=date(2026, 1, 1),
                effective_to=date(2026, 6, 30),
            ),
            RateLine(role="Analyst", rate=Decimal(110), effective_from=date(2026, 7, 1)),
        ),
    )
    assert card.rate_for("Analyst", date(2026, 6, 30)) == Decimal(100)
    assert card.rate_for("Analyst", date(2026, 7, 1)) == Decimal(110)
    assert card.rate_for("Partner", date(2026, 7, 1)) is None


def test_invoice_total_must_match_lines() -> None:
    line = InvoiceLine(
        description="x", quantity=Decimal(2), unit_amount=Decimal(100), amount=Decimal("200.00")
    )
    common = {
        "id": "inv",
        "number": "P2C-1",
        "source": "plan2cash",
        "source_id": "1",
        "updated_at": NOW,
        "customer_id": "cus",
        "contract_id": "con",
        "currency": "USD",
        "period_start": date(2026, 10, 1),
        "period_end": date(2026, 10, 31),
        "issue_date": date(2026, 11, 1),
        "due_date": date(2026, 12, 1),
        "lines": (line,),
    }
    assert Invoice(total=Decimal("200.00"), **common).total == Decimal(200)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="does not equal"):
        Invoice(total=Decimal("199.99"), **common)  # type: ignore[arg-type]


def test_canonical_ids_are_deterministic_and_distinct() -> None:
    assert canonical_id("harvest", "project", 5) == canonical_id("harvest", "project", "5")
    assert canonical_id("harvest", "project", 5).startswith("prj_")
    assert canonical_id("harvest", "project", 5) != canonical_id("harvest", "project", 6)
    assert canonical_id("harvest", "project", 5) != canonical_id("xero", "project", 5)
