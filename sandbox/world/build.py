"""``build_world``: one deterministic firm from a seed, a size and a day.

The order matters and is fixed: organisation → customers → rate cards → deals → people →
staffing → time off and holidays → timesheets → extra entries → faults → invoice history →
edits after invoicing → expenses. Small object lists come from one ``random.Random(seed)``;
the columns of time entries from keyed draws (``sandbox.world.keyed``).
"""

from __future__ import annotations

import random
from collections.abc import Collection
from datetime import date, timedelta
from typing import Any

import numpy as np
import polars as pl

from sandbox.world import billing, calendar, deals, faults, org, staffing
from sandbox.world.catalog import FIRM_NAME
from sandbox.world.model import World
from sandbox.world.sizes import Shape, resolve
from sandbox.world.timesheets import Staffing, entries_between, max_entry_id

HOLIDAYS_AHEAD_DAYS = 400


def build_world(
    seed: int = 7,
    *,
    size: str = "small",
    today: date | None = None,
    months: int = 18,
    weeks: int | None = None,
    faults: Collection[str] | None = None,
    fault_rate: float | None = None,
    extra_entries: int = 0,
    **overrides: Any,
) -> World:
    """A firm with ``months`` of history ending yesterday (``tiny``: eight weeks).

    ``overrides`` set the numbers of ``sandbox.world.sizes.Shape`` (``consultants=``,
    ``customers=``, ``entities=``, ``faults_per_label=`` …). ``fault_rate`` plants that share of
    the eligible entries per label instead of a fixed count.
    """
    if extra_entries < 0:
        raise ValueError("extra_entries cannot be negative")
    shape = resolve(
        size,
        months=months,
        weeks=weeks,
        faults=tuple(faults) if faults is not None else None,
        **overrides,
    )
    today = today or date.today()
    rng = random.Random(seed)
    world = _skeleton(seed, shape, today, rng)
    world.time_entries = _timesheets(seed, world)
    if extra_entries:
        world.time_entries = _extra(seed, world.time_entries, extra_entries)
    count = _fault_count(world, shape, fault_rate)
    planted = tuple(f for f in shape.faults if f != "edited_after_invoiced")
    faults_module.plant(world, rng, planted, count)
    books = billing.invoice_history(rng, world)
    world.invoices, world.payments, world.credit_notes = (
        books.invoices,
        books.payments,
        books.credit_notes,
    )
    if "edited_after_invoiced" in shape.faults:
        faults_module.plant_edits(world, rng, count)
    world.expenses = billing.expenses(
        rng,
        world.employees,
        world.projects,
        _projects_by_person(world),
        min(40 + shape.consultants * 6, 3000),
        world.history_start,
        today,
    )
    return world


faults_module = faults


def _skeleton(seed: int, shape: Shape, today: date, rng: random.Random) -> World:
    history_start = today - timedelta(days=shape.days)
    go_live = _go_live(shape, today, history_start)
    lock = _period_lock(today) if shape.go_live_months else history_start - timedelta(days=1)
    firm = org.organisation(seed, shape)
    customers = org.customers(rng, shape, firm, history_start)
    cards = deals.rate_cards(rng, customers, history_start, go_live)
    sales = deals.deals(rng, shape, firm, customers, cards, history_start, today)
    people = org.employees(rng, shape, firm, history_start, today)
    card_of_contract = {c.id: c.rate_card_id for c in sales.contracts}
    links = staffing.assignments(
        rng,
        people,
        sales.projects,
        {c.id: c for c in cards},
        card_of_contract,
        history_start,
        today,
        tiny=shape.size == "tiny",
    )
    leave = calendar.time_off(rng, people, history_start, today)
    holidays = calendar.holidays_for(
        firm.regions, history_start, today + timedelta(days=HOLIDAYS_AHEAD_DAYS)
    )
    return World(
        name=FIRM_NAME,
        seed=seed,
        size=shape.size,
        today=today,
        history_start=history_start,
        go_live=go_live,
        period_lock=lock,
        legal_entities=firm.legal_entities,
        regions=firm.regions,
        practices=firm.practices,
        customers=customers,
        opportunities=sales.opportunities,
        rate_cards=cards,
        contracts=sales.contracts,
        projects=sales.projects,
        milestones=sales.milestones,
        employees=people,
        assignments=links,
        time_off=leave,
        holidays=holidays,
        expenses=[],
        invoices=[],
        payments=[],
        credit_notes=[],
        time_entries=pl.DataFrame(),
    )


def _go_live(shape: Shape, today: date, history_start: date) -> date:
    if shape.go_live_months is None:
        return history_start
    month = today.replace(day=1)
    for _ in range(shape.go_live_months):
        month = (month - timedelta(days=1)).replace(day=1)
    return max(month, history_start)


def _period_lock(today: date) -> date:
    """Books are closed up to the end of the month before last."""
    return (today.replace(day=1) - timedelta(days=1)).replace(day=1) - timedelta(days=1)


def _timesheets(seed: int, world: World) -> pl.DataFrame:
    days = np.arange(world.history_start.toordinal(), world.today.toordinal(), dtype=np.int64)
    mask = calendar.working_mask(world.employees, world.holidays, world.time_off, days)
    arrays = Staffing.of(world.employees, world.assignments, world.projects)
    return entries_between(seed, arrays, mask, world.history_start, org.at(world.today, 0), 1)


def _extra(seed: int, entries: pl.DataFrame, count: int) -> pl.DataFrame:
    """``count`` more approved billable entries copied from good ones (benchmarks)."""
    good = entries.filter((pl.col("status") == "approved") & pl.col("billable"))
    if good.is_empty():
        return entries
    picks = np.random.default_rng(seed).integers(0, good.height, count)
    quarters = np.random.default_rng(seed + 1).integers(4, 33, count)
    extra = good[picks].with_columns(
        id=pl.int_range(0, count, dtype=pl.Int64) + max_entry_id(entries) + 1,
        hours=pl.Series(quarters / 4).cast(pl.Decimal(8, 2)),
    )
    return pl.concat([entries, extra], rechunk=False)


def _fault_count(world: World, shape: Shape, fault_rate: float | None) -> int:
    if fault_rate is None:
        return shape.faults_per_label
    eligible = world.time_entries.filter(
        (pl.col("status") == "approved") & (pl.col("spent_date") >= world.go_live)
    ).height
    return max(1, round(fault_rate * eligible))


def _projects_by_person(world: World) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for a in world.assignments:
        out.setdefault(a.employee_id, []).append(a.project_id)
    return out
