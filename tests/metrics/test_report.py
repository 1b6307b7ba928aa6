"""The executive KPIs from rollups agree with the same KPIs from raw records, for every slice and
as-of date, on both dialects; slices filter, drilldown rows add up to their cell, and a record's
journey follows it from billing event to invoice."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
import pytest
from sqlalchemy import Engine, insert

from metrics import drill
from metrics.report import KpiReport, executive_kpis
from metrics.slices import DIMENSIONS, Dimension
from sync.flows import rollups
from sync.store.db import session_factory, transaction
from sync.store.tables import BusinessEventRow
from tests.metrics.seeded import TODAY, seed

KPIS = (
    "utilization",
    "realization",
    "wip",
    "cycle_time",
    "dso",
    "approvals",
    "unapproved",
    "margin",
)
HOUR_IN_DAYS = 1 / 24


def comparable(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(
        [
            pl.col(c).cast(pl.Float64).round(2) if t.is_numeric() else pl.col(c).cast(pl.String)
            for c, t in frame.schema.items()
        ]
    )


def assert_agree(name: str, rolled: pl.DataFrame, raw: pl.DataFrame) -> None:
    assert rolled.columns == raw.columns, name
    assert rolled.height == raw.height, name
    if name != "cycle_time":
        assert comparable(rolled).equals(comparable(raw)), (name, rolled, raw)
        return
    # the rollups keep stage durations in whole hours: every quantile is within half an hour
    for column in rolled.columns:
        if rolled[column].dtype == pl.Float64:
            for a, b in zip(rolled[column], raw[column], strict=True):
                assert (a is None) == (b is None), column
                if a is not None:
                    assert abs(a - b) <= HOUR_IN_DAYS / 2 + 1e-9, (column, a, b)
        else:
            assert rolled[column].to_list() == raw[column].to_list(), column


@pytest.mark.parametrize("as_of", [TODAY, date(2026, 10, 31), date(2026, 9, 15)])
@pytest.mark.parametrize("by", [None, *DIMENSIONS])
def test_rollups_agree_with_raw_records(seeded: Engine, by: Dimension | None, as_of: date) -> None:
    with seeded.connect() as connection:
        rolled = executive_kpis(connection, as_of=as_of, by=by)
        raw = executive_kpis(connection, as_of=as_of, by=by, source="raw")
    for name in KPIS:
        assert_agree(name, getattr(rolled, name), getattr(raw, name))
    exact = ~pl.col("kpi").str.starts_with("cycle_time")
    assert comparable(rolled.headline.filter(exact)).equals(comparable(raw.headline.filter(exact)))


def test_grains_agree(seeded: Engine) -> None:
    with seeded.connect() as connection:
        for grain in ("day", "week", "quarter"):
            rolled = executive_kpis(connection, as_of=date(2026, 10, 14), grain=grain)
            raw = executive_kpis(connection, as_of=date(2026, 10, 14), grain=grain, source="raw")
            for name in KPIS:
                assert_agree(name, getattr(rolled, name), getattr(raw, name))


def test_a_slice_value_filters_to_its_part(seeded: Engine) -> None:
    with seeded.connect() as connection:
        whole = executive_kpis(connection, as_of=TODAY, by="region")
        europe = executive_kpis(connection, as_of=TODAY, where={"region": "Europe"})
    by_region = whole.wip.filter(pl.col("region") == "Europe")
    assert float(europe.wip["amount"].sum()) == pytest.approx(float(by_region["amount"].sum()))
    assert float(europe.wip["amount"].sum()) < float(whole.wip["amount"].sum())


def test_kpis_a_slice_cannot_honour_say_so(seeded: Engine) -> None:
    with seeded.connect() as connection:
        report = executive_kpis(connection, as_of=TODAY, by="customer")
    assert report.utilization["customer"].to_list() == [None]
    assert any("utilization" in n and "customer" in n for n in report.notes)
    assert report.dso["customer"].null_count() == 0


def test_trend_compares_with_the_previous_period(seeded: Engine) -> None:
    with seeded.connect() as connection:
        report = executive_kpis(connection, as_of=TODAY)
        last = executive_kpis(connection, as_of=date(2026, 10, 31))
    assert report.previous_period == (date(2026, 10, 1), date(2026, 10, 31))
    util = report.headline.filter(pl.col("kpi") == "utilization").row(0, named=True)
    assert util["previous"] == pytest.approx(last.utilization["utilization"][0])
    assert util["change"] == pytest.approx(util["value"] - util["previous"])
    # last month's WIP is read at its last day; its realization as known today, when October's
    # invoices (posted on 1 November) have billed its work
    wip = report.headline.filter((pl.col("kpi") == "wip") & (pl.col("currency") == "EUR"))
    assert wip["previous"][0] == pytest.approx(
        float(last.wip.filter(pl.col("currency") == "EUR")["amount"].sum())
    )
    billed = report.headline.filter(pl.col("kpi") == "realization")["previous"]
    assert billed.max() > 0 and last.realization["billed_value"].sum() == 0


def test_to_dict_is_plain_json(seeded: Engine) -> None:
    import json

    with seeded.connect() as connection:
        report = executive_kpis(connection, as_of=TODAY, by="practice")
    assert isinstance(report, KpiReport)
    data = json.loads(json.dumps(report.to_dict()))
    assert data["by"] == "practice" and data["wip"] and data["headline"]


@pytest.mark.parametrize("bucket", ["0–30", "90+"])
def test_wip_drilldown_adds_up_to_its_cell(seeded: Engine, bucket: str) -> None:
    with seeded.connect() as connection:
        report = executive_kpis(connection, as_of=TODAY, where={"practice": "Technology"})
        rows = drill.records(
            connection,
            "wip",
            as_of=TODAY,
            where={"practice": "Technology"},
            bucket=bucket,
            currency="EUR",
        )
    cell = report.wip.filter((pl.col("currency") == "EUR") & (pl.col("bucket") == bucket))
    assert set(rows["entity_type"]) <= {"billing_event"}
    assert float(rows["amount"].sum()) == pytest.approx(float(cell["amount"].sum()))
    assert rows.height == int(cell["events"].sum())


@pytest.mark.parametrize("kpi", ["utilization", "approvals", "unapproved", "realization", "dso"])
def test_other_drilldowns_add_up(seeded: Engine, kpi: drill.Kpi) -> None:
    with seeded.connect() as connection:
        report = executive_kpis(connection, as_of=TODAY, where={"region": "Americas"})
        rows = drill.records(connection, kpi, as_of=TODAY, where={"region": "Americas"})
    column = {
        "utilization": ("utilization", "billable_hours", "hours"),
        "approvals": ("approvals", "expected_hours", "hours"),
        "unapproved": ("unapproved", "hours", "hours"),
        "realization": ("realization", "standard_value", "standard_value"),
        "dso": ("dso", "ending_ar", "due"),
    }[kpi]
    expected = getattr(report, column[0])[column[1]].sum()
    got = rows[column[2]].sum()
    assert float(got) == pytest.approx(float(expected))


def test_unknown_kpi_is_refused(seeded: Engine) -> None:
    with seeded.connect() as connection, pytest.raises(ValueError, match="unknown KPI"):
        drill.records(connection, "margin", as_of=TODAY)  # type: ignore[arg-type]


def test_journey_follows_a_time_entry_to_its_invoice(writable_seeded: Engine) -> None:
    with writable_seeded.connect() as connection:
        rows = drill.records(connection, "cycle_time", as_of=date(2026, 10, 31))
    event_id, invoice_id = rows.row(0, named=True)["event_id"], None
    with writable_seeded.connect() as connection:
        from sqlalchemy import select

        from sync.store.tables import BillingEventRow

        entry_id, invoice_id = connection.execute(
            select(BillingEventRow.source_record_id, BillingEventRow.invoice_id).where(
                BillingEventRow.id == event_id
            )
        ).one()
    moments = [datetime(2026, 10, d, 9, tzinfo=UTC) for d in (1, 2, 5)]
    with transaction(session_factory(writable_seeded)) as session:
        session.execute(
            insert(BusinessEventRow),
            [
                {
                    "name": name,
                    "entity_type": kind,
                    "entity_id": key,
                    "occurred_at": at,
                    "recorded_at": at,
                    "attributes": {},
                }
                for name, kind, key, at in (
                    ("invoice.posted", "invoice", invoice_id, moments[2]),
                    ("time.approved", "time_entry", entry_id, moments[0]),
                    ("billing_event.created", "billing_event", event_id, moments[1]),
                    ("invoice.posted", "invoice", "someone-else", moments[1]),
                )
            ],
        )
    with writable_seeded.connect() as connection:
        path = drill.journey(connection, "time_entry", entry_id)
    assert path["name"].to_list() == ["time.approved", "billing_event.created", "invoice.posted"]
    assert path["waited"].to_list() == [None, 24.0, 72.0]


def test_command_line_slices_and_refuses_bad_slices(
    sqlite_store: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from typer.testing import CliRunner

    from app.cli import app

    seed(sqlite_store, 12)
    with transaction(session_factory(sqlite_store)) as session:
        rollups.refresh(session, today=TODAY)
    monkeypatch.setenv("PLAN2CASH__DATABASE_URL", str(sqlite_store.url))
    runner = CliRunner()
    args = ["kpis", "--as-of", "2026-10-31", "--by", "practice", "--where", "region=Europe"]
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    with sqlite_store.connect() as connection:
        expected = executive_kpis(
            connection, as_of=date(2026, 10, 31), by="practice", where={"region": "Europe"}
        )
    assert data["by"] == "practice" and data["where"] == {"region": "Europe"}
    assert [r["practice"] for r in data["wip"]] == expected.wip["practice"].to_list()
    printed = runner.invoke(app, args)
    assert printed.exit_code == 0 and "Headline" in printed.stdout
    bad = runner.invoke(app, ["kpis", "--by", "colour"])
    assert bad.exit_code == 2 and "Cannot slice by" in bad.stderr


def test_a_store_without_rollups_is_read_raw(sqlite_store: Engine) -> None:
    seed(sqlite_store, 13)
    with sqlite_store.connect() as connection:
        report = executive_kpis(connection, as_of=TODAY)
    assert report.source == "raw"
    assert any("rollups have not been built" in n for n in report.notes)
    assert float(report.wip["amount"].sum()) > 0
