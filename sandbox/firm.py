"""A small, deterministic professional services firm: the ground truth behind the emulators.

``build_firm(seed)`` makes consultants, clients with rate cards, projects, user assignments and
weeks of weekday time, plus a handful of labelled data-quality faults. The emulators serve this
firm in vendor shapes; tests compare what plan2cash computes with ``Firm.expected_invoices()``.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sandbox import roster, timesheets
from sandbox.roster import (
    BASE_RATES,
    COST_RATES,
    ROLES,
    Assignment,
    Client,
    Consultant,
    Project,
    Task,
    TaskAssignment,
)

FIRM_NAME = "Meridian Advisory"
XERO_TENANT_ID = "3f9c2a71-5b0e-4c8d-9a6f-1e2d3c4b5a60"
CENT = Decimal("0.01")


@dataclass
class Firm:
    """Everything the sandbox knows; time entries are plain dicts (see ``sandbox.timesheets``)."""

    name: str
    seed: int
    today: date
    weeks: int
    consultants: list[Consultant]
    clients: list[Client]
    projects: list[Project]
    tasks: list[Task]
    assignments: list[Assignment]
    task_assignments: list[TaskAssignment]
    time_entries: list[dict[str, Any]] = field(default_factory=list)
    faults: dict[int, str] = field(default_factory=dict)
    unknown_project_id: int = 0
    xero_tenant_id: str = XERO_TENANT_ID

    def __post_init__(self) -> None:
        self.consultant_by_id = {c.id: c for c in self.consultants}
        self.client_by_id = {c.id: c for c in self.clients}
        self.project_by_id = {p.id: p for p in self.projects}
        self.task_by_id = {t.id: t for t in self.tasks}
        self.assignment_by_pair = {(a.user_id, a.project_id): a for a in self.assignments}
        self.task_assignment_by_pair = {(t.project_id, t.task_id): t for t in self.task_assignments}

    @property
    def tenant_name(self) -> str:
        return f"{self.name} Ltd"

    @property
    def window_start(self) -> date:
        return self.today - timedelta(days=7 * self.weeks)

    def xero_contacts(self) -> list[dict[str, Any]]:
        """The contacts the Xero organisation starts with: one customer per client."""
        return [
            {
                "ContactID": c.xero_contact_id,
                "Name": c.name,
                "ContactStatus": "ACTIVE",
                "IsCustomer": True,
                "IsSupplier": False,
                "DefaultCurrency": c.currency,
            }
            for c in self.clients
        ]

    def expected_invoices(self) -> list[dict[str, Any]]:
        """Per project and ended calendar month: approved billable valid hours × assignment rate."""
        hours: dict[tuple[int, date], Decimal] = defaultdict(Decimal)
        money: dict[tuple[int, date], Decimal] = defaultdict(Decimal)
        for entry in self.time_entries:
            if entry["id"] in self.faults or not entry["is_closed"] or not entry["billable"]:
                continue
            spent: date = entry["spent_date"]
            start = spent.replace(day=1)
            if _month_end(start) >= self.today:
                continue
            assignment = self.assignment_by_pair[(entry["user_id"], entry["project_id"])]
            worked = Decimal(entry["hours"])
            hours[(entry["project_id"], start)] += worked
            money[(entry["project_id"], start)] += worked * assignment.hourly_rate
        rows = []
        for (project_id, start), total in money.items():
            project = self.project_by_id[project_id]
            client = self.client_by_id[project.client_id]
            rows.append(
                {
                    "project_code": project.code,
                    "client_name": client.name,
                    "currency": client.currency,
                    "period_start": start,
                    "hours": hours[(project_id, start)],
                    "total": total.quantize(CENT, rounding=ROUND_HALF_UP),
                }
            )
        return sorted(rows, key=lambda r: (r["period_start"], r["project_code"]))


def _month_end(first: date) -> date:
    following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return following - timedelta(days=1)


def build_firm(
    seed: int = 7,
    *,
    today: date | None = None,
    weeks: int = 8,
    consultants: int = 8,
    clients: int = 4,
    extra_entries: int = 0,
) -> Firm:
    """A deterministic firm: the same seed and ``today`` always give the same firm."""
    if weeks < 1 or consultants < 1 or clients < 1 or extra_entries < 0:
        raise ValueError("weeks, consultants and clients must be positive")
    today = today or date.today()
    rng = random.Random(seed)
    origin = roster.at(today - timedelta(days=7 * weeks + 400), 9)
    people = roster.consultants(rng, consultants, origin)
    companies = roster.clients(rng, clients, origin)
    projects = roster.projects(rng, companies, today, weeks)
    tasks = [Task(8083365, "Consulting", origin), Task(8083366, "Analysis", origin)]
    task_links = [
        TaskAssignment(155502709 + 2 * i + k, p.id, t.id, p.created_at)
        for i, p in enumerate(projects)
        for k, t in enumerate(tasks)
    ]
    firm = Firm(
        FIRM_NAME,
        seed,
        today,
        weeks,
        people,
        companies,
        projects,
        tasks,
        roster.assignments(rng, people, companies, projects),
        task_links,
    )
    timesheets.fill(firm, rng, extra_entries=extra_entries)
    return firm


__all__ = [
    "BASE_RATES",
    "COST_RATES",
    "FIRM_NAME",
    "ROLES",
    "XERO_TENANT_ID",
    "Assignment",
    "Client",
    "Consultant",
    "Firm",
    "Project",
    "Task",
    "TaskAssignment",
    "build_firm",
]
