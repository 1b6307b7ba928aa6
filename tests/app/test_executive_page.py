"""The executive Overview under AppTest: empty store, hand-counted KPIs, slices and drilldown.

The store is :mod:`tests.app.seed` seeded as of ``DAY`` (Friday 30 Oct 2026) plus, here: the two
people's practice and region, a firm-wide holiday, a day of time off, October's time entries and
a payment. Hand-computed figures for October 2026 as of ``DAY``:

- weekdays 1–30 Oct: 22; less the holiday on Mon 12 Oct: 21 days × 8 h = 168 h each; Grace also
  has 8 h approved time off → available 168 + 160 = 328 h. Billable: Ada 100 h, Grace 60 h
  (her 20 non-billable hours do not count) → 160 ÷ 328 = 48.8 %. Ada alone (Strategy): 59.5 %.
- WIP USD = 2,300.00 (events of 10, 45 and 100 days); the 0–30 bucket holds one event, ``e1``.
- DSO USD: posted USD invoice 1,500.00 issued on ``DAY``, 500.00 paid → AR 1,000.00;
  countback 1,000 ÷ 1,500 of October's 30 days = 20.0 days.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import update
from streamlit.testing.v1 import AppTest

from sync.store.db import make_engine, session_factory, transaction
from sync.store.migrate import upgrade
from sync.store.tables import (
    BusinessEventRow,
    HolidayRow,
    PaymentRow,
    ResourceRow,
    TimeEntryRow,
    TimeOffRow,
)
from tests.app.conftest import APP
from tests.app.seed import seed

DAY = date(2026, 10, 30)


def _entry(n: int, person: str, day: date, hours: str, *, billable: bool) -> TimeEntryRow:
    now = datetime.now(UTC)
    return TimeEntryRow(
        id=f"te-{person}-{n}",
        source="test",
        source_id=f"{person}-{n}",
        updated_at=now,
        resource_id=person,
        project_id="p-usd",
        spent_date=day,
        hours=Decimal(hours),
        billable=billable,
        status="approved",
        approved_at=now,
    )


@pytest.fixture
def executive_url(store_url: str) -> str:
    engine = make_engine(store_url)
    upgrade(engine)
    seed(engine, DAY)
    now = datetime.now(UTC)
    with transaction(session_factory(engine)) as session:
        for person, practice in (("r-ada", "Strategy"), ("r-grace", "Technology")):
            session.execute(
                update(ResourceRow)
                .where(ResourceRow.id == person)
                .values(practice=practice, region="Europe")
            )
        session.add(
            HolidayRow(id="h1", region=None, day=date(2026, 10, 12), name="Holiday",
                       source="test", updated_at=now)
        )  # fmt: skip
        session.add(
            TimeOffRow(id="off-1", request_id="off", resource_id="r-grace", day=date(2026, 10, 14),
                       hours=Decimal(8), kind="Vacation", status="approved", source="test",
                       updated_at=now)
        )  # fmt: skip
        for n in range(10):  # Ada: 10 × 10 h billable; Grace: 10 × 6 h billable, 10 × 2 h not
            day = date(2026, 10, 1) + timedelta(days=n)
            session.add(_entry(n, "r-ada", day, "10", billable=True))
            session.add(_entry(n, "r-grace", day, "6", billable=True))
            session.add(_entry(n + 100, "r-grace", day, "2", billable=False))
        session.add(
            PaymentRow(id="pay-1", invoice_id="inv-usd", received_on=DAY, amount=Decimal(500),
                       currency="USD", source="test", source_id="pay-1", updated_at=now)
        )  # fmt: skip
        session.add(
            BusinessEventRow(name="billing_event.created", entity_type="billing_event",
                             entity_id="e1", occurred_at=now, recorded_at=now, attributes={})
        )  # fmt: skip
    engine.dispose()
    return store_url


def _run(*, slice_by: tuple[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=90).run()
    assert not at.exception, [e.value for e in at.exception]
    at.date_input(key="as_of").set_value(DAY).run()
    if slice_by:
        at.selectbox(key="slice").select(slice_by[0]).run()
        at.selectbox(key=f"slice_value_{slice_by[0].lower()}").select(slice_by[1]).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_an_empty_store_says_there_is_no_data_yet(store_url: str) -> None:
    at = AppTest.from_file(str(APP), default_timeout=90).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Overview"
    assert "No data yet" in at.info[0].value and "make demo" in at.info[0].value
    assert len(at.metric) == 0


@pytest.mark.usefixtures("executive_url")
def test_tiles_carry_units_periods_and_the_hand_computed_figures() -> None:
    at = _run()
    metrics = _metrics(at)
    assert metrics["Billable utilization, Oct"] == "48.8 %"
    assert metrics["WIP, unbilled — USD"] == "$2,300.00"
    assert metrics["DSO (countback) — USD"] == "20.0 days"
    assert "Cycle time median, Oct" in metrics
    assert any("People and billing — Oct 2026" in m.value for m in at.markdown)
    assert any(label.startswith("Margin, Oct — ") for label in metrics)
    assert not any("GBP" in label and "USD" in label for label in metrics)


@pytest.mark.usefixtures("executive_url")
def test_a_practice_slice_cuts_utilization_to_its_people() -> None:
    at = _run(slice_by=("Practice", "Strategy"))
    assert _metrics(at)["Billable utilization, Oct"] == "59.5 %"  # 100 ÷ 168
    assert "Practice: **Strategy**" in at.caption[0].value


@pytest.mark.usefixtures("executive_url")
def test_a_wip_bucket_drills_to_its_events_and_an_event_to_its_journey() -> None:
    at = _run()
    at.selectbox(key="wip_drill").select("0–30").run()
    records = at.dataframe(key="wip_records_USD_0–30")
    assert records.value["event_id"].tolist() == ["e1"]
    at.session_state["wip_records_USD_0–30"] = {
        "selection": {"rows": [0], "columns": [], "cells": []}
    }
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Journey of billing event `e1`" in m.value for m in at.markdown)
    journeys = [d.value for d in at.dataframe if "event" in d.value.columns]
    assert journeys and journeys[-1]["event"].tolist() == ["billing_event.created"]


@pytest.mark.usefixtures("executive_url")
def test_the_receivable_behind_dso_lists_the_open_invoice() -> None:
    at = _run()
    open_items = at.dataframe(key="ar_records_USD").value
    assert open_items["number"].tolist() == ["P2C-TEST-USD-001"]
    assert open_items["due"].tolist() == [1000.0]
