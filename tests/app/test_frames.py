"""Pure frame functions with literal frames and answers worked out by hand."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
from polars.testing import assert_frame_equal

from app import frames

AS_OF = date(2025, 6, 30)


def _wip(rows: list[tuple[int, str, float]]) -> pl.DataFrame:
    """(age in days, currency, amount) → a WIP frame with one hour and one event per row."""
    return pl.DataFrame(
        {
            "occurred_on": [AS_OF - timedelta(days=age) for age, _, _ in rows],
            "currency": [c for _, c, _ in rows],
            "amount": [a for _, _, a in rows],
            "hours": [1.0] * len(rows),
            "events": [1] * len(rows),
        },
        schema={
            "occurred_on": pl.Date,
            "currency": pl.String,
            "amount": pl.Float64,
            "hours": pl.Float64,
            "events": pl.Int64,
        },
    )


def test_aging_buckets_at_their_boundaries() -> None:
    wip = _wip([(0, "USD", 1), (30, "USD", 2), (31, "USD", 4), (60, "USD", 8), (61, "USD", 16),
                (90, "USD", 32), (91, "USD", 64), (-2, "USD", 128)])  # fmt: skip
    aged = frames.wip_by_age(wip, as_of=AS_OF)
    assert aged["bucket"].cast(pl.String).to_list() == list(frames.AGE_BUCKETS)
    # 0–30: ages 0, 30 and the future-dated −2 → 1 + 2 + 128; 31–60: 4 + 8; 61–90: 16 + 32; 90+: 64
    assert aged["amount"].to_list() == [131.0, 12.0, 48.0, 64.0]
    assert aged["events"].to_list() == [3, 2, 2, 1]
    assert aged["hours"].to_list() == [3.0, 2.0, 2.0, 1.0]


def test_aging_keeps_currencies_apart_and_fills_empty_buckets() -> None:
    wip = _wip([(10, "USD", 100), (10, "GBP", 70), (45, "GBP", 30), (120, "USD", 5)])
    aged = frames.wip_by_age(wip, as_of=AS_OF)
    expected = pl.DataFrame(
        {
            "bucket": list(frames.AGE_BUCKETS) * 2,
            "currency": ["GBP"] * 4 + ["USD"] * 4,
            "amount": [70.0, 30.0, 0.0, 0.0, 100.0, 0.0, 0.0, 5.0],
        },
        schema_overrides={"bucket": pl.Enum(frames.AGE_BUCKETS)},
    )
    assert_frame_equal(aged.select("bucket", "currency", "amount"), expected)


def test_aging_of_nothing_is_empty() -> None:
    assert frames.wip_by_age(_wip([]), as_of=AS_OF).is_empty()


def test_weekly_billable_starts_weeks_on_monday_per_currency() -> None:
    daily = pl.DataFrame(
        {
            "occurred_on": [date(2025, 6, 2), date(2025, 6, 8), date(2025, 6, 9), date(2025, 6, 3)],
            "currency": ["USD", "USD", "USD", "EUR"],
            "amount": [100.0, 50.0, 10.0, 7.0],
        }
    )
    expected = pl.DataFrame(
        {
            "week": [date(2025, 6, 2), date(2025, 6, 2), date(2025, 6, 9)],
            "currency": ["EUR", "USD", "USD"],
            "amount": [7.0, 150.0, 10.0],
        }
    )
    assert_frame_equal(frames.weekly_billable(daily), expected)


def test_monthly_invoiced_by_service_month_currency_and_status() -> None:
    invoices = pl.DataFrame(
        {
            "period_start": [
                date(2025, 5, 1),
                date(2025, 5, 1),
                date(2025, 5, 1),
                date(2025, 6, 1),
            ],
            "currency": ["USD", "USD", "GBP", "USD"],
            "status": ["posted", "posted", "pending", "pending"],
            "total": [1000.0, 500.0, 300.0, 42.0],
        }
    )
    expected = pl.DataFrame(
        {
            "month": [date(2025, 5, 1), date(2025, 5, 1), date(2025, 6, 1)],
            "currency": ["GBP", "USD", "USD"],
            "status": ["pending", "posted", "pending"],
            "amount": [300.0, 1500.0, 42.0],
            "invoices": [1, 2, 1],
        },
        schema_overrides={"invoices": pl.UInt32},
    )
    assert_frame_equal(frames.monthly_invoiced(invoices), expected, check_dtypes=False)


def test_kpi_table_has_one_row_per_currency_and_zero_for_missing() -> None:
    money = {"currency": pl.String, "amount": pl.Float64, "count": pl.Int64}
    table = frames.kpi_table(
        wip=pl.DataFrame({"currency": ["USD"], "amount": [2300.0], "hours": [14.5], "count": [3]}),
        posted_this_month=pl.DataFrame({"currency": ["USD"], "amount": [1500.0], "count": [1]}),
        posted_to_date=pl.DataFrame(
            {"currency": ["EUR", "USD"], "amount": [300.0, 1500.0], "count": [1, 1]}
        ),
        pending_delivery=pl.DataFrame({"currency": ["GBP"], "amount": [600.0], "count": [1]}),
        value_at_risk=pl.DataFrame(schema=money),
    )
    assert table["currency"].to_list() == ["EUR", "GBP", "USD"]
    rows = {r["currency"]: r for r in table.iter_rows(named=True)}
    assert rows["USD"]["wip"] == 2300.0 and rows["USD"]["wip_hours"] == 14.5
    assert rows["EUR"]["wip"] == 0.0 and rows["EUR"]["posted"] == 300.0
    assert rows["GBP"]["pending"] == 600.0 and rows["GBP"]["pending_invoices"] == 1
    assert rows["USD"]["at_risk"] == 0.0 and rows["USD"]["at_risk_exceptions"] == 0


def test_invoice_lines_read_money_kept_as_strings() -> None:
    lines = frames.invoice_lines(
        [{"description": "Consulting", "quantity": "7.5", "unit_amount": "150.00",
          "amount": "1125.00", "billing_event_ids": ["e1"]}]
    )  # fmt: skip
    assert lines.row(0) == ("Consulting", 7.5, 150.0, 1125.0)
    assert frames.invoice_lines(None).columns == [
        "description",
        "quantity",
        "unit_amount",
        "amount",
    ]


def test_not_invoiced_events_are_labelled() -> None:
    events = pl.DataFrame({"invoice_number": ["P2C-1", None]})
    assert frames.with_invoice_label(events)["invoice_number"].to_list() == [
        "P2C-1",
        "not invoiced",
    ]
