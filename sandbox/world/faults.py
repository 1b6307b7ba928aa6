"""Planting data-quality faults, each labelled in ``World.faults[("time_entry", id)]``.

Planted entries are approved and billable and dated on or after go-live, so the engine meets
them on its normal path; most are new rows copied from a good entry and then spoiled in one way.
``edited_after_invoiced`` is the exception by nature: an entry the earlier process invoiced,
changed afterwards (planted once the history is invoiced, by ``plant_edits``).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import polars as pl

from sandbox.world import catalog
from sandbox.world.model import (
    FAULT_CLOSED_PERIOD,
    FAULT_CLOSED_PROJECT,
    FAULT_CURRENCY,
    FAULT_DUPLICATE,
    FAULT_EDITED_AFTER_INVOICE,
    FAULT_NEGATIVE_HOURS,
    FAULT_OVER_24H,
    FAULT_ROLE_NOT_ON_RATE_CARD,
    FAULT_TERMINATED,
    FAULT_UNKNOWN_PROJECT,
    TIME_COLUMNS,
    Assignment,
    Project,
    World,
)
from sandbox.world.org import at
from sandbox.world.sizes import FAULT_NO_ASSIGNMENT
from sandbox.world.timesheets import max_entry_id

Row = dict[str, Any]
UNKNOWN_PROJECT_OFFSET = 1000


class _Planter:
    def __init__(self, world: World, rng: random.Random) -> None:
        self.world, self.rng = world, rng
        self.rows: list[Row] = []
        self.next_id = max_entry_id(world.time_entries) + 1
        known = [p.id for p in world.projects]
        good = world.time_entries.filter(
            (pl.col("status") == "approved")
            & pl.col("billable")
            & (pl.col("spent_date") >= world.go_live)
            & pl.col("project_id").is_in(known)
        )
        ended = good.filter(pl.col("spent_date") < world.today.replace(day=1))
        self.pool = ended if not ended.is_empty() else good  # in months the engine invoices
        self.assigned = {(a.employee_id, a.project_id) for a in world.assignments}

    def sample(self, n: int, where: pl.Expr | None = None) -> list[Row]:
        pool = self.pool if where is None else self.pool.filter(where)
        if pool.is_empty():
            return []
        picks = [self.rng.randrange(pool.height) for _ in range(n)]
        return pool[picks].to_dicts()

    def add(self, label: str, row: Row, **changes: Any) -> None:
        entry = {**row, **changes, "id": self.next_id}
        self.next_id += 1
        self.rows.append(entry)
        self.world.faults[("time_entry", entry["id"])] = label

    def dated(self, label: str, row: Row, day: date, created: datetime | None = None) -> None:
        """A copy of ``row`` moved to ``day``, logged then (or at ``created``) and approved."""
        made = created or at(day, 18)
        self.add(
            label,
            row,
            spent_date=day,
            created_at=made,
            submitted_at=made + timedelta(hours=1),
            approved_at=made + timedelta(days=1),
            updated_at=made + timedelta(days=1),
        )


def plant(world: World, rng: random.Random, labels: tuple[str, ...], count: int) -> None:
    """Add ``count`` labelled bad entries for every label in ``labels`` (edits come later)."""
    if FAULT_TERMINATED in labels:
        _ensure_leaver(world, rng)
    planter = _Planter(world, rng)
    for label in labels:
        plant_one = _PLANTERS.get(label)
        if plant_one is not None:
            plant_one(planter, count)
    if planter.rows:
        added = pl.DataFrame(planter.rows, schema=TIME_COLUMNS, orient="row")
        world.time_entries = pl.concat([world.time_entries, added], rechunk=False)
    world.time_entries = world.time_entries.with_columns(
        pl.col("hours").cast(TIME_COLUMNS["hours"])
    )


def _hours(value: str) -> Callable[[_Planter, int], None]:
    label = FAULT_NEGATIVE_HOURS if value.startswith("-") else FAULT_OVER_24H

    def plant_hours(p: _Planter, n: int) -> None:
        for row in p.sample(n):
            p.add(label, row, hours=Decimal(value))

    return plant_hours


def _unknown_project(p: _Planter, n: int) -> None:
    ghost = max(x.id for x in p.world.projects) + UNKNOWN_PROJECT_OFFSET
    for row in p.sample(n):
        p.add(FAULT_UNKNOWN_PROJECT, row, project_id=ghost)


def _duplicate(p: _Planter, n: int) -> None:
    for row in p.sample(n):
        p.add(FAULT_DUPLICATE, row)


def _closed_project(p: _Planter, n: int) -> None:
    latest = p.world.today - timedelta(days=3)
    closed = [
        x
        for x in p.world.projects
        if x.status == "closed" and x.end and p.world.go_live <= x.end < latest - timedelta(days=2)
    ]
    staffed = [(x, x.end, a) for x in closed for a in p.world.assignments if a.project_id == x.id]
    for project, ended, link in p.rng.sample(staffed, min(n, len(staffed))):
        day = _weekday((ended or latest) + timedelta(days=2), latest)
        row = p.sample(1)[0] | {"employee_id": link.employee_id, "project_id": project.id}
        p.dated(FAULT_CLOSED_PROJECT, row, day)


def _terminated(p: _Planter, n: int) -> None:
    choices = _leaver_choices(p.world)
    for link, day in p.rng.sample(choices, min(n, len(choices))):
        row = p.sample(1)[0] | {"employee_id": link.employee_id, "project_id": link.project_id}
        p.dated(FAULT_TERMINATED, row, day)


def _leaver_choices(world: World) -> list[tuple[Assignment, date]]:
    """(assignment, day after its person left) where the project still ran that day."""
    latest = world.today - timedelta(days=3)
    leavers = {
        e.id: e.termination_date
        for e in world.employees
        if e.termination_date and world.go_live <= e.termination_date < latest - timedelta(days=2)
    }
    projects = {x.id: x for x in world.projects}
    choices = []
    for link in world.assignments:
        left = leavers.get(link.employee_id)
        if left is None or (link.end is not None and link.end < left):
            continue
        day = _weekday(left + timedelta(days=1), latest)
        project = projects[link.project_id]
        if project.start <= day <= (project.end or day):
            choices.append((link, day))
    return choices


def _no_assignment(p: _Planter, n: int) -> None:
    active = [x for x in p.world.projects if x.status == "active"]
    for row in p.sample(n * 3):
        if n == 0 or not active:
            return
        day = row["spent_date"]
        tries = active if len(active) <= 50 else p.rng.sample(active, 50)
        free = [
            x
            for x in tries
            if (row["employee_id"], x.id) not in p.assigned and x.start <= day <= (x.end or day)
        ]
        if free:
            p.add(FAULT_NO_ASSIGNMENT, row, project_id=p.rng.choice(free).id)
            n -= 1


def _uncarded_role(p: _Planter, n: int) -> None:
    """A person assigned in a role no rate card prices, and their time on it."""
    for row in p.sample(n * 3):
        if n == 0:
            return
        day = row["spent_date"]
        tries = p.rng.sample(p.world.projects, min(50, len(p.world.projects)))
        free = [
            x
            for x in tries
            if x.status == "active"
            and (row["employee_id"], x.id) not in p.assigned
            and x.start <= day
        ]
        if not free:
            continue
        project = p.rng.choice(free)
        link = Assignment(
            len(p.world.assignments) + 1,
            project.id,
            row["employee_id"],
            catalog.UNCARDED_ROLE,
            day,
            project.end,
            Decimal(40),
            None,
            at(day - timedelta(days=1), 9),
        )
        p.world.assignments.append(link)
        p.assigned.add((row["employee_id"], project.id))
        p.add(FAULT_ROLE_NOT_ON_RATE_CARD, row, project_id=project.id)
        n -= 1


def _currency(p: _Planter, n: int) -> None:
    """A second project on a running contract, set up in Harvest under the wrong currency."""
    first = p.sample(1)
    if not first:
        return
    projects = {x.id: x for x in p.world.projects}
    base = projects[first[0]["project_id"]]
    rows = p.sample(n, pl.col("project_id") == base.id)
    currencies = [c for c in catalog.FX_FROM_USD if c != base.currency]
    twin = Project(
        **{
            **base.__dict__,
            "id": max(projects) + 1,
            "code": f"{base.code}X",
            "name": f"{base.name} (extension)",
            "currency": p.rng.choice(currencies),
        }
    )
    p.world.projects.append(twin)
    for row in rows:
        if (row["employee_id"], twin.id) not in p.assigned:
            link = next(
                a
                for a in p.world.assignments
                if (a.employee_id, a.project_id) == (row["employee_id"], base.id)
            )
            p.world.assignments.append(
                Assignment(
                    **{**link.__dict__, "id": len(p.world.assignments) + 1, "project_id": twin.id}
                )
            )
            p.assigned.add((row["employee_id"], twin.id))
        p.add(FAULT_CURRENCY, row, project_id=twin.id)


def _closed_period(p: _Planter, n: int) -> None:
    lock = p.world.period_lock
    late = at(lock + timedelta(days=4), 10)
    if lock < p.world.go_live or late.date() >= p.world.today - timedelta(days=2):
        return
    for row in p.sample(n, pl.col("spent_date") <= lock):
        p.dated(FAULT_CLOSED_PERIOD, row, row["spent_date"], created=late)


def plant_edits(world: World, rng: random.Random, count: int) -> None:
    """Entries invoiced before go-live whose hours were changed afterwards."""
    invoiced = world.time_entries.filter(pl.col("invoice_id").is_not_null())
    if invoiced.is_empty():
        return
    issued = {i.id: i.issue_date for i in world.invoices}
    picks = {invoiced["id"][rng.randrange(invoiced.height)] for _ in range(count)}
    for entry_id in sorted(picks):
        world.faults[("time_entry", entry_id)] = FAULT_EDITED_AFTER_INVOICE
    rows = invoiced.filter(pl.col("id").is_in(sorted(picks)))
    stamps = {
        r["id"]: min(
            at(issued[r["invoice_id"]] + timedelta(days=10), 11),
            at(world.today - timedelta(days=1), 8),
        )
        for r in rows.iter_rows(named=True)
    }
    edited = pl.col("id").is_in(sorted(picks))
    world.time_entries = world.time_entries.with_columns(
        hours=pl.when(edited)
        .then(pl.col("hours") + Decimal(1))
        .otherwise(pl.col("hours"))
        .cast(TIME_COLUMNS["hours"]),
        updated_at=pl.when(edited)
        .then(
            pl.col("id").replace_strict(stamps, default=None, return_dtype=pl.Datetime("us", "UTC"))
        )
        .otherwise(pl.col("updated_at")),
    )


def _ensure_leaver(world: World, rng: random.Random) -> None:
    """Someone must have left since go-live for ``terminated_resource``: if nobody did, a person
    on a running project leaves ten days ago (their later time and assignments end there)."""
    latest = world.today - timedelta(days=5)
    if _leaver_choices(world):
        return
    leaves = _weekday(world.today - timedelta(days=12), latest)
    running = {p.id for p in world.projects if p.status == "active" and p.start < leaves}
    staffed = sorted(
        {
            a.employee_id
            for a in world.assignments
            if a.project_id in running and a.start < leaves and (a.end is None or a.end > latest)
        }
    )
    if not staffed:
        return
    who = rng.choice(staffed)
    world.employees = [
        replace(e, termination_date=leaves, updated_at=at(leaves, 17)) if e.id == who else e
        for e in world.employees
    ]
    world.assignments = [
        replace(a, end=leaves) if a.employee_id == who and (a.end is None or a.end > leaves) else a
        for a in world.assignments
    ]
    world.time_entries = world.time_entries.filter(
        (pl.col("employee_id") != who) | (pl.col("spent_date") <= leaves)
    )


def _weekday(day: date, latest: date) -> date:
    while day.weekday() >= 5 and day < latest:
        day += timedelta(days=1)
    return day


_PLANTERS: dict[str, Callable[[_Planter, int], None]] = {
    FAULT_NEGATIVE_HOURS: _hours("-2.00"),
    FAULT_OVER_24H: _hours("26.00"),
    FAULT_UNKNOWN_PROJECT: _unknown_project,
    FAULT_CLOSED_PROJECT: _closed_project,
    FAULT_NO_ASSIGNMENT: _no_assignment,
    FAULT_ROLE_NOT_ON_RATE_CARD: _uncarded_role,
    FAULT_TERMINATED: _terminated,
    FAULT_CURRENCY: _currency,
    FAULT_DUPLICATE: _duplicate,
    FAULT_CLOSED_PERIOD: _closed_period,
}
