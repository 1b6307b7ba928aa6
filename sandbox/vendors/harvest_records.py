"""The world in Harvest v2 record shapes (spec schemas TimeEntry, Project, User, Client,
UserAssignment, TaskAssignment). Nested references are built once and shared, so a
page of 2,000 entries costs one dict per entry. Clients, projects and user assignments that API
clients create are ``adopt``ed, so time entries on them render like any other.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sandbox.clock import utc_text
from sandbox.vendors.harvest_projection import (
    LOCKED_REASON,
    HarvestProjection,
    UserLink,
)
from sandbox.world.model import Customer, Employee, Project
from sandbox.world.org import at

Record = dict[str, Any]


def iso(moment: datetime) -> str:
    """Harvest timestamps: ISO 8601, UTC, whole seconds, ``Z``."""
    return utc_text(moment)


class HarvestRecords:
    """Renders the projection's objects and time-entry rows as Harvest JSON records."""

    def __init__(self, view: HarvestProjection) -> None:
        self.view = view
        self._users = {u.id: {"id": u.id, "name": u.name} for u in view.users}
        self._clients = {
            c.id: {"id": c.id, "name": c.name, "currency": c.currency} for c in view.clients
        }
        self._project_clients = {
            p.id: {**self._clients[p.customer_id], "currency": p.currency} for p in view.projects
        }
        self._projects = {p.id: {"id": p.id, "name": p.name, "code": p.code} for p in view.projects}
        self._tasks = {t.id: {"id": t.id, "name": t.name} for t in view.tasks}
        self._user_links = {
            (u.user_id, u.project_id): self._nested_assignment(u) for u in view.user_links
        }
        self._task_links: dict[tuple[int, int], Record] = {}
        for p in view.projects:
            self._link_default_tasks(p.id, iso(p.created_at))
        self._client_of: dict[int, int] = {}
        self._cost = {u.id: float(u.cost_rate) for u in view.users}
        self._numbers = {i.id: i.number for i in view.world.invoices}

    @staticmethod
    def _nested_assignment(u: UserLink) -> Record:
        return {
            "id": u.id,
            "is_project_manager": False,
            "is_active": True,
            "use_default_rates": False,
            "budget": None,
            "created_at": iso(u.created_at),
            "updated_at": iso(u.updated_at),
            "hourly_rate": float(u.hourly_rate) if u.hourly_rate is not None else None,
        }

    def has_project(self, project_id: int) -> bool:
        return project_id in self._projects

    def has_task(self, task_id: int) -> bool:
        return task_id in self._tasks

    def has_user(self, user_id: int) -> bool:
        return user_id in self._users

    def client_of(self, project_id: int) -> int:
        project = self.view.project_by_id.get(project_id)
        if project is None:
            return self._client_of.get(project_id, self.view.fallback_client)
        return project.customer_id

    def _link_default_tasks(self, project_id: int, created_at: str) -> None:
        """Harvest assigns every default task to a new project."""
        for k, t in enumerate(self.view.tasks):
            self._task_links[(project_id, t.id)] = {
                "id": project_id * 10 + k,
                "billable": True,
                "is_active": True,
                "created_at": created_at,
                "updated_at": created_at,
                "hourly_rate": None,
                "budget": None,
            }

    # --- records API clients created --------------------------------------------------------

    def client_ref(self, client_id: int) -> Record | None:
        return self._clients.get(client_id)

    def is_assigned(self, user_id: int, project_id: int) -> bool:
        return (user_id, project_id) in self._user_links

    def adopt_client(self, client: Record) -> None:
        self._clients[client["id"]] = {k: client[k] for k in ("id", "name", "currency")}

    def adopt_project(self, project: Record) -> None:
        project_id = project["id"]
        self._projects[project_id] = {k: project[k] for k in ("id", "name", "code")}
        self._project_clients[project_id] = project["client"]
        self._client_of[project_id] = project["client"]["id"]
        self._link_default_tasks(project_id, project["created_at"])

    def adopt_user_assignment(self, assignment: Record) -> None:
        nested = {k: v for k, v in assignment.items() if k not in ("project", "user")}
        self._user_links[(assignment["user"]["id"], assignment["project"]["id"])] = nested

    def user_link(self, user_id: int, project_id: int) -> Record | None:
        return self._user_links.get((user_id, project_id))

    def invoice_ref(self, invoice_id: int | None) -> Record | None:
        if invoice_id is None:
            return None
        return {"id": invoice_id, "number": self._numbers.get(invoice_id)}

    def user_ref(self, user_id: int) -> Record:
        return self._users[user_id]

    def project_ref(self, project_id: int) -> Record:
        return self._projects[project_id]

    def time_entry(self, e: Record) -> Record:
        user_link = self._user_links.get((e["user_id"], e["project_id"]))
        project = self._projects.get(e["project_id"]) or {
            "id": e["project_id"],
            "name": f"Project {e['project_id']}",
            "code": None,
        }
        hours = e["hours"]
        closed = e["is_closed"]
        invoice_id = e.get("invoice_id")
        rate = user_link["hourly_rate"] if user_link and e["billable"] else None
        return {
            "id": e["id"],
            "spent_date": e["spent_date"].isoformat(),
            "user": self._users[e["user_id"]],
            "user_assignment": user_link,
            "client": self._clients[e["client_id"]],
            "project": project,
            "task": self._tasks[e["task_id"]],
            "task_assignment": self._task_links.get((e["project_id"], e["task_id"])),
            "external_reference": None,
            "invoice": {"id": invoice_id, "number": self._numbers.get(invoice_id)}
            if invoice_id is not None
            else None,
            "hours": hours,
            "hours_without_timer": hours,
            "rounded_hours": hours,
            "notes": e["notes"],
            "is_locked": e.get("is_locked", closed),
            "locked_reason": e.get("locked_reason", LOCKED_REASON if closed else None),
            "is_closed": closed,
            "is_billed": e["is_billed"],
            "timer_started_at": None,
            "started_time": None,
            "ended_time": None,
            "is_running": False,
            "billable": e["billable"],
            "budgeted": True,
            "billable_rate": rate,
            "cost_rate": self._cost.get(e["user_id"]),
            "created_at": iso(e["created_at"]),
            "updated_at": iso(e["updated_at"]),
        }

    def user(self, u: Employee) -> Record:
        return {
            "id": u.id,
            "first_name": u.first_name,
            "last_name": u.last_name,
            "email": u.email,
            "telephone": "",
            "timezone": "Eastern Time (US & Canada)",
            "has_access_to_all_future_projects": False,
            "is_contractor": False,
            "is_active": self.view.is_active_user(u),
            "weekly_capacity": int(u.weekly_capacity_hours * 3600),
            "default_hourly_rate": float(self.view.standard_rate(u)),
            "cost_rate": float(u.cost_rate),
            "roles": [u.role],
            "access_roles": ["member"],
            "avatar_url": "https://d3s3969qhosaug.cloudfront.net/v2/user.png",
            "created_at": iso(_hired(u)),
            "updated_at": iso(max(u.updated_at, _hired(u))),
        }

    def client(self, c: Customer) -> Record:
        return {
            "id": c.id,
            "name": c.name,
            "is_active": True,
            "address": None,
            "statement_key": f"sk{c.id}",
            "currency": c.currency,
            "created_at": iso(c.created_at),
            "updated_at": iso(c.updated_at),
        }

    def project(self, p: Project) -> Record:
        contract = self.view.world.contracts[p.contract_id - 1]
        fixed = contract.billing_model == "fixed-fee"
        return {
            "id": p.id,
            "client": self._project_clients[p.id],
            "name": p.name,
            "code": p.code,
            "is_active": p.status == "active",
            "is_billable": True,
            "is_fixed_fee": fixed,
            "bill_by": "People",
            "hourly_rate": None,
            "budget": None,
            "budget_by": "none",
            "budget_is_monthly": False,
            "notify_when_over_budget": False,
            "over_budget_notification_percentage": 80.0,
            "over_budget_notification_date": None,
            "show_budget_to_all": False,
            "cost_budget": None,
            "cost_budget_include_expenses": False,
            "fee": float(contract.fee) if fixed and contract.fee is not None else None,
            "notes": "",
            "starts_on": p.start.isoformat(),
            "ends_on": p.end.isoformat() if p.end else None,
            "created_at": iso(p.created_at),
            "updated_at": iso(p.updated_at),
        }

    def user_assignment(self, u: UserLink) -> Record:
        return {
            **self._nested_assignment(u),
            "project": self._projects[u.project_id],
            "user": self._users[u.user_id],
        }

    def task_assignments(self) -> list[Record]:
        return [
            {**link, "project": self._projects[project_id], "task": self._tasks[task_id]}
            for (project_id, task_id), link in self._task_links.items()
        ]


def _hired(u: Employee) -> datetime:
    return at(u.hire_date, 8)
