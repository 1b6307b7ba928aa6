"""The sandbox firm in Harvest v2 record shapes (spec schemas TimeEntry, Project, User, Client,
UserAssignment). Nested references are built once and shared, so a page of 2,000 entries costs
one dict per entry.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sandbox.firm import Assignment, Client, Consultant, Firm, Project

Record = dict[str, Any]


def iso(moment: datetime) -> str:
    """Harvest timestamps: ISO 8601, UTC, whole seconds, ``Z``."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class HarvestRecords:
    """Renders firm objects and time-entry dicts as Harvest JSON records."""

    def __init__(self, firm: Firm) -> None:
        self.firm = firm
        self._users = {c.id: {"id": c.id, "name": c.name} for c in firm.consultants}
        self._clients = {
            c.id: {"id": c.id, "name": c.name, "currency": c.currency} for c in firm.clients
        }
        self._projects = {p.id: {"id": p.id, "name": p.name, "code": p.code} for p in firm.projects}
        self._tasks = {t.id: {"id": t.id, "name": t.name} for t in firm.tasks}
        self._user_links = {
            pair: self._nested_assignment(a) for pair, a in firm.assignment_by_pair.items()
        }
        self._task_links = {
            pair: {
                "id": t.id,
                "billable": True,
                "is_active": True,
                "created_at": iso(t.created_at),
                "updated_at": iso(t.created_at),
                "hourly_rate": None,
                "budget": None,
            }
            for pair, t in firm.task_assignment_by_pair.items()
        }
        self._cost = {c.id: float(c.cost_rate) for c in firm.consultants}

    @staticmethod
    def _nested_assignment(a: Assignment) -> Record:
        return {
            "id": a.id,
            "is_project_manager": False,
            "is_active": True,
            "use_default_rates": False,
            "budget": None,
            "created_at": iso(a.created_at),
            "updated_at": iso(a.created_at),
            "hourly_rate": float(a.hourly_rate),
        }

    def has_project(self, project_id: int) -> bool:
        return project_id in self._projects

    def time_entry(self, e: Record) -> Record:
        user_link = self._user_links.get((e["user_id"], e["project_id"]))
        project = self._projects.get(e["project_id"]) or {
            "id": e["project_id"],
            "name": f"Project {e['project_id']}",
            "code": None,
        }
        hours = e["hours"]
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
            "invoice": None,
            "hours": hours,
            "hours_without_timer": hours,
            "rounded_hours": hours,
            "notes": e["notes"],
            "is_locked": e["is_locked"],
            "locked_reason": e["locked_reason"],
            "is_closed": e["is_closed"],
            "is_billed": e["is_billed"],
            "timer_started_at": None,
            "started_time": None,
            "ended_time": None,
            "is_running": False,
            "billable": e["billable"],
            "budgeted": True,
            "billable_rate": user_link["hourly_rate"] if user_link and e["billable"] else None,
            "cost_rate": self._cost.get(e["user_id"]),
            "created_at": iso(e["created_at"]),
            "updated_at": iso(e["updated_at"]),
        }

    def user(self, c: Consultant) -> Record:
        return {
            "id": c.id,
            "first_name": c.first_name,
            "last_name": c.last_name,
            "email": c.email,
            "telephone": "",
            "timezone": "Eastern Time (US & Canada)",
            "has_access_to_all_future_projects": False,
            "is_contractor": False,
            "is_active": True,
            "weekly_capacity": c.weekly_capacity_hours * 3600,
            "default_hourly_rate": float(c.default_rate),
            "cost_rate": float(c.cost_rate),
            "roles": [c.role],
            "access_roles": ["member"],
            "avatar_url": "https://d3s3969qhosaug.cloudfront.net/v2/user.png",
            "created_at": iso(c.created_at),
            "updated_at": iso(c.created_at),
        }

    def client(self, c: Client) -> Record:
        return {
            "id": c.id,
            "name": c.name,
            "is_active": True,
            "address": None,
            "statement_key": f"sk{c.id}",
            "currency": c.currency,
            "created_at": iso(c.created_at),
            "updated_at": iso(c.created_at),
        }

    def project(self, p: Project) -> Record:
        client = self._clients[p.client_id]
        return {
            "id": p.id,
            "client": client,
            "name": p.name,
            "code": p.code,
            "is_active": p.is_active,
            "is_billable": True,
            "is_fixed_fee": False,
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
            "fee": None,
            "notes": "",
            "starts_on": p.starts_on.isoformat(),
            "ends_on": p.ends_on.isoformat() if p.ends_on else None,
            "created_at": iso(p.created_at),
            "updated_at": iso(p.updated_at),
        }

    def user_assignment(self, a: Assignment) -> Record:
        return {
            **self._nested_assignment(a),
            "project": self._projects[a.project_id],
            "user": self._users[a.user_id],
        }
