"""Burn rates and the multiwindow, multi-burn-rate conditions (SRE workbook, "Alerting on SLOs")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from alerts import slo
from alerts.model import Severity

NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)
H = timedelta(hours=1)


@pytest.mark.parametrize(
    ("consumed", "window", "rate"),
    [(0.02, H, 14.4), (0.05, 6 * H, 6.0), (0.10, 72 * H, 1.0), (1.0, timedelta(days=30), 1.0)],
)
def test_budget_consumed_in_a_window_is_the_workbooks_burn_rate(
    consumed: float, window: timedelta, rate: float
) -> None:
    assert slo.budget_burn_rate(consumed, window) == pytest.approx(rate)


def test_the_conditions_are_the_workbooks_table() -> None:
    rows = [(c.severity, c.long, c.short, c.burn_rate) for c in slo.CONDITIONS]
    assert rows == [
        (Severity.PAGE, H, timedelta(minutes=5), 14.4),
        (Severity.PAGE, 6 * H, timedelta(minutes=30), 6.0),
        (Severity.TICKET, timedelta(days=3), 6 * H, 1.0),
    ]
    assert [c.long for c in slo.conditions(Severity.PAGE)] == [H, 6 * H]
    assert [c.long for c in slo.conditions(Severity.INFO)] == [timedelta(days=3)]


def judged(*decisions: tuple[timedelta, bool]) -> pl.DataFrame:
    """Events decided ``ago`` before NOW, good or bad."""
    return pl.DataFrame(
        {"decided_at": [NOW - ago for ago, _ in decisions], "good": [g for _, g in decisions]},
        schema=slo.JUDGED,
    )


def spread(total: int, bad: int, over: timedelta) -> list[tuple[timedelta, bool]]:
    """``total`` events evenly over the last ``over``, ``bad`` of them evenly among them."""
    step, every = over / total, total // bad
    return [
        (step * i + timedelta(seconds=1), not (i % every == 0 and i < bad * every))
        for i in range(total)
    ]


def test_burn_rate_is_the_bad_ratio_over_the_error_budget() -> None:
    # 2 bad of 100 in the last hour at 99 %: 2 % bad ÷ 1 % budget = 2×
    events = judged(*spread(100, 2, H))
    measured = slo.window(events, objective=0.99, now=NOW, length=H)
    assert (measured.events, measured.bad) == (100, 2)
    assert measured.burn_rate == pytest.approx(2.0)
    assert slo.window(judged(), objective=0.99, now=NOW, length=H).burn_rate is None


def test_a_fast_burn_pages_when_both_windows_burn() -> None:
    # 15 % bad over the last hour, and in the last 5 minutes too: 15× ≥ 14.4×
    events = judged(*spread(200, 30, H), *[(timedelta(minutes=1), False)] * 3)
    found = slo.breaches(events, objective=0.99, now=NOW, severity=Severity.PAGE)
    assert [b.condition.long for b in found] == [H, 6 * H]
    assert found[0].long.burn_rate >= 14.4 and found[0].short.burn_rate >= 14.4


def test_a_burn_that_stopped_resets_with_the_short_window() -> None:
    # a bad spell 40–53 minutes ago, all good since: both short windows are clean, no page
    bad_hour = [(timedelta(minutes=40) + i * timedelta(seconds=20), False) for i in range(40)]
    calm = [(timedelta(minutes=1) + i * timedelta(seconds=20), True) for i in range(25)]
    events = judged(*bad_hour, *calm)
    long = slo.window(events, objective=0.99, now=NOW, length=H)
    assert long.burn_rate is not None and long.burn_rate > 14.4
    assert slo.breaches(events, objective=0.99, now=NOW, severity=Severity.PAGE) == []


def test_the_minimum_event_guard_keeps_a_quiet_sli_from_paging() -> None:
    events = judged((timedelta(minutes=2), False))  # one bad event: 100 × budget
    assert (
        slo.breaches(events, objective=0.99, now=NOW, severity=Severity.PAGE, min_events=10) == []
    )
    assert slo.breaches(events, objective=0.99, now=NOW, severity=Severity.PAGE, min_events=1)


def test_a_slow_burn_tickets_but_does_not_page() -> None:
    # 1.5 % bad spread evenly over 3 days at 99 %: 1.5× — a ticket, not a page
    events = judged(*spread(2000, 30, timedelta(days=3)))
    assert slo.breaches(events, objective=0.99, now=NOW, severity=Severity.PAGE) == []
    (ticket,) = slo.breaches(events, objective=0.99, now=NOW, severity=Severity.TICKET)
    assert ticket.long.burn_rate == pytest.approx(1.5, rel=0.05)


def test_budget_remaining_over_30_days() -> None:
    events = judged(*spread(1000, 4, timedelta(days=29)))  # 0.4 % bad of a 1 % budget
    assert slo.budget_remaining(events, objective=0.99, now=NOW) == pytest.approx(0.6)
    assert slo.budget_remaining(judged(), objective=0.99, now=NOW) is None


def test_judging_events_at_their_deadline() -> None:
    day = timedelta(hours=24)
    events = pl.DataFrame(
        {
            "start": [
                NOW - 30 * H,
                NOW - 30 * H,
                NOW - 30 * H,
                NOW - 2 * H,
                NOW - 2 * H,
                NOW - 40 * H,
            ],
            "done": [NOW - 20 * H, NOW - H, None, None, NOW + H, NOW - 39 * H],
        },
        schema={"start": slo.UTC_TIME, "done": slo.UTC_TIME},
    )
    decided = slo.judge(events, deadline=day, now=NOW, live_since=NOW - 35 * H).sort("decided_at")
    # on time → good at done; late → bad at the deadline; unfulfilled past it → bad at the
    # deadline; inside its deadline (even done after "now") → not judged; before go-live → out
    assert decided.rows() == [(NOW - 20 * H, True), (NOW - 6 * H, False), (NOW - 6 * H, False)]


def test_burn_series_matches_the_windows() -> None:
    events = judged(*spread(100, 10, 4 * H))
    series = slo.burn_series(
        events, objective=0.99, start=NOW - 2 * H, end=NOW, step=30 * timedelta(minutes=1), length=H
    )
    assert series["at"].to_list()[-1] == NOW and series.height == 5
    for row in series.iter_rows(named=True):
        expected = slo.window(events, objective=0.99, now=row["at"], length=H)
        assert (row["events"], row["bad"]) == (expected.events, expected.bad)
        assert row["burn_rate"] == pytest.approx(expected.burn_rate)
