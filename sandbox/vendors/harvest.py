"""Harvest API v2 emulator: time entries, projects, users, clients and user assignments.

Auth as Harvest: ``Authorization: Bearer``, ``Harvest-Account-Id`` and a ``User-Agent`` (400
without one, 401 with a bad token or account). 100 requests per 15 s per token (window times
``time_scale``), then 429 with ``Retry-After``. Lists use the spec envelope (``sandbox.vendors.
paging``); time entries come newest ``spent_date`` first. Tests and the demo change the data
through ``edit_entry``, ``add_entry``, ``delete_entry`` and ``approve_entry``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.vendors.harvest_entries import EntryStore
from sandbox.vendors.harvest_params import (
    EDITABLE,
    entry_changes,
    parse_filters,
    read_body,
    record_matches,
)
from sandbox.vendors.harvest_projection import ENTRY_COLUMNS, HarvestProjection
from sandbox.vendors.harvest_records import HarvestRecords, Record
from sandbox.vendors.limits import SlidingWindow
from sandbox.vendors.paging import PagingError, cursor_page, numbered_page, parse_paging
from sandbox.vendors.wire import FastJSON, json_error
from sandbox.world.model import World

DEFAULT_TOKEN = "sandbox-harvest-token"
DEFAULT_ACCOUNT_ID = "100001"
RATE_LIMIT = 100
RATE_WINDOW_SECONDS = 15.0
T = TypeVar("T")


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> FastJSON:
    return json_error(status, {"code": status, "message": message}, headers)


class HarvestEmulator:
    """Mutable Harvest state for one account, served by ``.app``."""

    def __init__(
        self,
        world: World,
        *,
        token: str = DEFAULT_TOKEN,
        account_id: str = DEFAULT_ACCOUNT_ID,
        time_scale: float = 1.0,
        now: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.token = token
        self.account_id = account_id
        self._now = now
        self._lock = threading.RLock()
        self._source: object = None
        self.refresh(world)
        self._limiter = SlidingWindow(RATE_LIMIT, RATE_WINDOW_SECONDS * time_scale)
        self.app = Starlette(
            routes=[
                Route("/v2/time_entries", self._list_entries, methods=["GET"]),
                Route("/v2/time_entries", self._create_entry, methods=["POST"]),
                Route(
                    "/v2/time_entries/{entry_id:int}",
                    self._one_entry,
                    methods=["GET", "PATCH", "DELETE"],
                ),
                Route("/v2/projects", self._list_projects, methods=["GET"]),
                Route("/v2/users", self._list_users, methods=["GET"]),
                Route("/v2/clients", self._list_clients, methods=["GET"]),
                Route("/v2/user_assignments", self._list_user_assignments, methods=["GET"]),
            ]
        )

    # --- control surface for tests and the demo (not HTTP) ---------------------------------

    def refresh(self, world: World) -> None:
        """Project ``world`` again (after the clock moved it); edits made here are kept."""
        with self._lock:
            self.world = world
            self.view = HarvestProjection(world)
            self._records = HarvestRecords(self.view)
            self._rendered: dict[str, list[Record]] = {}
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

    def delete_entry(self, entry_id: int) -> None:
        self._store.delete(entry_id)

    def approve_entry(self, entry_id: int) -> Record:
        """Timesheet Approval: the entry becomes closed and locked."""
        return self.edit_entry(entry_id, is_closed=True)

    def _stamp(self) -> datetime:
        return self._now().astimezone(UTC).replace(microsecond=0)

    # --- HTTP -------------------------------------------------------------------------------

    def _guard(self, request: Request) -> Response | None:
        if not request.headers.get("user-agent", "").strip():
            return _error(400, "A User-Agent header is required")
        auth = request.headers.get("authorization", "")
        account = request.headers.get("harvest-account-id", "")
        if auth != f"Bearer {self.token}" or account != self.account_id:
            return json_error(
                401,
                {
                    "error": "invalid_token",
                    "error_description": "The access token provided is expired, revoked, "
                    "malformed or invalid for other reasons.",
                },
            )
        verdict = self._limiter.hit(self.token)
        if not verdict.allowed:
            return _error(429, "Too Many Requests", {"Retry-After": str(verdict.retry_after)})
        return None

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

    async def _list_projects(self, request: Request) -> Response:
        return self._reference(request, "projects", self.view.projects, self._records.project)

    async def _list_users(self, request: Request) -> Response:
        return self._reference(request, "users", self.view.users, self._records.user)

    async def _list_clients(self, request: Request) -> Response:
        return self._reference(request, "clients", self.view.clients, self._records.client)

    async def _list_user_assignments(self, request: Request) -> Response:
        return self._reference(
            request, "user_assignments", self.view.user_links, self._records.user_assignment
        )

    def _reference(
        self, request: Request, collection: str, items: Sequence[T], render: Callable[[T], Record]
    ) -> Response:
        """A cursor-capable list: newest first by creation, filtered on the rendered record."""
        if (refused := self._guard(request)) is not None:
            return refused
        try:
            paging = parse_paging(_base(request), request.query_params)
            filters = parse_filters(request.query_params, entries=False)
        except (PagingError, ValueError) as problem:
            return _error(422, str(problem))
        with self._lock:
            rendered = self._rendered.get(collection)
            if rendered is None:
                rendered = sorted(
                    (render(i) for i in items),
                    key=lambda r: (r["created_at"], r["id"]),
                    reverse=True,
                )
                self._rendered[collection] = rendered
        chosen = [r for r in rendered if record_matches(r, filters)]
        body = cursor_page(collection, chosen, paging, lambda r: r, lambda r: int(r["id"]))
        return FastJSON(body)


def _base(request: Request) -> str:
    return str(request.url.replace(query=""))


__all__ = ["DEFAULT_ACCOUNT_ID", "DEFAULT_TOKEN", "HarvestEmulator"]
