from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl

from metrics.approvals import approved_before_close, unapproved_aging

CUTOFF = datetime(2026, 7, 3, 17, tzinfo=UTC)


def entries() -> pl.DataFrame:
    return pl.DataFrame(
        [
            (date(2026, 6, 10), 8.0, datetime(2026, 6, 15, tzinfo=UTC), "Ops"),
            (date(2026, 6, 11), 6.0, datetime(2026, 7, 3, 17, tzinfo=UTC), "Ops"),  # at cutoff
            (date(2026, 6, 12), 4.0, datetime(2026, 7, 6, tzinfo=UTC), "Ops"),  # late
            (date(2026, 6, 30), 2.0, None, "Tech"),  # never approved
            (date(2026, 7, 1), 9.0, datetime(2026, 7, 2, tzinfo=UTC), "Tech"),  # next period
        ],
        orient="row",
        schema={
            "spent_date": pl.Date,
            "hours": pl.Float64,
            "approved_at": pl.Datetime("us", "UTC"),
            "practice": pl.String,
        },
    )


def test_share_of_logged_hours_approved_by_the_cutoff() -> None:
    out = approved_before_close(
        entries(), start=date(2026, 6, 1), end=date(2026, 6, 30), cutoff=CUTOFF
    ).row(0, named=True)
    assert (out["logged_hours"], out["approved_hours"]) == (20.0, 14.0)
    assert out["approved_share"] == 14 / 20


def test_by_practice_against_expected_hours() -> None:
    expected = pl.DataFrame({"practice": ["Ops", "Tech"], "expected_hours": [40.0, 0.0]})
    out = approved_before_close(
        entries(),
        start=date(2026, 6, 1),
        end=date(2026, 6, 30),
        cutoff=CUTOFF,
        expected=expected,
        by=["practice"],
    )
    got = {r["practice"]: r["approved_share"] for r in out.iter_rows(named=True)}
    assert got == {"Ops": 14 / 40, "Tech": None}


def test_unapproved_time_by_age_since_submission() -> None:
    frame = pl.DataFrame(
        [
            ("submitted", datetime(2026, 6, 29, tzinfo=UTC), 5.0, "Ann"),
            ("submitted", datetime(2026, 5, 1, tzinfo=UTC), 3.0, "Ann"),
            ("approved", datetime(2026, 5, 1, tzinfo=UTC), 7.0, "Ann"),
            ("submitted", datetime(2026, 7, 1, tzinfo=UTC), 1.0, "Bob"),
        ],
        orient="row",
        schema={
            "status": pl.String,
            "submitted_at": pl.Datetime("us", "UTC"),
            "hours": pl.Float64,
            "manager": pl.String,
        },
    )
    out = unapproved_aging(frame, as_of=date(2026, 6, 30), by=["manager"])
    assert out.rows() == [("Ann", "0–30", 5.0, 1), ("Ann", "31–60", 3.0, 1)]
