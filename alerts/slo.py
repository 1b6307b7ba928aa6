"""Business SLOs: their SLIs, burn rates and the multiwindow, multi-burn-rate conditions of the
Google SRE workbook ("Alerting on SLOs"), over a 30-day SLO window.

An SLI event has a start and a deadline (start + the SLI's ``deadline``). It is *good* when
fulfilled by its deadline, judged at the moment it was fulfilled; *bad* when its deadline passed
unfulfilled (or it was fulfilled late), judged at the deadline. An event still inside its
deadline is not judged yet: it counts neither way. Events that started before the fulfilling
flow first ran (before plan2cash went live) are not counted.

Burn rate over a window = bad ÷ judged events in the window, ÷ (1 − objective): at 1 the error
budget is spent exactly at the end of the 30 days. Each condition pairs a long and a short
window; both must burn at or above its rate (and the long window hold ``min_events``):

========  ==============  ===========  ============  =========
severity  budget consumed long window  short window  burn rate
========  ==============  ===========  ============  =========
page      2 %             1 h          5 min         14.4
page      5 %             6 h          30 min        6
ticket    10 %            3 d          6 h           1
========  ==============  ===========  ============  =========
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import polars as pl

from alerts.model import Severity
from sync.store import Flow

SLO_WINDOW = timedelta(days=30)
UTC_TIME = pl.Datetime("us", "UTC")
JUDGED = {"decided_at": UTC_TIME, "good": pl.Boolean}


@dataclass(frozen=True)
class Sli:
    """A business SLI: what an event is, its deadline, its default objective (percent), the
    flow that fulfils it, and the dashboard view (path and query) that explains a miss."""

    name: str
    description: str
    deadline: timedelta
    objective: float
    flow: Flow
    view: str


SLIS: dict[str, Sli] = {
    sli.name: sli
    for sli in (
        Sli(
            "billable_within_24h",
            "approved billable time that became a billing event within 24 h of approval",
            timedelta(hours=24),
            99.0,
            Flow.BILLABLE,
            "exceptions?flow=billable&status=open",
        ),
        Sli(
            "posted_within_1h",
            "invoices posted to the ERP within 1 h of being made",
            timedelta(hours=1),
            99.5,
            Flow.OUTBOX,
            "billing",
        ),
        Sli(
            "crm_within_24h",
            "payments reflected on the customer's CRM account within 24 h",
            timedelta(hours=24),
            99.0,
            Flow.STATUS_BACK,
            "health",
        ),
    )
}


@dataclass(frozen=True)
class BurnCondition:
    """One row of the workbook table."""

    severity: Severity
    budget_consumed: float  # share of the 30-day budget spent in ``long``
    long: timedelta
    short: timedelta

    @property
    def burn_rate(self) -> float:
        return budget_burn_rate(self.budget_consumed, self.long)


CONDITIONS = (
    BurnCondition(Severity.PAGE, 0.02, timedelta(hours=1), timedelta(minutes=5)),
    BurnCondition(Severity.PAGE, 0.05, timedelta(hours=6), timedelta(minutes=30)),
    BurnCondition(Severity.TICKET, 0.10, timedelta(days=3), timedelta(hours=6)),
)


def conditions(severity: Severity) -> tuple[BurnCondition, ...]:
    """The conditions a rule of ``severity`` checks: page → the page rows, else the ticket row."""
    wanted = Severity.PAGE if severity is Severity.PAGE else Severity.TICKET
    return tuple(c for c in CONDITIONS if c.severity is wanted)


def budget_burn_rate(
    budget_consumed: float, window: timedelta, slo_window: timedelta = SLO_WINDOW
) -> float:
    """The burn rate that spends ``budget_consumed`` of the budget in ``window``."""
    return round(budget_consumed * (slo_window / window), 6)


def judge(
    events: pl.DataFrame, *, deadline: timedelta, now: datetime, live_since: datetime | None
) -> pl.DataFrame:
    """``events`` (``start``, ``done``: null while unfulfilled) judged at ``now``: ``decided_at``
    and ``good`` for every event decided by then (see the module docstring)."""
    due = pl.col("start") + deadline
    done = pl.when(pl.col("done") <= now).then(pl.col("done"))  # not done yet as of ``now``
    counted = events.filter(pl.col("start").is_not_null())
    if live_since is not None:
        counted = counted.filter(pl.col("start") >= live_since)
    return (
        counted.with_columns(done.alias("_done"))
        .with_columns((pl.col("_done").is_not_null() & (pl.col("_done") <= due)).alias("good"))
        .with_columns(
            pl.when(pl.col("good")).then(pl.col("_done")).otherwise(due).alias("decided_at")
        )
        .filter(pl.col("decided_at") <= now)
        .select(pl.col("decided_at").cast(UTC_TIME), "good")
    )


@dataclass(frozen=True)
class Window:
    """The judged events in one window ending at ``now``, and their burn rate (None: none)."""

    length: timedelta
    events: int
    bad: int
    burn_rate: float | None


def window(judged: pl.DataFrame, *, objective: float, now: datetime, length: timedelta) -> Window:
    """Events decided in (now − length, now]; ``objective`` as a fraction (0.99)."""
    inside = judged.filter((pl.col("decided_at") > now - length) & (pl.col("decided_at") <= now))
    events, bad = inside.height, int((~inside["good"]).sum()) if inside.height else 0
    rate = (bad / events) / (1 - objective) if events else None
    return Window(length, events, bad, rate)


@dataclass(frozen=True)
class Breach:
    """A condition that holds: its row and the two windows as measured."""

    condition: BurnCondition
    long: Window
    short: Window


def breaches(
    judged: pl.DataFrame,
    *,
    objective: float,
    now: datetime,
    severity: Severity,
    min_events: int = 1,
) -> list[Breach]:
    """The conditions of ``severity`` that hold at ``now`` (long and short window both at or
    above the burn rate, the long window holding at least ``min_events``)."""
    found = []
    for condition in conditions(severity):
        long = window(judged, objective=objective, now=now, length=condition.long)
        short = window(judged, objective=objective, now=now, length=condition.short)
        if long.events < min_events or long.burn_rate is None or short.burn_rate is None:
            continue
        if long.burn_rate >= condition.burn_rate and short.burn_rate >= condition.burn_rate:
            found.append(Breach(condition, long, short))
    return found


def budget_remaining(judged: pl.DataFrame, *, objective: float, now: datetime) -> float | None:
    """The share of the 30-day error budget left (negative once overspent; None: no events)."""
    spent = window(judged, objective=objective, now=now, length=SLO_WINDOW).burn_rate
    return None if spent is None else 1 - spent


def burn_series(
    judged: pl.DataFrame,
    *,
    objective: float,
    start: datetime,
    end: datetime,
    step: timedelta,
    length: timedelta,
) -> pl.DataFrame:
    """The burn rate over ``length`` at each ``step`` from ``start`` to ``end`` (for a chart):
    ``at``, ``events``, ``bad``, ``burn_rate`` (null where the window holds no event)."""
    times = pl.datetime_range(start, end, step, time_zone="UTC", eager=True).alias("at")
    ordered = judged.sort("decided_at")
    moments = ordered["decided_at"]
    bad_before = (~ordered["good"]).cast(pl.Int64).cum_sum()
    frame = pl.DataFrame({"at": times}).with_columns(
        (pl.col("at") - length).alias("from"),
    )
    upto = moments.search_sorted(frame["at"], side="right")
    since = moments.search_sorted(frame["from"], side="right")
    bad_at = [int(bad_before[i - 1]) if i > 0 else 0 for i in upto]
    bad_from = [int(bad_before[i - 1]) if i > 0 else 0 for i in since]
    return (
        frame.with_columns(
            (pl.Series(upto) - pl.Series(since)).cast(pl.Int64).alias("events"),
            (pl.Series(bad_at) - pl.Series(bad_from)).cast(pl.Int64).alias("bad"),
        )
        .with_columns(
            pl.when(pl.col("events") > 0)
            .then(pl.col("bad") / pl.col("events") / (1 - objective))
            .alias("burn_rate")
        )
        .select("at", "events", "bad", "burn_rate")
    )
