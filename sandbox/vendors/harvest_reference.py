"""Harvest's reference lists as records: clients, projects, users, tasks, user and task
assignments, expenses; the world's, plus what API clients created through the emulator.

Lists are rendered once per world (and again after a create touches them), newest first: by
``created_at`` for the reference lists, by ``spent_date`` for expenses (as Harvest sorts them).
Created records survive ``rebase`` (the clock moved the world) and are adopted into the new
``HarvestRecords``, so time entries on a created project render like any other. Their ids start
at ``CREATED_BASE``, far above the world's, so a world that grows never reuses one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from sandbox.vendors.harvest_projection import HarvestProjection, Task
from sandbox.vendors.harvest_records import HarvestRecords, Record, iso
from sandbox.world import catalog
from sandbox.world.model import Expense
from sandbox.world.org import at

CREATED_BASE = 5_000_000
EXPENSE_CATEGORY_BASE = 4195926
EXPENSE_LOCKED = "Item Approved and Locked for this Time Period"
CREATED = ("clients", "projects", "user_assignments")
# which lists a create changes (a new project brings its default task assignments)
TOUCHES = {
    "clients": ("clients",),
    "projects": ("projects", "task_assignments"),
    "user_assignments": ("user_assignments",),
}


class ReferenceLists:
    """Rendered lists per collection; thread-safe."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.created: dict[str, list[Record]] = {name: [] for name in CREATED}
        self._issued = 0
        self._cache: dict[str, list[Record]] = {}

    def rebase(self, view: HarvestProjection, records: HarvestRecords) -> None:
        """Render from a new projection; records created earlier are kept and adopted."""
        with self.lock:
            self.view, self.records = view, records
            self._cache = {}
            for client in self.created["clients"]:
                records.adopt_client(client)
            for project in self.created["projects"]:
                records.adopt_project(project)
            for assignment in self.created["user_assignments"]:
                records.adopt_user_assignment(assignment)

    def next_id(self) -> int:
        with self.lock:
            self._issued += 1
            return CREATED_BASE + self._issued

    def add(self, collection: str, record: Record) -> None:
        """Keep a record an API client created; it shows in its lists from now on."""
        adopt: dict[str, Callable[[Record], None]] = {
            "clients": self.records.adopt_client,
            "projects": self.records.adopt_project,
            "user_assignments": self.records.adopt_user_assignment,
        }
        with self.lock:
            self.created[collection].append(record)
            adopt[collection](record)
            for touched in TOUCHES[collection]:
                self._cache.pop(touched, None)

    def rendered(self, collection: str) -> list[Record]:
        """Every record of ``collection``, newest first."""
        with self.lock:
            cached = self._cache.get(collection)
            if cached is None:
                items = self._render(collection)
                if collection == "expenses":
                    cached = sorted(items, key=lambda r: (r["spent_date"], r["id"]), reverse=True)
                else:
                    cached = sorted(items, key=lambda r: (r["created_at"], r["id"]), reverse=True)
                self._cache[collection] = cached
            return cached

    def _render(self, collection: str) -> list[Record]:
        r, v = self.records, self.view
        made = self.created.get(collection, [])
        if collection == "clients":
            return [*(r.client(c) for c in v.clients), *made]
        if collection == "projects":
            return [*(r.project(p) for p in v.projects), *made]
        if collection == "user_assignments":
            return [*(r.user_assignment(u) for u in v.user_links), *made]
        if collection == "users":
            return [r.user(u) for u in v.users]
        if collection == "tasks":
            return [task_record(t) for t in v.tasks]
        if collection == "task_assignments":
            return r.task_assignments()
        if collection == "expenses":
            return [expense_record(r, e) for e in v.world.expenses]
        raise KeyError(collection)

    def find(self, collection: str, record_id: int) -> Record | None:
        return next((x for x in self.rendered(collection) if x["id"] == record_id), None)


def task_record(t: Task) -> Record:
    return {
        "id": t.id,
        "name": t.name,
        "billable_by_default": True,
        "default_hourly_rate": None,
        "is_default": True,
        "is_active": True,
        "created_at": iso(t.created_at),
        "updated_at": iso(t.created_at),
    }


def expense_record(records: HarvestRecords, e: Expense) -> Record:
    """An expense as Harvest shows it: closed once approved, locked once approved or billed."""
    billed = e.invoice_id is not None
    locked = e.approved or billed
    project = records.view.project_by_id[e.project_id]
    client = records.client_ref(project.customer_id) or {"id": project.customer_id, "name": ""}
    return {
        "id": e.id,
        "client": {**client, "currency": e.currency},
        "project": records.project_ref(e.project_id),
        "expense_category": {
            "id": EXPENSE_CATEGORY_BASE + catalog.EXPENSE_CATEGORIES.index(e.category),
            "name": e.category,
            "unit_price": None,
            "unit_name": None,
        },
        "user": records.user_ref(e.employee_id),
        "user_assignment": records.user_link(e.employee_id, e.project_id),
        "receipt": None,
        "invoice": records.invoice_ref(e.invoice_id),
        "notes": f"{e.category}, {project.code}",
        "units": 1,
        "total_cost": float(e.amount),
        "billable": e.billable,
        "is_closed": e.approved,
        "is_locked": locked,
        "is_billed": billed,
        "locked_reason": EXPENSE_LOCKED if locked else None,
        "spent_date": e.spent_date.isoformat(),
        "created_at": iso(min(at(e.spent_date, 18), e.updated_at)),
        "updated_at": iso(e.updated_at),
    }
