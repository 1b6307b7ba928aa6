"""The drilldown reads each cell with its filters in the SQL, and gives exactly the rows that
loading every record and filtering in polars gave (``drill_reference``), on both dialects, for
every KPI, slice, bucket, currency, grain and as-of date."""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from sqlalchemy import Engine

from metrics import drill, load
from metrics.slices import Dimension
from metrics.wip import BUCKETS
from tests.metrics import drill_reference
from tests.metrics.seeded import TODAY

WHERE: list[dict[Dimension, str]] = [
    {},
    {"region": "Europe"},
    {"practice": "Technology"},
    {"legal_entity": "LE-US"},
    {"customer": "cus_1"},
    {"project": "pro_20"},
    {"person": "res_2"},
    {"region": "Americas", "person": "res_1"},
]
OLD_KPIS = ("utilization", "realization", "wip", "cycle_time", "dso", "approvals", "unapproved")


def cells(kpi: str) -> list[dict[str, Any]]:
    """Every slice, and for aged and money KPIs each bucket and currency too."""
    out: list[dict[str, Any]] = [{"where": where} for where in WHERE]
    if kpi in ("wip", "unapproved"):
        out += [{"bucket": bucket} for bucket in BUCKETS]
        out += [{"bucket": "31–60", "where": {"practice": "Strategy"}}]
    if kpi in ("wip", "realization", "cycle_time", "dso"):
        out += [{"currency": currency} for currency in ("EUR", "USD")]
    if kpi in ("utilization", "approvals", "cycle_time", "realization"):
        out += [{"grain": grain} for grain in ("week", "quarter")]
    return out


def same(new: pl.DataFrame, old: pl.DataFrame) -> None:
    new = new.drop("number") if "number" in new.columns else new
    assert_frame_equal(new.sort("entity_id"), old.sort("entity_id"))


@pytest.mark.parametrize("as_of", [TODAY, date(2026, 10, 31), date(2026, 9, 15)])
@pytest.mark.parametrize("kpi", OLD_KPIS)
def test_records_match_all_rows_then_filter(seeded: Engine, kpi: drill.Kpi, as_of: date) -> None:
    seen = 0
    with seeded.connect() as connection:
        for cell in cells(kpi):
            new = drill.records(connection, kpi, as_of=as_of, **cell)
            old = drill_reference.records(connection, kpi, as_of=as_of, **cell)
            same(new, old)
            seen += new.height
    assert seen > 0


def test_dso_records_name_their_invoice(seeded: Engine) -> None:
    with seeded.connect() as connection:
        rows = drill.records(connection, "dso", as_of=TODAY)
    assert rows.height > 0
    assert rows["number"].to_list() == [f"P2C-{i}" for i in rows["invoice_id"]]


@pytest.mark.parametrize("kpi", ["utilization", "approvals", "realization", "wip", "cycle_time"])
def test_a_drilldown_reads_only_its_cell(
    seeded: Engine, kpi: drill.Kpi, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rows that reach Python are the cell's, not the history's: a day's work, the invoices
    posted on a day, one project's WIP — a few dozen rows, however many the store holds."""
    read: list[int] = []
    original = load.read_frame

    def counted(connection: Any, statement: Any, schema: dict[str, Any]) -> pl.DataFrame:
        out = original(connection, statement, schema)
        read.append(out.height)
        return out

    day = date(2026, 11, 2) if kpi == "cycle_time" else date(2026, 11, 3)
    with seeded.connect() as connection:
        everything = load.time_entries(connection).height + load.billing_events(connection).height
        monkeypatch.setattr(drill, "read_frame", counted)
        monkeypatch.setattr(load, "read_frame", counted)
        if kpi == "wip":
            rows = drill.records(connection, kpi, as_of=TODAY, where={"project": "pro_00"})
        else:
            rows = drill.records(connection, kpi, as_of=day, grain="day")
    assert rows.height > 0 and read
    assert sum(n for n in read if n != 8) < everything / 10  # 8: the projects' currencies
