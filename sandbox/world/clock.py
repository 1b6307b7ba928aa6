"""Time that moves: a simulated clock, and the world's history extended to a later day.

``SimClock(start, speed)`` reads ``start + real elapsed × speed`` (speed 1440 turns a real minute
into a simulated day). ``advance(world, to)`` adds the days from ``world.today`` up to ``to``
(exclusive): new entries for each working day, and weeks that were drafts or waiting for approval
move on as their planned lags say. Every draw is keyed by (seed, person or assignment, day), so
advancing in steps or at once gives the same entries. Time logged later on an assignment that a
fault planted (a role no rate card prices, a project set up in the wrong currency) is as bad as
the planted entry, and ``World.faults`` labels it the same.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl

from sandbox.world import calendar
from sandbox.world.model import FAULT_CURRENCY, FAULT_ROLE_NOT_ON_RATE_CARD, World
from sandbox.world.org import at
from sandbox.world.timesheets import (
    EPOCH,
    Staffing,
    entries_between,
    max_entry_id,
    planned_week,
    typed,
    with_status,
)

# faults planted through an assignment: every later entry on that assignment carries them too
THROUGH_ASSIGNMENT = (FAULT_ROLE_NOT_ON_RATE_CARD, FAULT_CURRENCY)


class SimClock:
    """A simulated "now" that runs ``speed`` times as fast as the wall clock."""

    def __init__(self, start: datetime, speed: float = 1.0) -> None:
        if start.tzinfo is None or speed < 0:
            raise ValueError("start must be timezone-aware and speed non-negative")
        self.start = start.astimezone(UTC)
        self.speed = speed
        self._origin = time.monotonic()
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            elapsed = time.monotonic() - self._origin
        return self.start + timedelta(seconds=elapsed * self.speed)

    __call__ = now

    def today(self) -> date:
        return self.now().date()


def advance(world: World, to: date) -> int:
    """Extend ``world`` to ``to`` (its new ``today``); returns how many entries were added."""
    if to <= world.today:
        return 0
    cutoff = at(to, 0)
    moved = _settle_open_weeks(world, cutoff)
    days = np.arange(world.today.toordinal(), to.toordinal(), dtype=np.int64)
    mask = calendar.working_mask(world.employees, world.holidays, world.time_off, days)
    staffing = Staffing.of(world.employees, world.assignments, world.projects)
    first_id = max_entry_id(world.time_entries) + 1
    fresh = entries_between(world.seed, staffing, mask, world.today, cutoff, first_id)
    _label_follow_ons(world, fresh)
    world.time_entries = pl.concat([moved, fresh], rechunk=False)
    world.today = to
    return fresh.height


def _settle_open_weeks(world: World, cutoff: datetime) -> pl.DataFrame:
    """Drafts and submitted weeks re-evaluated at ``cutoff`` (planted rows stay as planted; time
    that follows a planted assignment moves on like any other)."""
    planted = [
        key
        for (kind, key), label in world.faults.items()
        if kind == "time_entry" and label not in THROUGH_ASSIGNMENT
    ]
    frame = world.time_entries
    open_rows = pl.col("status").is_in(["draft", "submitted"]) & ~pl.col("id").is_in(planted)
    pending = frame.filter(open_rows)
    if pending.is_empty():
        return frame
    ordinal = pending["spent_date"].cast(pl.Int32).to_numpy().astype(np.int64) + EPOCH
    created = pending["created_at"].dt.epoch("us").to_numpy()
    employee = pending["employee_id"].to_numpy()
    submitted, approved, rejected = planned_week(world.seed, employee, ordinal, created, cutoff)
    raw = pending.with_columns(
        pl.col("spent_date").cast(pl.Int32),
        pl.col("created_at").dt.epoch("us"),
        submitted_at=pl.Series(submitted),
        approved_at=pl.Series(approved),
        rejected=pl.Series(rejected),
    )
    settled = typed(with_status(raw, cutoff).with_columns(pl.col("hours").cast(pl.Float64)))
    return pl.concat([frame.filter(~open_rows), settled])


def _label_follow_ons(world: World, fresh: pl.DataFrame) -> None:
    """Label ``fresh`` entries by a person on a project where a fault planted their assignment."""
    planted = {
        key: label
        for (kind, key), label in world.faults.items()
        if kind == "time_entry" and label in THROUGH_ASSIGNMENT
    }
    if not planted or fresh.is_empty():
        return
    seeds = world.time_entries.filter(pl.col("id").is_in(list(planted)))
    label_of = {
        (employee, project): planted[key]
        for key, employee, project in seeds.select("id", "employee_id", "project_id").iter_rows()
    }
    for key, employee, project in fresh.select("id", "employee_id", "project_id").iter_rows():
        label = label_of.get((employee, project))
        if label is not None:
            world.faults[("time_entry", key)] = label
