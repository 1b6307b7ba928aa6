from __future__ import annotations

from datetime import date

import polars as pl

from metrics.utilization import available_hours, utilization
from tests.metrics.frames import Columns, frame

# Mon 1 Jun 2026 – Fri 12 Jun 2026: ten weekdays
START, END = date(2026, 6, 1), date(2026, 6, 14)


PEOPLE: Columns = {
    "resource_id": pl.String,
    "region": pl.String,
    "weekly_capacity_hours": pl.Float64,
}
EMPLOYED: Columns = {"hire_date": pl.Date, "termination_date": pl.Date}


def people(*rows: tuple[str, str, float, date | None, date | None]) -> pl.DataFrame:
    return frame(PEOPLE | EMPLOYED, rows)


HOLIDAYS = pl.DataFrame({"region": ["UK"], "day": [date(2026, 6, 8)]})
TIME_OFF = pl.DataFrame({"resource_id": ["ann"], "day": [date(2026, 6, 3)], "hours": [4.0]})


def time(*rows: tuple[str, date, float, bool]) -> pl.DataFrame:
    schema: Columns = {"resource_id": pl.String, "spent_date": pl.Date, "hours": pl.Float64}
    return frame(schema | {"billable": pl.Boolean}, rows)


def test_available_hours_net_of_holidays_time_off_and_employment() -> None:
    staff = people(
        ("ann", "UK", 40, None, None),  # 10 days × 8 − holiday 8 − time off 4 = 68
        ("bob", "US", 32, date(2026, 6, 8), None),  # hired Mon 8th: 5 days × 6.4 = 32
        ("cat", "US", 40, None, date(2026, 6, 2)),  # left Tue 2nd: 2 days × 8 = 16
    )
    got = dict(available_hours(staff, HOLIDAYS, TIME_OFF, start=START, end=END).iter_rows())
    assert got == {"ann": 68.0, "bob": 32.0, "cat": 16.0}


def test_utilization_per_person_and_by_group() -> None:
    staff = people(("ann", "UK", 40, None, None), ("bob", "UK", 40, None, None))
    hours = time(
        ("ann", date(2026, 6, 2), 8, True),
        ("ann", date(2026, 6, 4), 9, True),
        ("ann", date(2026, 6, 5), 3, False),
        ("ann", date(2026, 5, 29), 8, True),  # before start
        ("bob", date(2026, 6, 2), 36, True),
    )
    per = utilization(
        staff, hours, HOLIDAYS, TIME_OFF.filter(pl.col("resource_id") == "x"), start=START, end=END
    )
    assert dict(zip(per["resource_id"], per["utilization"], strict=True)) == {
        "ann": 17 / 72,
        "bob": 36 / 72,
    }
    grouped = utilization(staff, hours, HOLIDAYS, TIME_OFF, start=START, end=END, by=["region"])
    assert grouped.row(0, named=True) == {
        "region": "UK",
        "billable_hours": 53.0,
        "available_hours": 68.0 + 72.0,
        "utilization": 53 / 140,
    }


def test_no_capacity_means_no_utilization_not_zero() -> None:
    staff = people(("zed", "US", 0, None, None))
    out = utilization(
        staff, time(("zed", date(2026, 6, 2), 2, True)), HOLIDAYS, TIME_OFF, start=START, end=END
    )
    assert out["utilization"].to_list() == [None]
