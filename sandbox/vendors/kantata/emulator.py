"""Kantata OX API emulator: workspaces, participations, milestones, rate cards, time, invoices.

Base path ``/api/v1`` (the ``.json`` suffix is optional, as in Kantata's examples). Every call
needs ``Authorization: Bearer <token>``; without it the answer is 401 with
``{"errors": [{"type": "unauthorized", "message": ...}]}`` [unconfirmed body]. Kantata's limits
are not published in the docs read, so the emulator assumes ``rate_limit`` calls per
``rate_window`` seconds per token (window × ``time_scale``), then 429 with ``Retry-After``
[unconfirmed]. Lists are normalised and ID-keyed (``sandbox.vendors.kantata.query``);
``/participations`` needs ``workspace_id`` (400 without it) and ``/external_references`` needs
``subject_type``. Tests and the demo change the data through ``edit_workspace``, ``archive``,
``add_participation`` and ``edit_record``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.clock import utc_now
from sandbox.vendors.kantata.collections import INCLUDES, filtered
from sandbox.vendors.kantata.projection import Projection, new_workspace, stamp
from sandbox.vendors.kantata.query import (
    ListQuery,
    QueryError,
    Record,
    envelope,
    page_of,
    parse_query,
    select,
)
from sandbox.vendors.kantata.time_entries import TimeEntries
from sandbox.vendors.kantata.writes import (
    Invalid,
    invoice_changes,
    read_object,
    reference_fields,
    workspace_fields,
)
from sandbox.vendors.limits import SlidingWindow
from sandbox.vendors.wire import FastJSON, json_error
from sandbox.world.model import World

API = "/api/v1"
DEFAULT_TOKEN = "sandbox-kantata-token"
RATE_LIMIT = 100  # [unconfirmed] Kantata publishes its limits only in its knowledge base
RATE_WINDOW_SECONDS = 10.0


def errors(
    status: int, kind: str, *messages: str, headers: dict[str, str] | None = None
) -> Response:
    body = {"errors": [{"type": kind, "message": m} for m in messages]}
    return json_error(status, body, headers)


class KantataEmulator:
    """Mutable Kantata state for one account, projected from ``world`` and served by ``.app``."""

    def __init__(
        self,
        world: World,
        *,
        token: str = DEFAULT_TOKEN,
        time_scale: float = 1.0,
        rate_limit: int = RATE_LIMIT,
        rate_window: float = RATE_WINDOW_SECONDS,
        now: Callable[[], datetime] = utc_now,
    ) -> None:
        self.world = world
        self.token = token
        self._now = now
        self._lock = threading.RLock()
        self.projection = Projection(world)
        self.tables = self.projection.tables
        self._time = TimeEntries(world)
        self._limiter = SlidingWindow(rate_limit, rate_window * time_scale)
        self.app = Starlette(
            routes=[
                Route(f"{API}/external_references/create_or_update{{suffix:path}}",
                      self._save_reference, methods=["POST"]),
                Route(f"{API}/{{name}}", self._list, methods=["GET"]),
                Route(f"{API}/{{name}}", self._create, methods=["POST"]),
                Route(f"{API}/{{name}}/{{item}}", self._show, methods=["GET"]),
                Route(f"{API}/{{name}}/{{item}}", self._update, methods=["PUT"]),
            ]
        )  # fmt: skip

    # --- control surface for tests and the demo (not HTTP) ---------------------------------

    def workspaces(self) -> list[Record]:
        with self._lock:
            return [dict(w) for w in self.tables["workspaces"].values()]

    def invoices(self) -> list[Record]:
        with self._lock:
            return [dict(i) for i in self.tables["invoices"].values()]

    def edit_record(
        self, collection: str, record_id: str, *, drop: tuple[str, ...] = (), **fields: Any
    ) -> Record:
        """Change (or ``drop``) stored fields of any record and bump its ``updated_at``."""
        with self._lock:
            record = self.tables[collection][str(record_id)]
            record.update(fields)
            for name in drop:
                record.pop(name, None)
            record["updated_at"] = self._stamp()
            return dict(record)

    def edit_workspace(self, workspace_id: str, **fields: Any) -> Record:
        unknown = set(fields) - set(self.tables["workspaces"][str(workspace_id)])
        if unknown:
            raise ValueError(f"workspaces have no {sorted(unknown)}")
        return self.edit_record("workspaces", workspace_id, **fields)

    def archive(self, workspace_id: str) -> Record:
        return self.edit_record("workspaces", workspace_id, archived=True)

    def add_participation(
        self, workspace_id: str, user_id: str, *, role: str | None = None
    ) -> Record:
        """Add a person to a workspace (as provider side, ``maven``), in ``role`` if given."""
        with self._lock:
            if str(workspace_id) not in self.tables["workspaces"]:
                raise KeyError(workspace_id)
            when = self._stamp()
            record = {
                "id": self.projection.next_id("participations", 5_900_000),
                "workspace_id": str(workspace_id), "user_id": str(user_id), "role": "maven",
                "primary_role_id": self.projection.role_id(role) if role else None,
                "created_at": when, "updated_at": when,
            }  # fmt: skip
            return dict(self.projection.add_participation(record))

    def _stamp(self) -> str:
        return stamp(self._now())

    # --- HTTP -------------------------------------------------------------------------------

    def _guard(self, request: Request) -> Response | None:
        if request.headers.get("authorization", "") != f"Bearer {self.token}":
            return errors(401, "unauthorized", "You must be logged in to do that.")
        verdict = self._limiter.hit(self.token)
        if not verdict.allowed:
            return errors(
                429, "rate_limit", "Rate limit exceeded. Please retry later.",
                headers={"Retry-After": str(verdict.retry_after)},
            )  # fmt: skip
        return None

    async def _list(self, request: Request) -> Response:
        if (refused := self._guard(request)) is not None:
            return refused
        name = _name(request)
        if name not in INCLUDES:
            return errors(404, "not_found", f"No route matches /{name}")
        params = request.query_params
        try:
            query = parse_query(params, INCLUDES[name])
            with self._lock:
                return FastJSON(self._page(name, params, query))
        except QueryError as problem:
            return errors(problem.status, "bad_request", str(problem))

    def _page(
        self, name: str, params: Mapping[str, str], query: ListQuery, *, single: bool = False
    ) -> dict[str, Any]:
        tables = {**self.tables}
        if name == "time_entries":
            page, total = self._time.page(params, query)
            tables["time_entries"] = {r["id"]: r for r in page}
            return envelope(name, page, total, query, INCLUDES[name], tables)
        records = filtered(name, self.tables[name].values(), params, single=single)
        chosen = select(records, query)
        return envelope(name, page_of(chosen, query), len(chosen), query, INCLUDES[name], tables)

    async def _show(self, request: Request) -> Response:
        """One record, in the same normalised shape as a list (archived workspaces: 404
        unless ``include_archived=true``, as Kantata documents)."""
        if (refused := self._guard(request)) is not None:
            return refused
        name, item = _name(request), _item(request)
        if name not in INCLUDES:
            return errors(404, "not_found", f"No route matches /{name}/{item}")
        params = dict(request.query_params) | {"only": item}
        try:
            query = parse_query(params, INCLUDES[name])
            with self._lock:
                body = self._page(name, params, query, single=True)
        except QueryError as problem:
            return errors(problem.status, "bad_request", str(problem))
        if not body["results"]:
            return errors(404, "not_found", f"{name} {item} was not found")
        return FastJSON(body)

    async def _create(self, request: Request) -> Response:
        if (refused := self._guard(request)) is not None:
            return refused
        if _name(request) != "workspaces":
            return errors(405, "method_not_allowed", "Creating these is not supported here")
        try:
            given = await read_object(request, "workspace")
            with self._lock:
                fields = workspace_fields(given, set(self.tables["rate_cards"]))
                record = self._new_workspace(fields)
                query = parse_query({"only": record["id"]}, INCLUDES["workspaces"])
                return FastJSON(self._page("workspaces", {"include_archived": "true"}, query))
        except Invalid as problem:
            return errors(422, "validation", *problem.messages)

    def _new_workspace(self, fields: dict[str, Any]) -> Record:
        workspace_id = self.projection.next_id("workspaces", 4_900_000)
        return self.projection.put("workspaces", new_workspace(workspace_id, fields, self._stamp()))

    async def _update(self, request: Request) -> Response:
        if (refused := self._guard(request)) is not None:
            return refused
        name, item = _name(request), _item(request)
        if name != "invoices":
            return errors(405, "method_not_allowed", "Updating these is not supported here")
        if item not in self.tables["invoices"]:
            return errors(404, "not_found", f"invoices {item} was not found")
        try:
            changes = invoice_changes(await read_object(request, "invoice"))
        except Invalid as problem:
            return errors(422, "validation", *problem.messages)
        with self._lock:
            if changes.get("paid"):
                changes["balance_in_cents"] = 0
            self.edit_record("invoices", item, **changes)
            query = parse_query({"only": item}, INCLUDES["invoices"])
            return FastJSON(self._page("invoices", {}, query))

    async def _save_reference(self, request: Request) -> Response:
        if (refused := self._guard(request)) is not None:
            return refused
        try:
            fields = reference_fields(await read_object(request, "external_reference"))
            if fields["subject_type"] != "Workspace":
                raise Invalid("Only Workspace subjects are supported by this emulator")
            with self._lock:
                if fields["subject_id"] not in self.tables["workspaces"]:
                    raise Invalid(f"Workspace {fields['subject_id']} does not exist")
                ref_id = self._upsert_reference(fields)
                query = parse_query({"only": ref_id}, INCLUDES["external_references"])
                params = {"subject_type": "Workspace"}
                return FastJSON(self._page("external_references", params, query))
        except Invalid as problem:
            return errors(422, "validation", *problem.messages)

    def _upsert_reference(self, fields: dict[str, str]) -> str:
        """One reference per subject, service and model; saving it again updates its ref."""
        key = ("subject_type", "subject_id", "service_name", "service_model")
        for record in self.tables["external_references"].values():
            if all(record[k] == fields[k] for k in key):
                record.update(fields, updated_at=self._stamp())
                return str(record["id"])
        workspace = self.tables["workspaces"][fields["subject_id"]]
        ref_id = self.projection.add_reference(
            workspace["id"], fields["service_model"], fields["service_model_ref"], self._now()
        )
        self.tables["external_references"][ref_id]["service_name"] = fields["service_name"]
        workspace["external_reference_ids"].append(ref_id)
        workspace["updated_at"] = self._stamp()  # a new link is a change of the workspace
        return ref_id


def _name(request: Request) -> str:
    return str(request.path_params["name"]).removesuffix(".json")


def _item(request: Request) -> str:
    return str(request.path_params["item"]).removesuffix(".json")


__all__ = ["DEFAULT_TOKEN", "KantataEmulator"]
