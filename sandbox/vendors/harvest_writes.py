"""Harvest writes that provision work: ``POST /clients``, ``POST /projects`` and a project's
user assignments (``GET``/``POST /projects/{project_id}/user_assignments``).

Validation answers 422 with Harvest's ``message`` (a missing or taken name, an unknown client or
user, a user already on the project, an option out of range); an unknown project in the path is
404. Harvest has no idempotency key: a create whose reply was lost (``lose_next_response``) has
happened all the same, and only a look-up tells the client so.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from sandbox.vendors.harvest_params import parse_filters, read_body, record_matches
from sandbox.vendors.harvest_records import Record, iso
from sandbox.vendors.harvest_reference import ReferenceLists
from sandbox.vendors.paging import PagingError, numbered_page, parse_paging
from sandbox.vendors.wire import FastJSON, LostResponse

BILL_BY = ("Project", "Tasks", "People", "none")
BUDGET_BY = ("project", "project_cost", "task", "task_fees", "person", "none")
PROJECT_REQUIRED = ("client_id", "name", "is_billable", "bill_by", "budget_by")
Guard = Callable[[Request], Response | None]
Refusal = Callable[[int, str], Response]


class Invalid(ValueError):
    """A body Harvest refuses with 422."""


def _text(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    return None if value is None else str(value).strip()


def _number(body: dict[str, Any], name: str) -> float | None:
    value = body.get(name)
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise Invalid(f"{name.replace('_', ' ').capitalize()} is not a number") from None


def _flag(body: dict[str, Any], name: str, default: bool) -> bool:
    value = body.get(name, default)
    return value if isinstance(value, bool) else str(value).lower() in ("true", "1")


def _whole(body: dict[str, Any], name: str) -> int:
    try:
        return int(body[name])
    except (TypeError, ValueError):
        raise Invalid(f"{name} must be an integer") from None


class Provisioning:
    """The HTTP handlers; ``guard`` is the emulator's auth and rate-limit check."""

    def __init__(
        self, lists: ReferenceLists, guard: Guard, refuse: Refusal, now: Callable[[], datetime]
    ) -> None:
        self.lists = lists
        self._guard = guard
        self._refuse = refuse
        self._now = now
        self._lose = 0
        self._lock = threading.Lock()

    def lose_next_response(self, n: int = 1) -> None:
        """The next ``n`` successful creates are applied, then their replies are lost."""
        with self._lock:
            self._lose += n

    def _created(self, record: Record) -> Response:
        with self._lock:
            lost, self._lose = self._lose > 0, max(0, self._lose - 1)
        return LostResponse() if lost else FastJSON(record, status_code=201)

    def _stamp(self) -> str:
        return iso(self._now().astimezone(UTC).replace(microsecond=0))

    async def _create(
        self, request: Request, collection: str, build: Callable[[dict[str, Any]], Record]
    ) -> Response:
        """Guard, read the body, build the record under the lists' lock and add it; 422 when
        the body is refused."""
        if (refused := self._guard(request)) is not None:
            return refused
        try:
            body = await read_body(request)
            with self.lists.lock:
                record = build(body)
                self.lists.add(collection, record)
        except ValueError as problem:
            return self._refuse(422, str(problem))
        return self._created(record)

    async def create_client(self, request: Request) -> Response:
        return await self._create(request, "clients", self._client)

    def _client(self, body: dict[str, Any]) -> Record:
        name = _text(body, "name")
        if not name:
            raise Invalid("Name can't be blank")
        taken = {c["name"].casefold() for c in self.lists.rendered("clients")}
        if name.casefold() in taken:
            raise Invalid("Name has already been taken")
        currency = _text(body, "currency") or self.lists.view.world.legal_entities[0].currency
        stamp, client_id = self._stamp(), self.lists.next_id()
        return {
            "id": client_id,
            "name": name,
            "is_active": _flag(body, "is_active", True),
            "address": _text(body, "address"),
            "statement_key": f"sk{client_id}",
            "currency": currency.upper(),
            "created_at": stamp,
            "updated_at": stamp,
        }

    async def create_project(self, request: Request) -> Response:
        return await self._create(request, "projects", self._project)

    def _project(self, body: dict[str, Any]) -> Record:
        missing = [k for k in PROJECT_REQUIRED if body.get(k) in (None, "")]
        if missing:
            raise Invalid(f"{', '.join(missing)} can't be blank")
        client = self.lists.records.client_ref(_whole(body, "client_id"))
        if client is None:
            raise Invalid("Client not found")
        if body["bill_by"] not in BILL_BY:
            raise Invalid(f"Bill by must be one of {', '.join(BILL_BY)}")
        if body["budget_by"] not in BUDGET_BY:
            raise Invalid(f"Budget by must be one of {', '.join(BUDGET_BY)}")
        stamp = self._stamp()
        fixed = _flag(body, "is_fixed_fee", False)
        return {
            "id": self.lists.next_id(),
            "client": dict(client),
            "name": _text(body, "name"),
            "code": _text(body, "code"),
            "is_active": _flag(body, "is_active", True),
            "is_billable": _flag(body, "is_billable", True),
            "is_fixed_fee": fixed,
            "bill_by": body["bill_by"],
            "hourly_rate": _number(body, "hourly_rate"),
            "budget": _number(body, "budget"),
            "budget_by": body["budget_by"],
            "budget_is_monthly": _flag(body, "budget_is_monthly", False),
            "notify_when_over_budget": _flag(body, "notify_when_over_budget", False),
            "over_budget_notification_percentage": _number(
                body, "over_budget_notification_percentage"
            )
            or 80.0,
            "over_budget_notification_date": None,
            "show_budget_to_all": _flag(body, "show_budget_to_all", False),
            "cost_budget": _number(body, "cost_budget"),
            "cost_budget_include_expenses": _flag(body, "cost_budget_include_expenses", False),
            "fee": _number(body, "fee") if fixed else None,
            "notes": _text(body, "notes") or "",
            "starts_on": _text(body, "starts_on"),
            "ends_on": _text(body, "ends_on"),
            "created_at": stamp,
            "updated_at": stamp,
        }

    async def project_assignments(self, request: Request) -> Response:
        """``GET`` lists the project's user assignments (page numbers); ``POST`` adds one."""
        if (refused := self._guard(request)) is not None:
            return refused
        project = self.lists.find("projects", request.path_params["project_id"])
        if project is None:
            return self._refuse(404, "Not Found")
        try:
            if request.method == "POST":
                body = await read_body(request)
                with self.lists.lock:
                    record = self._assignment(project, body)
                    self.lists.add("user_assignments", record)
                return self._created(record)
            paging = parse_paging(str(request.url.replace(query="")), request.query_params)
            filters = parse_filters(request.query_params, entries=False)
        except (PagingError, ValueError) as problem:
            return self._refuse(422, str(problem))
        mine = [
            a
            for a in self.lists.rendered("user_assignments")
            if a["project"]["id"] == project["id"] and record_matches(a, filters)
        ]
        return FastJSON(numbered_page("user_assignments", mine, paging, lambda a: a))

    def _assignment(self, project: Record, body: dict[str, Any]) -> Record:
        if body.get("user_id") in (None, ""):
            raise Invalid("User can't be blank")
        user_id = _whole(body, "user_id")
        if not self.lists.records.has_user(user_id):
            raise Invalid("User not found")
        if self.lists.records.is_assigned(user_id, project["id"]):
            raise Invalid("User is already assigned to this project")
        defaults = _flag(body, "use_default_rates", True)
        user = self.lists.view.user_by_id[user_id]
        rate = (
            float(self.lists.view.standard_rate(user))
            if defaults
            else (_number(body, "hourly_rate") or 0.0)
        )
        stamp = self._stamp()
        return {
            "id": self.lists.next_id(),
            "is_project_manager": _flag(body, "is_project_manager", False),
            "is_active": _flag(body, "is_active", True),
            "use_default_rates": defaults,
            "budget": _number(body, "budget"),
            "created_at": stamp,
            "updated_at": stamp,
            "hourly_rate": rate,
            "project": self.lists.records.project_ref(project["id"]),
            "user": self.lists.records.user_ref(user_id),
        }
