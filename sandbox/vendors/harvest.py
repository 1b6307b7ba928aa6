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

from sandbox.firm import Firm
from sandbox.timesheets import LOCKED_REASON
from sandbox.vendors.harvest_params import (
    EDITABLE,
    Filters,
    entry_changes,
    entry_matches,
    parse_filters,
    read_body,
    record_matches,
)
from sandbox.vendors.harvest_records import HarvestRecords, Record
from sandbox.vendors.limits import SlidingWindow
from sandbox.vendors.paging import PagingError, cursor_page, numbered_page, parse_paging
from sandbox.vendors.wire import FastJSON, json_error

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
        firm: Firm,
        *,
        token: str = DEFAULT_TOKEN,
        account_id: str = DEFAULT_ACCOUNT_ID,
        time_scale: float = 1.0,
        now: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.firm = firm
        self.token = token
        self.account_id = account_id
        self._now = now
        self._records = HarvestRecords(firm)
        self._entries = {e["id"]: dict(e) for e in firm.time_entries}
        self._next_id = max(self._entries, default=636709354) + 1
        self._lock = threading.RLock()
        self._version = 0
        self._cache: tuple[tuple[int, Filters], list[Record]] | None = None
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

    def entry(self, entry_id: int) -> Record:
        """A copy of the stored entry (raw: dates and datetimes as Python objects)."""
        with self._lock:
            return dict(self._entries[entry_id])

    def entries(self) -> list[Record]:
        with self._lock:
            return [dict(e) for e in self._entries.values()]

    def edit_entry(self, entry_id: int, **fields: Any) -> Record:
        """Change stored fields of an entry and bump its ``updated_at``."""
        unknown = set(fields) - set(EDITABLE) - {"is_closed", "is_locked", "locked_reason"}
        if unknown:
            raise ValueError(f"cannot edit {sorted(unknown)}")
        with self._lock:
            entry = self._entries[entry_id]
            entry.update(fields)
            if "project_id" in fields and self._records.has_project(fields["project_id"]):
                entry["client_id"] = self.firm.project_by_id[fields["project_id"]].client_id
            entry["updated_at"] = self._stamp()
            self._version += 1
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
        with self._lock:
            project = self.firm.project_by_id[project_id]
            stamp = self._stamp()
            entry_id = self._next_id
            self._next_id += 1
            self._entries[entry_id] = {
                "id": entry_id,
                "spent_date": spent_date,
                "user_id": user_id,
                "project_id": project_id,
                "client_id": project.client_id,
                "task_id": task_id or self.firm.tasks[0].id,
                "hours": float(hours),
                "notes": notes,
                "billable": billable,
                "is_closed": approved,
                "is_locked": approved,
                "locked_reason": LOCKED_REASON if approved else None,
                "is_billed": False,
                "created_at": stamp,
                "updated_at": stamp,
            }
            self._version += 1
            return entry_id

    def delete_entry(self, entry_id: int) -> None:
        with self._lock:
            del self._entries[entry_id]
            self._version += 1

    def approve_entry(self, entry_id: int) -> Record:
        """Timesheet Approval: the entry becomes closed and locked."""
        return self.edit_entry(
            entry_id, is_closed=True, is_locked=True, locked_reason=LOCKED_REASON
        )

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
        with self._lock:
            chosen = self._matching(filters)
            body = numbered_page("time_entries", chosen, paging, self._records.time_entry)
        return FastJSON(body)

    def _matching(self, filters: Filters) -> list[Record]:
        key = (self._version, filters)
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        chosen = [e for e in self._entries.values() if entry_matches(e, filters)]
        chosen.sort(key=lambda e: (e["spent_date"], e["id"]), reverse=True)
        self._cache = (key, chosen)
        return chosen

    async def _one_entry(self, request: Request) -> Response:
        if (refused := self._guard(request)) is not None:
            return refused
        entry_id: int = request.path_params["entry_id"]
        if entry_id not in self._entries:
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
        with self._lock:
            return FastJSON(self._records.time_entry(self._entries[entry_id]))

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
            user_id=fields.get("user_id", self.firm.consultants[0].id),
            project_id=fields["project_id"],
            spent_date=fields["spent_date"],
            hours=fields.get("hours", 0.0),
            task_id=fields["task_id"],
            notes=fields.get("notes", ""),
        )
        with self._lock:
            return FastJSON(self._records.time_entry(self._entries[entry_id]), status_code=201)

    async def _list_projects(self, request: Request) -> Response:
        return self._reference(request, "projects", self.firm.projects, self._records.project)

    async def _list_users(self, request: Request) -> Response:
        return self._reference(request, "users", self.firm.consultants, self._records.user)

    async def _list_clients(self, request: Request) -> Response:
        return self._reference(request, "clients", self.firm.clients, self._records.client)

    async def _list_user_assignments(self, request: Request) -> Response:
        return self._reference(
            request, "user_assignments", self.firm.assignments, self._records.user_assignment
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
        rendered = [render(i) for i in items]
        chosen = [r for r in rendered if record_matches(r, filters)]
        chosen.sort(key=lambda r: (r["created_at"], r["id"]), reverse=True)
        body = cursor_page(collection, chosen, paging, lambda r: r, lambda r: int(r["id"]))
        return FastJSON(body)


def _base(request: Request) -> str:
    return str(request.url.replace(query=""))


__all__ = ["DEFAULT_ACCOUNT_ID", "DEFAULT_TOKEN", "HarvestEmulator"]
