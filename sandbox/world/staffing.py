"""Staffing: who works on which project when (assignments).

Each person works a chain of assignments from their hire (or the start of the history) to their
termination (or today): a project that is running at that moment, mostly in their own legal
entity, for two to eight months, then a short gap on the bench; a third of the time they also
take a second, concurrent engagement. A person is assigned to a project at most once.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

from sandbox.world.model import Assignment, Employee, Project, RateCard
from sandbox.world.org import at, clamp

BUCKET_DAYS = 7
FIVE = Decimal(5)


class _Running:
    """Projects running in each week (all, and per legal entity), so picking one at a date is
    a list lookup."""

    def __init__(self, projects: list[Project], origin: date) -> None:
        self.origin = origin
        self.weeks: dict[tuple[int, int], list[Project]] = defaultdict(list)
        for p in projects:
            end = (p.end or p.start + timedelta(days=365)) - timedelta(days=BUCKET_DAYS)
            for week in range(self._week(p.start) + 1, self._week(end) + 1):
                self.weeks[(week, 0)].append(p)
                self.weeks[(week, p.legal_entity_id)].append(p)

    def _week(self, day: date) -> int:
        return (day - self.origin).days // BUCKET_DAYS

    def at(self, day: date, entity: int = 0) -> list[Project]:
        return self.weeks.get((self._week(day), entity), [])


def assignments(
    rng: random.Random,
    people: list[Employee],
    projects: list[Project],
    cards: dict[int, RateCard],
    contract_card: dict[int, int],
    history_start: date,
    today: date,
    *,
    tiny: bool,
) -> list[Assignment]:
    running = _Running(projects, history_start - timedelta(days=800))
    out: list[Assignment] = []
    for i, person in enumerate(people):
        if tiny:
            _tiny_chain(rng, out, person, i, projects, history_start)
        else:
            _chain(rng, out, person, running, history_start, today)
    priced = []
    by_id = {p.id: p for p in projects}
    for a in out:
        card = cards[contract_card[by_id[a.project_id].contract_id]]
        priced.append(_priced(rng, a, card, today))
    return priced


def _tiny_chain(
    rng: random.Random,
    out: list[Assignment],
    person: Employee,
    i: int,
    projects: list[Project],
    history_start: date,
) -> None:
    chosen = [projects[i % len(projects)]]
    others = [p for p in projects if p not in chosen and p.status == "active"]
    if others and rng.random() < 0.5:
        chosen.append(rng.choice(others))
    for project in chosen:
        _add(out, person, project, project.start, project.end)


def _chain(
    rng: random.Random,
    out: list[Assignment],
    person: Employee,
    running: _Running,
    history_start: date,
    today: date,
) -> None:
    moment = max(
        person.hire_date + timedelta(days=rng.randrange(0, 7)),
        history_start - timedelta(days=rng.randrange(0, 90)),
    )
    last = min(person.termination_date or today, today)
    taken: set[int] = set()
    while moment < last:
        length = timedelta(days=rng.randrange(60, 240))
        ends = _take(rng, out, person, running, moment, moment + length, taken)
        if ends is None:
            moment += timedelta(days=7)
            continue
        if rng.random() < 0.33:
            _take(rng, out, person, running, moment, moment + length / 2, taken)
        moment = ends + timedelta(days=1 + rng.choice((0, 0, 0, 3, 7, 14)))


def _take(
    rng: random.Random,
    out: list[Assignment],
    person: Employee,
    running: _Running,
    start: date,
    until: date,
    taken: set[int],
) -> date | None:
    entity = person.legal_entity_id if rng.random() < 0.85 else 0
    candidates = running.at(start, entity) or running.at(start)
    project = None
    for _ in range(8):  # a few draws; a person rarely meets the same project twice
        drawn = rng.choice(candidates) if candidates else None
        if drawn is not None and drawn.id not in taken:
            project = drawn
            break
    if project is None:
        return None
    ends = min(until, project.end or until)
    if person.termination_date:
        ends = min(ends, person.termination_date)
    taken.add(project.id)
    _add(out, person, project, max(start, project.start), ends)
    return ends


def _add(
    out: list[Assignment], person: Employee, project: Project, start: date, end: date | None
) -> None:
    out.append(
        Assignment(
            len(out) + 1,
            project.id,
            person.id,
            person.role,
            start,
            end,
            Decimal(0),
            None,
            project.created_at,
        )
    )


def _priced(rng: random.Random, a: Assignment, card: RateCard, today: date) -> Assignment:
    """Planned hours, a negotiated rate for one assignment in ten, and a creation stamp."""
    days = ((a.end or today) - a.start).days
    current = card.versions[-1].rates.get(a.role)
    override = None
    if current is not None and rng.random() < 0.1:
        override = (current * Decimal("0.95") / FIVE).quantize(Decimal(1)) * FIVE
    created = clamp(at(a.start - timedelta(days=2), 14), today)
    return Assignment(
        a.id,
        a.project_id,
        a.employee_id,
        a.role,
        a.start,
        a.end,
        Decimal(days * 5 // 7 * 8),
        override,
        max(created, a.updated_at),
    )
