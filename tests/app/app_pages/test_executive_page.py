"""The executive Overview under AppTest: empty store, hand-counted KPIs, slices and drilldown.

The store is :mod:`tests.app.seed` seeded as of ``DAY`` (Friday 30 Oct 2026), its stamps moved to
match that day (work approved the next morning at 09:00, billing events an hour later, the USD
invoice created and posted on ``DAY``, the EUR one on 31 Aug), plus, here: the two people's
practice and region, a firm-wide holiday, a day of time off, September's and October's time
entries, a held time entry and a payment. Then the rollups are built, as the engine's ``rollups``
flow does, and the page reads them. Hand-computed figures for October 2026 as of ``DAY``:

- utilization: weekdays 1–30 Oct: 22; less the holiday on Mon 12 Oct: 21 days × 8 h = 168 h
  each; Grace also has 8 h approved time off → available 168 + 160 = 328 h. Billable: Ada 100 h,
  Grace 60 h (her 20 non-billable hours do not count) → 160 ÷ 328 = 48.8 %. Ada alone
  (Strategy): 100 ÷ 168 = 59.5 %.
- approved before close, September (its cut-off, 3 days after it ended, is 3 Oct): Ada's 4 × 5 h
  (two approved on 2 Oct, two on 10 Oct) and Grace's 3 h (approved 23 Sep) → 13 ÷ 23 = 56.5 %.
- cycle time: one invoice posted in October (USD, 30 Oct 10:00) bills ``e4`` (work of 20 Sep,
  approved 21 Sep 09:00) → 39 days 1 hour = 39.0 days, median and p90.
- WIP USD = 2,300.00 (events of 10, 45 and 100 days; the 0–30 bucket holds one event, ``e1``);
  on 30 Sep it was 2,600.00 (``e4``, invoiced only on 30 Oct, was still unbilled) → −300.00.
- DSO USD: posted USD invoice 1,500.00 issued on ``DAY``, 500.00 paid → AR 1,000.00;
  countback 1,000 ÷ 1,500 of October's 30 days = 20.0 days.
- leakage USD: approved billable time on no invoice whose month closed more than 15 days ago:
  Grace's 3 h of 22 Sep, held as an exception worth 450.00 (3 h at 150.00), and Ada's 2.5 h of
  22 Jul behind ``e3`` (at its rate, 200.00: 500.00) → 950.00 over 2 time entries. None was
  billed below its rate: the seeded time carries no standard rate of its own.
- margin USD, October: revenue is the billable value of October's work, ``e1`` (8 h × 150.00 =
  1,200.00); labour is every hour logged on USD projects at the 50.00 cost rate, billable or not:
  Ada 100 h + Grace 60 h + 20 h = 180 h → 9,000.00. Margin −7,800.00, −650.0 % of revenue.
  September: ``e2`` 600.00 + ``e4`` 1,500.00 = 2,100.00 less (Ada 20 h + Grace 3 h) × 50.00 =
  1,150.00 → 950.00, 45.2 % → −695.2 pp.

``e3``'s time entry is here because the rollups are rebuilt from the first day of time: a
billing event older than every time entry would not be rolled up.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest
import streamlit as st
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session
from streamlit.testing.v1 import AppTest

from app import data
from sync.flows import rollups
from sync.store.db import make_engine, session_factory, transaction
from sync.store.migrate import upgrade
from sync.store.tables import (
    BillingEventRow,
    BusinessEventRow,
    ExceptionRow,
    HolidayRow,
    InvoiceRow,
    PaymentRow,
    ResourceRow,
    TimeEntryRow,
    TimeOffRow,
)
from tests.app.conftest import APP
from tests.app.seed import seed
from tests.conftest import POSTGRES_URL

DAY = date(2026, 10, 30)
HELD_ENTRY = "te-r-grace-s1"


def _at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


def _entry(
    key: str, person: str, day: date, hours: str, *, billable: bool, approved: date | None = None
) -> TimeEntryRow:
    approved = approved or day + timedelta(days=1)
    return TimeEntryRow(
        id=key if key.startswith("te-") else f"te-{person}-{key}",
        source="test",
        source_id=f"{person}-{key}",
        updated_at=_at(approved, 9),
        resource_id=person,
        project_id="p-usd",
        spent_date=day,
        hours=Decimal(hours),
        billable=billable,
        status="approved",
        submitted_at=_at(day, 18),
        approved_at=_at(approved, 9),
    )


def _time(session: Session) -> None:
    for n in range(10):  # October — Ada: 10 × 10 h billable; Grace: 10 × 6 h billable, 10 × 2 h not
        day = date(2026, 10, 1) + timedelta(days=n)
        session.add(_entry(str(n), "r-ada", day, "10", billable=True))
        session.add(_entry(str(n), "r-grace", day, "6", billable=True))
        session.add(_entry(str(n + 100), "r-grace", day, "2", billable=False))
    for n, approved in enumerate((date(2026, 10, 2),) * 2 + (date(2026, 10, 10),) * 2):
        day = date(2026, 9, 21) + timedelta(days=n)  # September — Ada: 4 × 5 h internal time
        session.add(_entry(f"s{n}", "r-ada", day, "5", billable=False, approved=approved))
    session.add(_entry("s1", "r-grace", date(2026, 9, 22), "3", billable=True))
    session.add(_entry("te-e3", "r-ada", DAY - timedelta(days=100), "2.5", billable=True))
    now = datetime.now(UTC)
    session.add(
        ExceptionRow(record_key=f"harvest:time_entry:{HELD_ENTRY}", flow="billable",
                     stage="validate", category="no_assignment", reason="test",
                     entity_type="time_entry", entity_id=HELD_ENTRY, value_at_risk=Decimal(450),
                     currency="USD", status="open", attempts=1, first_seen=now, last_seen=now)
    )  # fmt: skip


def _on_day(session: Session) -> None:
    """Move the seed's stamps (taken at the wall clock) to ``DAY``'s world."""
    for event in session.scalars(select(BillingEventRow)):
        event.approved_at = _at(event.occurred_on + timedelta(days=1), 9)
        event.created_at = event.approved_at + timedelta(hours=1)
    stamps: dict[str, dict[str, Any]] = {
        "inv-usd": {"created_at": _at(DAY, 9), "posted_at": _at(DAY, 10)},
        "inv-eur": {"issue_date": date(2026, 8, 31), "created_at": _at(date(2026, 8, 31), 9),
                    "posted_at": _at(date(2026, 8, 31), 10)},
    }  # fmt: skip
    for invoice, values in stamps.items():
        session.execute(update(InvoiceRow).where(InvoiceRow.id == invoice).values(**values))


def _store(url: str, *, build_rollups: bool) -> str:
    engine = make_engine(url)
    upgrade(engine)
    seed(engine, DAY)
    now = datetime.now(UTC)
    with transaction(session_factory(engine)) as session:
        _on_day(session)
        for person, practice in (("r-ada", "Strategy"), ("r-grace", "Technology")):
            session.execute(
                update(ResourceRow)
                .where(ResourceRow.id == person)
                .values(practice=practice, region="Europe", cost_rate=Decimal(50))
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
        _time(session)
        session.add(
            PaymentRow(id="pay-1", invoice_id="inv-usd", received_on=DAY, amount=Decimal(500),
                       currency="USD", source="test", source_id="pay-1", updated_at=now)
        )  # fmt: skip
        for name, entity, key, at in (
            ("time.approved", "time_entry", "te-e1", _at(date(2026, 10, 21), 9)),
            ("billing_event.created", "billing_event", "e1", _at(date(2026, 10, 21), 10)),
        ):
            milestone = BusinessEventRow(name=name, entity_type=entity, entity_id=key,
                                         occurred_at=at, recorded_at=at, attributes={})  # fmt: skip
            session.add(milestone)
    if build_rollups:
        with transaction(session_factory(engine)) as session:
            rollups.refresh(session, today=DAY)
    engine.dispose()
    return url


@pytest.fixture
def executive_url(store_url: str) -> str:
    """The store above with its rollups built."""
    return _store(store_url, build_rollups=True)


@pytest.fixture
def postgres_url(
    store_url: str, postgres_ok: bool, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """The same store on PostgreSQL, in a schema of its own."""
    if not postgres_ok:
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    monkeypatch.setenv("PGOPTIONS", f"-csearch_path={schema}")  # as tests/app/data/test_data.py
    monkeypatch.setenv("PLAN2CASH__DATABASE_URL", POSTGRES_URL)
    try:
        yield _store(POSTGRES_URL, build_rollups=True)
    finally:
        data.engine().dispose()
        st.cache_resource.clear()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _run(*, slice_by: tuple[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=90)
    at.session_state["as_of"] = DAY
    at.run()
    if slice_by:
        at.selectbox(key="slice").select(slice_by[0]).run()
        at.selectbox(key=f"slice_value_{slice_by[0].lower()}").select(slice_by[1]).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _metrics(at: AppTest) -> dict[str, tuple[str, str]]:
    return {m.label: (m.value, m.delta) for m in at.metric}


# The hand-computed tiles of the executive store: label → value, and the trends beside them
# (August had no time: approval by close has no trend).
FIGURES = {
    "Billable utilization, Oct": "48.8 %",
    "Approved by close, Sep": "56.5 %",
    "Cycle time median, Oct": "39.0 days",
    "WIP, unbilled — USD": "$2,300.00",
    "DSO (countback) — USD": "20.0 days",
    "Revenue leakage — USD": "$950.00",
    "Margin, Oct — USD": "-650.0 %",
}
TRENDS = {
    "Approved by close, Sep": "",
    "WIP, unbilled — USD": "-$300.00",
    "Margin, Oct — USD": "-695.2 pp",
}


def _shows_the_figures(at: AppTest) -> dict[str, tuple[str, str]]:
    """Assert the tiles carry :data:`FIGURES` and :data:`TRENDS`; every tile, by label."""
    metrics = _metrics(at)
    assert {label: metrics[label][0] for label in FIGURES} == FIGURES
    assert {label: metrics[label][1] for label in TRENDS} == TRENDS
    return metrics


def _drill(at: AppTest, chart: str, choice: str, records: str) -> pd.DataFrame:
    """Pick ``choice`` in the drill-down of ``chart``; the records it lists (table
    ``{chart}_records_{records}``)."""
    at.selectbox(key=f"{chart}_drill").select(choice).run()
    return at.dataframe(key=f"{chart}_records_{records}").value


def _select_row(at: AppTest, key: str, row: int = 0) -> None:
    at.session_state[key] = {"selection": {"rows": [row], "columns": [], "cells": []}}
    at.run()
    assert not at.exception, [e.value for e in at.exception]


def test_an_empty_store_says_there_is_no_data_yet(store_url: str) -> None:
    at = AppTest.from_file(str(APP), default_timeout=90).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Overview"
    assert "No data yet" in at.info[0].value and "make demo" in at.info[0].value
    assert len(at.metric) == 0


@pytest.mark.usefixtures("executive_url")
def test_tiles_carry_units_periods_and_the_hand_computed_figures() -> None:
    at = _run()
    metrics = _shows_the_figures(at)
    assert metrics["Cycle time p90, Oct"][0] == "39.0 days"
    margin = next(m for m in at.metric if m.label == "Margin, Oct — USD")
    assert "-$7,800.00" in margin.help and "$9,000.00" in margin.help
    assert any("People and billing — Oct 2026" in m.value for m in at.markdown)
    assert not any("GBP" in label and "USD" in label for label in metrics)
    assert "trends compare with Sep 2026" in at.caption[0].value


@pytest.mark.usefixtures("postgres_url")
def test_the_figures_read_the_same_on_postgresql() -> None:
    at = _run()
    _shows_the_figures(at)
    assert at.dataframe(key="ar_records_USD").value["due"].tolist() == [1000.0]


def test_a_store_without_rollups_reads_raw_with_the_same_figures(store_url: str) -> None:
    _store(store_url, build_rollups=False)
    at = _run()
    _shows_the_figures(at)
    assert any("rollups have not been built" in c.value for c in at.caption)


@pytest.mark.usefixtures("executive_url")
def test_a_practice_slice_cuts_utilization_to_its_people() -> None:
    at = _run(slice_by=("Practice", "Strategy"))
    assert _metrics(at)["Billable utilization, Oct"][0] == "59.5 %"  # 100 ÷ 168
    assert "Practice: **Strategy**" in at.caption[0].value
    assert "Receivables have no practice" in at.metric[5].help  # DSO: the whole firm's


@pytest.mark.usefixtures("executive_url")
def test_a_customer_slice_is_named_and_cuts_the_money() -> None:
    at = _run(slice_by=("Customer", "c-gbp"))
    assert "Customer: **Brit Ltd**" in at.caption[0].value
    assert _metrics(at)["WIP, unbilled — GBP"][0] == "£720.00"
    assert not any("USD" in m.label for m in at.metric)


@pytest.mark.usefixtures("executive_url")
def test_a_person_bar_drills_to_their_billable_time() -> None:
    at = _run()
    at.button_group(key="util_by").set_value("Person").run()
    entries = _drill(at, "util", "r-ada", "person_r-ada")
    assert len(entries) == 10 and set(entries["person"]) == {"Ada Lovelace"}
    assert entries["hours"].sum() == 100.0


@pytest.mark.usefixtures("executive_url")
def test_a_wip_bucket_drills_to_its_events_and_an_event_to_its_journey() -> None:
    at = _run()
    records = _drill(at, "wip", "0–30", "USD_0–30")
    assert records["entity_id"].tolist() == ["e1"]
    assert records["amount"].tolist() == [1200.0]
    _select_row(at, "wip_records_USD_0–30")
    assert any("Journey of billing event `e1`" in m.value for m in at.markdown)
    journey = [d.value for d in at.dataframe if "event" in d.value.columns][-1]
    assert journey["event"].tolist() == ["time.approved", "billing_event.created"]
    assert journey["waited"].tolist()[1] == 1.0  # hours from approval to the billing event


@pytest.mark.usefixtures("executive_url")
def test_the_receivable_behind_dso_lists_the_open_invoice() -> None:
    at = _run()
    open_items = at.dataframe(key="ar_records_USD").value
    assert open_items["number"].tolist() == ["P2C-TEST-USD-001"]
    assert open_items["due"].tolist() == [1000.0]
    assert open_items["customer"].tolist() == ["Acme Corp"]


@pytest.mark.usefixtures("executive_url")
def test_a_cycle_stage_lists_the_billed_time_slowest_first() -> None:
    at = _run()
    billed = _drill(at, "cycle", "cycle_time", "cycle_time")
    assert billed["entity_id"].tolist() == ["e4"]
    assert round(billed["cycle_time"][0] * 24) == 937  # 39 days and 1 hour


@pytest.mark.usefixtures("executive_url")
def test_leakage_drills_to_the_held_entry() -> None:
    at = _run()
    leaking = _drill(at, "leak", "approved_not_billed", "USD_approved_not_billed")
    assert leaking["entity_id"].tolist() == ["te-e3", HELD_ENTRY]  # largest first
    assert leaking["amount"].tolist() == [500.0, 450.0]
