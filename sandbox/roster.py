"""The people and contracts of the sandbox firm: consultants, clients with rate cards,
projects and user assignments, drawn from a seeded ``random.Random``.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

ROLES = ("Partner", "Senior Consultant", "Consultant", "Analyst")
BASE_RATES = {"Partner": 300, "Senior Consultant": 220, "Consultant": 160, "Analyst": 110}
COST_RATES = {"Partner": 150, "Senior Consultant": 105, "Consultant": 75, "Analyst": 50}
WEEKLY_CAPACITY_HOURS = 40

# fmt: off
_FIRST = ("Ava", "Ben", "Chloe", "Daniel", "Elena", "Farid", "Grace", "Hugo", "Isla", "Jonas",
          "Keiko", "Liam", "Maya", "Noah", "Olga", "Priya", "Rosa", "Samir", "Tara", "Viktor")
_LAST = ("Archer", "Bianchi", "Chen", "Dubois", "Evans", "Fischer", "Garcia", "Hughes", "Ito",
         "Jensen", "Kowalski", "Larsen", "Moreau", "Nakamura", "Okafor", "Patel")
# fmt: on
_CLIENTS = (
    ("Acme Industrial", "ACME"),
    ("Globex Logistics", "GLBX"),
    ("Initech Software", "INIT"),
    ("Umbrella Health", "UMBR"),
    ("Stark Energy", "STRK"),
    ("Wayne Foods", "WAYN"),
    ("Hooli Media", "HOOL"),
    ("Tyrell Biotech", "TYRL"),
)
_ENGAGEMENTS = (
    "Operating Model Review",
    "Cost Transformation",
    "Data Strategy",
    "ERP Selection",
    "Pricing Study",
    "Supply Chain Diagnostic",
)
_RATE_FACTORS = (Decimal("0.9"), Decimal("1.0"), Decimal("1.1"), Decimal("1.2"))


@dataclass(frozen=True)
class Consultant:
    """A person who logs time (a Harvest user)."""

    id: int
    first_name: str
    last_name: str
    email: str
    role: str
    cost_rate: Decimal
    default_rate: Decimal
    created_at: datetime
    weekly_capacity_hours: int = WEEKLY_CAPACITY_HOURS

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass(frozen=True)
class Client:
    """A customer company with its currency, rate card and Xero contact."""

    id: int
    name: str
    code: str
    currency: str
    rate_card: dict[str, Decimal]
    xero_contact_id: str
    created_at: datetime


@dataclass(frozen=True)
class Project:
    """A Harvest project: the contract that plan2cash invoices per calendar month."""

    id: int
    client_id: int
    name: str
    code: str
    is_active: bool
    starts_on: date
    ends_on: date | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Task:
    id: int
    name: str
    created_at: datetime


@dataclass(frozen=True)
class Assignment:
    """A consultant on a project, billed at the client's rate card rate for their role."""

    id: int
    user_id: int
    project_id: int
    hourly_rate: Decimal
    created_at: datetime


@dataclass(frozen=True)
class TaskAssignment:
    id: int
    project_id: int
    task_id: int
    created_at: datetime


def at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


def consultants(rng: random.Random, count: int, origin: datetime) -> list[Consultant]:
    roles = [ROLES[i] if i < len(ROLES) else rng.choice(ROLES[1:]) for i in range(count)]
    people = []
    for i, role in enumerate(roles):
        first, last = rng.choice(_FIRST), _LAST[(i + rng.randrange(len(_LAST))) % len(_LAST)]
        email = f"{first}.{last}{i + 1}@meridian-advisory.example".lower()
        people.append(
            Consultant(
                1782959 + i,
                first,
                last,
                email,
                role,
                Decimal(COST_RATES[role]),
                Decimal(BASE_RATES[role]),
                origin + timedelta(days=i, minutes=rng.randrange(600)),
            )
        )
    return people


def clients(rng: random.Random, count: int, origin: datetime) -> list[Client]:
    foreign = rng.randrange(1, count) if count > 1 else -1
    foreign_currency = rng.choice(("GBP", "EUR"))
    companies = []
    for i in range(count):
        name, code = _CLIENTS[i % len(_CLIENTS)]
        if i >= len(_CLIENTS):
            name, code = f"{name} {i // len(_CLIENTS) + 1}", f"{code}{i // len(_CLIENTS) + 1}"
        factor = rng.choice(_RATE_FACTORS)
        card = {
            role: (Decimal(base) * factor / 5).quantize(Decimal(1)) * 5
            for role, base in BASE_RATES.items()
        }
        contact = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        currency = foreign_currency if i == foreign else "USD"
        companies.append(
            Client(
                5735774 + i, name, code, currency, card, contact, origin + timedelta(days=20 + i)
            )
        )
    return companies


def projects(rng: random.Random, companies: list[Client], today: date, weeks: int) -> list[Project]:
    projects: list[Project] = []
    window_start = today - timedelta(days=7 * weeks)
    for client in companies:
        for k in range(1, rng.choice((1, 2)) + 1):
            starts = window_start - timedelta(days=rng.randrange(30, 200))
            created = at(starts - timedelta(days=3), 10)
            name = f"{client.name.split()[0]} {rng.choice(_ENGAGEMENTS)}"
            projects.append(
                Project(
                    14307913 + len(projects),
                    client.id,
                    name,
                    f"{client.code}-{k:02d}",
                    True,
                    starts,
                    None,
                    created,
                    created,
                )
            )
    # One engagement has closed some weeks ago: archived, with an end date in the past.
    closed = projects[-1] if len(projects) > 1 else projects[0]
    ends = today - timedelta(days=7 * max(2, min(3, weeks // 2)))
    projects[projects.index(closed)] = Project(
        closed.id,
        closed.client_id,
        closed.name,
        closed.code,
        False,
        closed.starts_on,
        ends,
        closed.created_at,
        at(ends + timedelta(days=1), 11),
    )
    return projects


def assignments(
    rng: random.Random, people: list[Consultant], companies: list[Client], projects: list[Project]
) -> list[Assignment]:
    cards = {c.id: c.rate_card for c in companies}
    links: list[Assignment] = []
    for i, person in enumerate(people):
        chosen = [projects[i % len(projects)]]
        others = [p for p in projects if p not in chosen]
        if others and rng.random() < 0.5:
            chosen.append(rng.choice(others))
        for project in chosen:
            rate = cards[project.client_id][person.role]
            created = project.created_at + timedelta(hours=1 + len(links))
            links.append(Assignment(125068553 + len(links), person.id, project.id, rate, created))
    return links
