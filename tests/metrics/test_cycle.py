from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest

from metrics.cycle import cycle_time, stage_durations


def at(day: int, hour: int = 0) -> datetime:
    return datetime(2026, 6, day, hour, tzinfo=UTC)


def events(rows: list[tuple[date, datetime, datetime, datetime, datetime]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        orient="row",
        schema={
            "occurred_on": pl.Date,
            "approved_at": pl.Datetime("us", "UTC"),
            "event_created_at": pl.Datetime("us", "UTC"),
            "invoice_created_at": pl.Datetime("us", "UTC"),
            "posted_at": pl.Datetime("us", "UTC"),
        },
    )


def test_each_stage_in_days() -> None:
    frame = events([(date(2026, 6, 1), at(4), at(4, 12), at(10), at(10, 6))])
    row = stage_durations(frame).row(0, named=True)
    assert row["approval_lag"] == 2.0  # end of 1 Jun → 4 Jun 00:00
    assert row["sync_lag"] == 0.5
    assert row["invoicing_lag"] == 5.5
    assert row["posting_lag"] == 0.25
    assert row["cycle_time"] == 6.25


def test_median_and_p90_over_events_posted_in_the_period() -> None:
    rows = [
        (date(2026, 6, 1), at(2), at(2), at(2), at(2) + timedelta(days=d))
        for d in (1, 2, 3, 4, 5, 6, 7, 8, 9, 10)
    ]
    rows.append((date(2026, 5, 1), at(2), at(2), at(2), datetime(2026, 7, 15, tzinfo=UTC)))
    out = cycle_time(events(rows), start=date(2026, 6, 1), end=date(2026, 6, 30)).row(0, named=True)
    assert out["events"] == 10
    assert out["cycle_time_median"] == 5.5
    assert out["cycle_time_p90"] == pytest.approx(9.1)


def test_a_period_with_nothing_posted_has_no_figures() -> None:
    rows = [(date(2026, 6, 1), at(2), at(2), at(2), at(3))]
    out = cycle_time(events(rows), start=date(2026, 7, 1), end=date(2026, 7, 31))
    assert out["events"].to_list() == [0] and out["cycle_time_median"].to_list() == [None]
