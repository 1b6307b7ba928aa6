"""The firm's organisation: legal entities, regions, practices, customers and people.

People are drawn at the start of the history and then age: each month some leave (a termination
date) and are replaced by a hire a few weeks later, so headcount stays near ``consultants``.
"""

from __future__ import annotations

import random
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sandbox.world import catalog
from sandbox.world.model import Customer, Employee, LegalEntity, Practice, Region
from sandbox.world.sizes import Shape

ENTITY_WEIGHTS = (0.6, 0.25, 0.15, 0.1)


def at(day: date, hour: int = 9, minute: int = 0) -> datetime:
    """A UTC timestamp on ``day``."""
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)


@dataclass(frozen=True)
class Organisation:
    legal_entities: list[LegalEntity]
    regions: list[Region]
    practices: list[Practice]


def organisation(seed: int, shape: Shape) -> Organisation:
    entities: list[LegalEntity] = []
    regions: list[Region] = []
    for number, (country, currency, suffix, region_names) in enumerate(
        catalog.ENTITIES[: shape.entities], start=1
    ):
        tenant = uuid.uuid5(uuid.NAMESPACE_URL, f"plan2cash-sandbox:{seed}:entity:{number}")
        name = f"{catalog.FIRM_NAME} {suffix}" if number > 1 else f"{catalog.FIRM_NAME} Ltd"
        erp = shape.erps[(number - 1) % len(shape.erps)]
        entities.append(LegalEntity(number, name, country, currency, str(tenant), erp))
        for region_name in region_names:
            regions.append(Region(len(regions) + 1, region_name, country, number))
    practices = [Practice(i + 1, name) for i, name in enumerate(catalog.PRACTICES)]
    return Organisation(entities, regions, practices)


def customers(
    rng: random.Random, shape: Shape, org: Organisation, history_start: date
) -> list[Customer]:
    names: Counter[str] = Counter()
    codes: Counter[str] = Counter()
    out: list[Customer] = []
    weights = ENTITY_WEIGHTS[: len(org.legal_entities)]
    for i in range(shape.customers):
        stem, code = catalog.CUSTOMER_STEMS[i % len(catalog.CUSTOMER_STEMS)]
        kind = catalog.CUSTOMER_KINDS[(i + i // len(catalog.CUSTOMER_STEMS)) % 8]
        name = f"{stem} {kind}"
        names[name] += 1
        codes[code] += 1
        if names[name] > 1:
            name = f"{name} {names[name]}"
        if codes[code] > 1:
            code = f"{code}{codes[code]}"
        entity = rng.choices(org.legal_entities, weights)[0]
        if len(shape.erps) > 1 and i < len(org.legal_entities):
            entity = org.legal_entities[i]  # a firm on several ERPs: books for each to keep
        region = rng.choice([r for r in org.regions if r.legal_entity_id == entity.id])
        siblings = [c for c in out if c.legal_entity_id == entity.id and c.parent_id is None]
        parent = (
            rng.choice(siblings).id
            if siblings and shape.size != "tiny" and rng.random() < 0.15
            else None
        )
        terms = rng.choice((30, 30, 45, 60))
        late = rng.choice((-5.0, 0.0, 5.0, 10.0, 20.0, 45.0))
        created = at(history_start - timedelta(days=rng.randrange(60, 900)), 10)
        out.append(
            Customer(
                i + 1,
                name,
                code,
                parent,
                rng.choice(catalog.INDUSTRIES),
                region.id,
                entity.id,
                entity.currency,
                terms,
                terms + late,
                created,
                created,
            )
        )
    return out


def employees(
    rng: random.Random, shape: Shape, org: Organisation, history_start: date, today: date
) -> list[Employee]:
    """The people at the start of the history, their leavers and the hires that replace them."""
    roles = _roles(rng, shape.consultants)
    people: list[Employee] = []
    for role in roles:
        hired = history_start - timedelta(days=rng.randrange(30, 2500))
        people.append(_person(rng, len(people) + 1, role, None, hired, org))
    for i in range(len(people)):  # people joining and leaving over the window
        person = people[i]
        if shape.turnover_per_month <= 0:
            continue
        leave = _leave_date(rng, shape, max(person.hire_date, history_start), today)
        if leave is None:
            continue
        people[i] = _with_termination(person, leave)
        start = leave + timedelta(days=rng.randrange(14, 60))
        if start < today:
            template = people[i]
            people.append(_person(rng, len(people) + 1, template.role, template, start, org))
    return _with_managers(rng, people)


def _roles(rng: random.Random, count: int) -> list[str]:
    roles = [catalog.ROLES[i] for i in range(min(count, len(catalog.ROLES)))]
    roles += rng.choices(catalog.ROLES, catalog.ROLE_SHARES, k=count - len(roles))
    return roles


def _leave_date(rng: random.Random, shape: Shape, start: date, today: date) -> date | None:
    months = (today - start).days / 30.44
    if rng.random() >= 1 - (1 - shape.turnover_per_month) ** months:
        return None
    return start + timedelta(days=rng.randrange(max(1, (today - start).days)))


def _person(
    rng: random.Random,
    number: int,
    role: str,
    like: Employee | None,
    hired: date,
    org: Organisation,
) -> Employee:
    first, last = rng.choice(catalog.FIRST_NAMES), rng.choice(catalog.LAST_NAMES)
    region = (
        next(r for r in org.regions if r.id == like.region_id) if like else rng.choice(org.regions)
    )
    currency = org.legal_entities[region.legal_entity_id - 1].currency
    cost = Decimal(catalog.COST_RATES_USD[role]) * catalog.FX_FROM_USD[currency]
    return Employee(
        id=number,
        first_name=first,
        last_name=last,
        email=f"{first}.{last}{number}@meridian-advisory.example".lower(),
        role=role,
        practice_id=like.practice_id if like else rng.choice(org.practices).id,
        region_id=region.id,
        legal_entity_id=region.legal_entity_id,
        manager_id=None,
        hire_date=hired,
        termination_date=None,
        cost_rate=cost.quantize(Decimal("0.01")),
        weekly_capacity_hours=Decimal(32 if rng.random() < 0.08 and role != "Partner" else 40),
        updated_at=at(hired, 8),
    )


def _with_termination(person: Employee, leave: date) -> Employee:
    fields = {**person.__dict__, "termination_date": leave, "updated_at": at(leave, 17)}
    return Employee(**fields)


def _with_managers(rng: random.Random, people: list[Employee]) -> list[Employee]:
    """Everyone but partners reports to a partner of their practice (or any partner)."""
    partners = [p for p in people if p.role == "Partner"]
    out = []
    for person in people:
        if person.role == "Partner" or not partners:
            out.append(person)
            continue
        same = [p for p in partners if p.practice_id == person.practice_id] or partners
        out.append(Employee(**{**person.__dict__, "manager_id": rng.choice(same).id}))
    return out


def clamp(moment: datetime, today: date) -> datetime:
    """``moment``, or late yesterday if it would lie in the future (history ends yesterday)."""
    return min(moment, at(today - timedelta(days=1), 23))
