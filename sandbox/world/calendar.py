"""Public holidays per region and people's time off, and the working-day mask they leave.

Holidays come from the ``holidays`` package when it is installed, else from a small built-in
table of fixed-date holidays. Time off is vacation, sick days and the odd parental leave;
what was approved (and the future requests) is in ``World.time_off``.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from sandbox.world.model import Employee, Holiday, Region, TimeOff, TimeOffStatus
from sandbox.world.org import at, clamp

_FIXED = {
    "US": ((1, 1, "New Year's Day"), (7, 4, "Independence Day"), (12, 25, "Christmas Day")),
    "GB": ((1, 1, "New Year's Day"), (12, 25, "Christmas Day"), (12, 26, "Boxing Day")),
    "DE": (
        (1, 1, "Neujahr"),
        (5, 1, "Tag der Arbeit"),
        (10, 3, "Tag der Deutschen Einheit"),
        (12, 25, "Erster Weihnachtstag"),
        (12, 26, "Zweiter Weihnachtstag"),
    ),
}


def holidays_for(regions: list[Region], start: date, end: date) -> list[Holiday]:
    """Every public holiday of each region's country between ``start`` and ``end``."""
    years = list(range(start.year, end.year + 1))
    out = []
    for region in regions:
        for day, name in sorted(_country_holidays(region.country, years).items()):
            if start <= day <= end:
                out.append(Holiday(region.id, day, name))
    return out


def _country_holidays(country: str, years: list[int]) -> dict[date, str]:
    try:
        import holidays
    except ImportError:  # the built-in table keeps the sandbox working without the package
        return {date(y, m, d): name for y in years for m, d, name in _FIXED.get(country, ())}
    return {d: str(n) for d, n in holidays.country_holidays(country, years=years).items()}


def time_off(
    rng: random.Random, people: list[Employee], history_start: date, today: date
) -> list[TimeOff]:
    out: list[TimeOff] = []
    horizon = today + timedelta(days=90)
    for person in people:
        first = max(person.hire_date, history_start)
        last = min(person.termination_date or horizon, horizon)
        span = (last - first).days
        if span <= 0:
            continue
        per_day = (person.weekly_capacity_hours / 5).quantize(Decimal("0.01"))
        kinds = [("Vacation", 1, 11)] * round(span / 365 * 4) + [("Sick", 1, 4)] * round(
            span / 365 * 3
        )
        if rng.random() < span / 365 * 0.01:
            kinds.append(("Parental leave", 60, 91))
        for kind, shortest, longest in kinds:
            start = first + timedelta(days=rng.randrange(span))
            end = start + timedelta(days=rng.randrange(shortest, longest) - 1)
            status, asked = _status(rng, kind, start, end, today)
            out.append(
                TimeOff(len(out) + 1, person.id, start, end, kind, status, per_day, asked, asked)
            )
    return out


def _status(
    rng: random.Random, kind: str, start: date, end: date, today: date
) -> tuple[TimeOffStatus, datetime]:
    asked = at(start - timedelta(days=rng.randrange(3, 40) if kind != "Sick" else 0), 10)
    asked = clamp(asked, today)
    if start >= today:
        return ("requested" if rng.random() < 0.6 else "approved"), asked
    draw = rng.random()
    if kind == "Sick" or draw < 0.9:
        return "approved", asked
    return ("denied" if draw < 0.95 else "canceled"), asked


def working_mask(
    people: list[Employee],
    holidays: list[Holiday],
    leave: list[TimeOff],
    days: npt.NDArray[np.int64],
) -> npt.NDArray[np.bool_]:
    """``mask[person index, day index]``: a weekday in employment, no holiday, no approved leave.

    ``days`` are consecutive proleptic ordinals (``date.toordinal``).
    """
    first = int(days[0])
    weekday = (days - 1) % 7 < 5  # ordinal 1 (0001-01-01) was a Monday
    mask = np.repeat(weekday[None, :], len(people), axis=0)
    index = {p.id: i for i, p in enumerate(people)}
    by_region: dict[int, list[int]] = {}
    for i, p in enumerate(people):
        by_region.setdefault(p.region_id, []).append(i)
        hired = p.hire_date.toordinal() - first
        mask[i, : max(0, hired)] = False
        if p.termination_date is not None:
            mask[i, max(0, p.termination_date.toordinal() - first + 1) :] = False
    for h in holidays:
        k = h.day.toordinal() - first
        if 0 <= k < len(days) and h.region_id in by_region:
            mask[by_region[h.region_id], k] = False
    for t in leave:
        if t.status == "approved":
            lo, hi = t.start.toordinal() - first, t.end.toordinal() - first + 1
            mask[index[t.employee_id], max(0, lo) : max(0, hi)] = False
    return mask
