"""Harvest API v2 emulator: time entries, expenses, projects, users, clients, tasks and
assignments; creates clients, projects and user assignments.

Auth as Harvest: ``Authorization: Bearer``, ``Harvest-Account-Id`` and a ``User-Agent`` (400
without one, 401 with a bad token or account). 100 requests per 15 s per token (window times
``time_scale``), then 429 with ``Retry-After``. Lists use the spec envelope (``sandbox.vendors.
paging``); time entries and expenses page by number, newest ``spent_date`` first; the reference
lists also hand out cursor links. Tests and the demo change the data through ``edit_entry``,
``add_entry``, ``delete_entry`` and ``approve_entry``; API clients through the create routes
(``sandbox.vendors.harvest_writes``), whose records show in the lists with a fresh
``updated_at``.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.clock import utc_now
from sandbox.vendors.harvest_entries import EntryStore
from sandbox.vendors.harvest_gate import HarvestGate
from sandbox.vendors.harvest_gate import error as _error
from sandbox.vendors.harvest_params import (
    EDITABLE,
    entry_changes,
    parse_filters,
    read_body,
    record_matches,
)
from sandbox.vendors.harvest_projection import ENTRY_COLUMNS, HarvestProjection
from sandbox.vendors.harvest_records import HarvestRecords, Record
from sandbox.vendors.harvest_reference import ReferenceLists
from sandbox.vendors.harvest_writes import Provisioning
from sandbox.vendors.paging import PagingError, cursor_page, numbered_page, parse_paging
from sandbox.vendors.wire import FastJSON
from sandbox.world.model import World

DEFAULT_TOKEN = "sandbox-harvest-token"
DEFAULT_ACCOUNT_ID = "100001"
# reference lists that accept ``cursor`` in the spec (the others page by number only)
CURSOR_LISTS = ("clients", "projects", "users", "tasks", "user_assignments", "task_assignments")
LISTS = (*CURSOR_LISTS, "expenses")
Handler = Callable[[Request], Awaitable[Response]]


class HarvestEmulator:
    """Mutable Harvest state for one account, served by ``.app``."""

    def __init__(
        self,
        world: World,
        *,
        token: str = DEFAULT_TOKEN,
        account_id: str = DEFAULT_ACCOUNT_ID,
        time_scale: float = 1.0,
        now: Callable[[], datetime] = utc_now,
    ) -> None:
        self.token = token
        self.account_id = account_id
        self._now = now
        self._lock = threading.RLock()
        self._source: object = None
        self._lists = ReferenceLists()
        self.refresh(world)
        self._guard = HarvestGate(token, account_id, time_scale=time_scale)
        self._writes = writes = Provisioning(self._lists, self._guard, _error, now)
        self.app = Starlette(
            routes=[
                Route("/v2/time_entries", self._list_entries, methods=["GET"]),
                Route("/v2/time_entries", self._create_entry, methods=["POST"]),
                Route(
                    "/v2/time_entries/{entry_id:int}",
                    self._one_entry,
                    methods=["GET", "PATCH", "DELETE"],
                ),
                *(Route(f"/v2/{name}", self._lister(name), methods=["GET"]) for name in LISTS),
                Route("/v2/clients", writes.create_client, methods=["POST"]),
                Route("/v2/projects", writes.create_project, methods=["POST"]),
                Route(
                    "/v2/projects/{project_id:int}/user_assignments",
                    writes.project_assignments,
                    methods=["GET", "POST"],
                ),
            ]
        )

    # --- control surface for tests and the demo (not HTTP) ---------------------------------

    def refresh(self, world: World) -> None:
        """Project ``world`` again (after the clock moved it); edits made here are kept."""
        with self._lock:
            self.world = world
            self.view = HarvestProjection(world)
            self._records = HarvestRecords(self.view)
            self._lists.rebase(self.view, self._records)
            if self._source is not world.time_entries:
                frame = self.view.time_entry_frame()
                if self._source is None:
                    self._store = EntryStore(frame)
                else:
                    self._store.rebase(frame)
                self._source = world.time_entries

    def entry(self, entry_id: int) -> Record:
        """A copy of the stored entry (raw: dates and datetimes as Python objects)."""
        return self._store.get(entry_id)

    def entries(self) -> list[Record]:
        """Every entry as a raw dict (fine for tests; large worlds should page over HTTP)."""
        with self._store.lock:
            return list(self._store.matching(()))

    def entry_count(self) -> int:
        return self._store.count()

    def edit_entry(self, entry_id: int, **fields: Any) -> Record:
        """Change stored fields of an entry and bump its ``updated_at``."""
        unknown = set(fields) - set(EDITABLE) - {"is_closed", "is_locked", "locked_reason"}
        if unknown:
            raise ValueError(f"cannot edit {sorted(unknown)}")
        with self._store.lock:
            entry = self._store.get(entry_id)
            entry.update({k: v for k, v in fields.items() if k in ENTRY_COLUMNS})
            if "is_locked" in fields and "is_closed" not in fields:
                entry["is_closed"] = bool(fields["is_locked"])
            if "project_id" in fields:
                entry["client_id"] = self._records.client_of(fields["project_id"])
            if "hours" in fields:
                entry["hours"] = float(fields["hours"])
            entry["updated_at"] = self._stamp()
            self._store.put(entry)
            return dict(entry)

    def add_entry(
        self,
        *,
        user_id: int,
        project_id: int,
        spent_date: date,
        hours: float,
        task_id: int | None = None,
        notes: str = "",
        billable: bool = True,
        approved: bool = False,
    ) -> int:
        """Log a new entry (unapproved unless ``approved``); returns its id."""
        if not self._records.has_project(project_id):
            raise KeyError(project_id)
        with self._store.lock:
            stamp = self._stamp()
            entry_id = self._store.next_id
            self._store.put(
                {
                    "id": entry_id,
                    "spent_date": spent_date,
                    "user_id": user_id,
                    "project_id": project_id,
                    "client_id": self._records.client_of(project_id),
                    "task_id": task_id or self.view.tasks[0].id,
                    "hours": float(hours),
                    "notes": notes,
                    "billable": billable,
                    "is_closed": approved,
                    "is_billed": False,
                    "invoice_id": None,
                    "created_at": stamp,
                    "updated_at": stamp,
                }
            )
            return entry_id

    def lose_next_response(self, n: int = 1) -> None:
        """The next ``n`` creates (clients, projects, user assignments) are applied, then their
        replies are lost."""
        self._writes.lose_next_response(n)

    def created(self, collection: str) -> list[Record]:
        """What API clients created: ``clients``, ``projects`` or ``user_assignments``."""
        with self._lists.lock:
            return list(self._lists.created[collection])

    def delete_entry(self, entry_id: int) -> None:
        self._store.delete(entry_id)

    def approve_entry(self, entry_id: int) -> Record:
        """Timesheet Approval: the entry becomes closed and locked."""
        return self.edit_entry(entry_id, is_closed=True)

    def _stamp(self) -> datetime:
        return self._now().astimezone(UTC).replace(microsecond=0)

    # --- HTTP -------------------------------------------------------------------------------

    async def _list_entries(self, request: Request) -> Response:
        if (refused := self._guard(request)) is not None:
            return refused
        try:
            paging = parse_paging(_base(request), request.query_params)
            filters = parse_filters(request.query_params, entries=True)
        except (PagingError, ValueError) as problem:
            return _error(422, str(problem))
        with self._store.lock:
            chosen = self._store.matching(filters)
            body = numbered_page("time_entries", chosen, paging, self._records.time_entry)
        return FastJSON(body)

    async def _one_entry(self, request: Request) -> Response:
        if (refused := self._guard(request)) is not None:
            return refused
        entry_id: int = request.path_params["entry_id"]
        if entry_id not in self._store:
            return _error(404, "Not Found")
        if request.method == "DELETE":
            self.delete_entry(entry_id)
            return Response(status_code=200)
        if request.method == "PATCH":
            try:
                changes = entry_changes(await read_body(request), self._records)
            except ValueError as problem:
                return _error(422, str(problem))
            self.edit_entry(entry_id, **changes)
        return FastJSON(self._records.time_entry(self._store.get(entry_id)))

    async def _create_entry(self, request: Request) -> Response:
        if (refused := self._guard(request)) is not None:
            return refused
        try:
            body = await read_body(request)
            missing = [k for k in ("project_id", "task_id", "spent_date") if k not in body]
            if missing:
                raise ValueError(f"{', '.join(missing)} can't be blank")
            fields = entry_changes(body, self._records)
        except ValueError as problem:
            return _error(422, str(problem))
        entry_id = self.add_entry(
            user_id=fields.get("user_id", self.view.users[0].id),
            project_id=fields["project_id"],
            spent_date=fields["spent_date"],
            hours=fields.get("hours", 0.0),
            task_id=fields["task_id"],
            notes=fields.get("notes", ""),
        )
        return FastJSON(self._records.time_entry(self._store.get(entry_id)), status_code=201)

    def _lister(self, collection: str) -> Handler:
        async def handler(request: Request) -> Response:
            return self._reference(request, collection)

        return handler

    def _reference(self, request: Request, collection: str) -> Response:
        """A reference list (or expenses), filtered on the rendered record."""
        if (refused := self._guard(request)) is not None:
            return refused
        try:
            paging = parse_paging(_base(request), request.query_params)
            filters = parse_filters(request.query_params, entries=collection == "expenses")
        except (PagingError, ValueError) as problem:
            return _error(422, str(problem))
        chosen = [r for r in self._lists.rendered(collection) if record_matches(r, filters)]
        if collection in CURSOR_LISTS:
            body = cursor_page(collection, chosen, paging, lambda r: r, lambda r: int(r["id"]))
        else:
            body = numbered_page(collection, chosen, paging, lambda r: r)
        return FastJSON(body)


def _base(request: Request) -> str:
    return str(request.url.replace(query=""))


__all__ = ["DEFAULT_ACCOUNT_ID", "DEFAULT_TOKEN", "HarvestEmulator"]
