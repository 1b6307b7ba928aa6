"""Project margin (in ``executive_kpis``, from the rollups and from raw records) and revenue
leakage (``metrics.report.revenue_leakage`` and its drilldown) on a small firm whose every answer
is worked out by hand below, on both dialects; and the health figures read only what they show.

The firm: one USD customer; ``pro_open`` (Strategy) and ``pro_closed`` (Technology, closed on
10 May); Ann costs 50 an hour, Bob 80. The May invoice (issued and posted 1 June) bills e1, e2
and e10.

| entry | who | project | day | hours | status | rate (time system) | billing event |
|---|---|---|---|---|---|---|---|
| e1 | Ann | open | 4 May | 8 | approved | 200 | 200, invoiced |
| e2 | Ann | open | 5 May | 5 | approved | 200 | 180, invoiced: 5 × 20 = 100 short |
| e3 | Bob | open | 6 May | 4 | approved | 150 | 150, never invoiced: 600 |
| e4 | Bob | closed | 20 May | 3 | approved | 100 | none (after the project closed): 300 |
| e5 | Ann | open | 3 Jun | 6 | approved | 200 | 200, not invoiced (June is open) |
| e6 | Bob | open | 7 May | 2 | approved | none | none, held (240 at risk): 240 |
| e7 | Ann | open | 8 May | 1 | approved, not billable | — | — |
| e8 | Ann | open | 11 May | 2 | rejected | 200 | — |
| e9 | Bob | open | 12 May | 3 | submitted | 150 | — |
| e10 | Ann | open | 13 May | 2 | approved | 150 | 170, invoiced (over, not leakage) |
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import polars as pl
import pytest
from sqlalchemy import Engine, insert

from metrics import drill
from metrics.report import executive_kpis, revenue_leakage
from sync.flows import rollups
from sync.store.db import session_factory, transaction
from sync.store.tables import (
    BillingEventRow,
    ContractRow,
    CustomerRow,
    ExceptionRow,
    InvoiceRow,
    ProjectRow,
    ResourceRow,
    SyncRunRow,
    TimeEntryRow,
)

SOURCED = {"source": "test", "schema_version": 1, "updated_at": datetime(2026, 4, 1, tzinfo=UTC)}
MAY, JUNE = date(2026, 5, 31), date(2026, 6, 20)
# id, person, project, day, hours, status, billable, time system rate, (event rate, invoiced)
ENTRIES: list[tuple[Any, ...]] = [
    ("e1", "ann", "pro_open", date(2026, 5, 4), 8, "approved", True, 200, (200, True)),
    ("e2", "ann", "pro_open", date(2026, 5, 5), 5, "approved", True, 200, (180, True)),
    ("e3", "bob", "pro_open", date(2026, 5, 6), 4, "approved", True, 150, (150, False)),
    ("e4", "bob", "pro_closed", date(2026, 5, 20), 3, "approved", True, 100, None),
    ("e5", "ann", "pro_open", date(2026, 6, 3), 6, "approved", True, 200, (200, False)),
    ("e6", "bob", "pro_open", date(2026, 5, 7), 2, "approved", True, None, None),
    ("e7", "ann", "pro_open", date(2026, 5, 8), 1, "approved", False, None, None),
    ("e8", "ann", "pro_open", date(2026, 5, 11), 2, "rejected", True, 200, None),
    ("e9", "bob", "pro_open", date(2026, 5, 12), 3, "submitted", True, 150, None),
    ("e10", "ann", "pro_open", date(2026, 5, 13), 2, "approved", True, 150, (170, True)),
]


def at(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


@pytest.fixture
def firm(store: Engine) -> Engine:
    with transaction(session_factory(store)) as session:
        session.execute(
            insert(CustomerRow),
            [{**SOURCED, "id": "cus", "source_id": "1", "name": "Acme", "currency": "USD",
              "region": "Americas"}],
        )  # fmt: skip
        session.execute(
            insert(ContractRow),
            [{**SOURCED, "id": "con", "source_id": "1", "customer_id": "cus", "name": "T&M",
              "billing_model": "time-and-materials", "currency": "USD", "status": "activated"}],
        )  # fmt: skip
        session.execute(
            insert(ProjectRow),
            [
                {**SOURCED, "id": pid, "source_id": pid, "contract_id": "con",
                 "customer_id": "cus", "name": pid, "status": status, "practice": practice,
                 "region": "Americas", "currency": "USD", "end": end}
                for pid, status, practice, end in (
                    ("pro_open", "active", "Strategy", None),
                    ("pro_closed", "closed", "Technology", date(2026, 5, 10)),
                )
            ],
        )  # fmt: skip
        session.execute(
            insert(ResourceRow),
            [
                {**SOURCED, "id": rid, "source_id": rid, "name": rid.title(), "region": "Americas",
                 "practice": "Strategy", "cost_rate": Decimal(cost), "weekly_capacity_hours": 40,
                 "employment_status": "active"}
                for rid, cost in (("ann", 50), ("bob", 80))
            ],
        )  # fmt: skip
        session.execute(
            insert(InvoiceRow),
            [{"id": "inv_may", "number": "INV-1", "customer_id": "cus", "contract_id": "con",
              "currency": "USD", "period_start": date(2026, 5, 1), "period_end": MAY,
              "issue_date": date(2026, 6, 1), "due_date": date(2026, 7, 1),
              "total": Decimal(2840), "status": "posted", "lines": [],
              "created_at": at(date(2026, 6, 1), 6), "posted_at": at(date(2026, 6, 1), 7),
              "updated_at": at(date(2026, 6, 1), 7)}],
        )  # fmt: skip
        for eid, person, project, day, hours, status, billable, rate, event in ENTRIES:
            approved = at(day + timedelta(days=1)) if status == "approved" else None
            session.execute(
                insert(TimeEntryRow),
                [{**SOURCED, "id": eid, "source_id": eid, "resource_id": person,
                  "project_id": project, "spent_date": day, "hours": Decimal(hours),
                  "billable": billable, "status": status, "submitted_at": at(day, 18),
                  "approved_at": approved,
                  "vendor_rate": None if rate is None else Decimal(rate)}],
            )  # fmt: skip
            if event is not None:
                price, invoiced = event
                session.execute(
                    insert(BillingEventRow),
                    [{"id": f"be_{eid}", "contract_id": "con", "project_id": project,
                      "customer_id": "cus", "resource_id": person, "kind": "time",
                      "source_record_id": eid, "occurred_on": day, "quantity": Decimal(hours),
                      "rate": Decimal(price), "amount": Decimal(hours * price),
                      "currency": "USD", "description": "Work", "approved_at": approved,
                      "created_at": approved, "updated_at": approved,
                      "invoice_id": "inv_may" if invoiced else None}],
                )  # fmt: skip
        session.execute(
            insert(ExceptionRow),
            [{"flow": "billable", "record_key": "harvest:time_entry:e6", "stage": "validate",
              "category": "rate_card_missing", "reason": "no rate", "entity_type": "time_entry",
              "entity_id": "e6", "value_at_risk": Decimal(240), "currency": "USD",
              "first_seen": at(date(2026, 5, 8)), "last_seen": at(date(2026, 5, 8)),
              "status": "open"}],
        )  # fmt: skip
    with transaction(session_factory(store)) as session:
        rollups.refresh(session, today=JUNE)
    return store


def margin_of(frame: pl.DataFrame) -> list[tuple[Any, ...]]:
    return [
        tuple(round(v, 4) if isinstance(v, float) else v for v in row)
        for row in frame.select(pl.exclude("expenses")).rows()
    ]


@pytest.mark.parametrize("source", ["rollups", "raw"])
def test_margin_of_a_period_by_hand(firm: Engine, source: str) -> None:
    with firm.connect() as connection:
        may = executive_kpis(connection, as_of=MAY, source=source)  # type: ignore[arg-type]
        june = executive_kpis(connection, as_of=JUNE, source=source)  # type: ignore[arg-type]
        by = executive_kpis(connection, as_of=MAY, by="practice", source=source)  # type: ignore[arg-type]
    assert may.source == source
    # revenue: 8×200 + 5×180 + 4×150 + 2×170 = 3440; cost: (8+5+1+2)×50 + (4+3+2+3)×80 = 1760
    # (rejected e8 left out, submitted e9 costs all the same)
    assert margin_of(may.margin) == [("USD", 3440.0, 1760.0, 1680.0, round(1680 / 3440, 4))]
    assert margin_of(june.margin) == [("USD", 1200.0, 300.0, 900.0, 0.75)]  # e5 alone
    # the closed project has cost and no revenue: its margin is a loss and has no share
    assert margin_of(by.margin) == [
        ("USD", "Strategy", 3440.0, 1520.0, 1920.0, round(1920 / 3440, 4)),
        ("USD", "Technology", 0.0, 240.0, -240.0, None),
    ]
    share = june.headline.filter(pl.col("kpi") == "margin_share").row(0, named=True)
    assert share["value"] == 0.75 and share["previous"] == pytest.approx(1680 / 3440)


def test_leakage_of_each_kind_by_hand(firm: Engine) -> None:
    with firm.connect() as connection:
        june = revenue_leakage(connection, as_of=JUNE)
        before_grace = revenue_leakage(connection, as_of=date(2026, 6, 10))
        before_invoice = revenue_leakage(connection, as_of=MAY)
        by = revenue_leakage(connection, as_of=JUNE, by="person")

    def kinds(frame: pl.DataFrame) -> dict[str, tuple[float, float, int]]:
        return {r[1]: (r[2], r[3], r[4]) for r in frame.select(
            "currency", "kind", "amount", "hours", "entries").rows()}  # fmt: skip

    # e3 (4 × 150) and e6 (2 × 240/2, the value held at risk); e2 5 × (200 − 180); e4 3 × 100
    assert kinds(june) == {
        "approved_not_billed": (840.0, 6.0, 2),
        "closed_project": (300.0, 3.0, 1),
        "wrong_rate": (100.0, 5.0, 1),
    }
    # May's time is not leakage until 15 days after the month closed
    assert kinds(before_grace) == {"closed_project": (300.0, 3.0, 1), "wrong_rate": (100.0, 5.0, 1)}
    # on 31 May the May invoice was not issued: nothing was billed at a wrong rate yet
    assert kinds(before_invoice) == {"closed_project": (300.0, 3.0, 1)}
    assert by.filter(pl.col("person") == "ann")["amount"].sum() == 100.0
    assert by.filter(pl.col("person") == "bob")["amount"].sum() == 1140.0


def test_leakage_drilldown_lists_the_leaking_entries(firm: Engine) -> None:
    with firm.connect() as connection:
        rows = drill.records(connection, "leakage", as_of=JUNE)
        wrong = drill.records(connection, "leakage", as_of=JUNE, bucket="wrong_rate")
        closed_only = drill.records(
            connection, "leakage", as_of=JUNE, where={"practice": "Technology"}
        )
    assert dict(zip(rows["entity_id"], rows["amount"], strict=True)) == {
        "e2": 100.0, "e3": 600.0, "e4": 300.0, "e6": 240.0
    }  # fmt: skip
    assert set(rows["entity_type"]) == {"time_entry"}
    assert wrong["entity_id"].to_list() == ["e2"] and wrong["billed_rate"].to_list() == [180.0]
    assert closed_only["entity_id"].to_list() == ["e4"]


def test_health_reads_the_period_or_nothing(firm: Engine) -> None:
    with transaction(session_factory(firm)) as session:
        session.execute(
            insert(SyncRunRow),
            [
                {"flow": "billable", "started_at": at(day), "finished_at": at(day, 13),
                 "status": "succeeded", "records_in": 10}
                for day in (date(2026, 4, 30), date(2026, 5, 1), date(2026, 5, 31),
                            date(2026, 6, 1))
            ],
        )  # fmt: skip
    with firm.connect() as connection:
        may = executive_kpis(connection, as_of=MAY)
        quiet = executive_kpis(connection, as_of=MAY, health=False)
    assert may.flows.select("flow", "runs", "records").rows() == [("billable", 2, 20)]
    assert may.exceptions.select("category", "open").rows() == [("rate_card_missing", 1)]
    assert quiet.flows.height == 0 and quiet.exceptions.height == 0
    assert quiet.flows.columns == may.flows.columns
    assert quiet.exceptions.columns == may.exceptions.columns
    assert quiet.margin.equals(may.margin)
