"""BambooHR API emulator: employees, changed employees, directory, time off, Who's Out, fields.

Served under the current spec form (``https://{companyDomain}.bamboohr.com/api/v1/...``) and the
legacy gateway form (``/api/gateway.php/{companyDomain}/v1/...``). Auth is the API key as the HTTP
Basic username with any password; a missing or wrong key is 401 with the reason in
``X-BambooHR-Error-Message``, as every BambooHR error carries it. Only JSON is emulated: endpoints
that BambooHR answers in XML by default need ``Accept: application/json`` (else 406 here).

Throttling: ``rate_limit`` requests per ``window`` seconds per API key (times ``time_scale``;
BambooHR publishes no numbers, these are ours). Over the limit, ``throttle_mode="auto"`` answers
503 with ``Retry-After`` before 2026-09-16 by the emulator clock and 429 with ``Retry-After`` from
that day on (BambooHR's announced change); ``"503"`` or ``"429"`` force one behaviour.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.clock import utc_text
from sandbox.vendors import bamboohr_people as people
from sandbox.vendors import bamboohr_time_off as leave
from sandbox.vendors.bamboohr_lists import ListError, cursor_page, parse_list_query, sort_records
from sandbox.vendors.bamboohr_roster import BambooHRRoster, utc_now
from sandbox.vendors.bamboohr_webhooks import POSTED_FIELDS, action_of, payload, signed
from sandbox.vendors.limits import SlidingWindow
from sandbox.vendors.wire import FastJSON, basic_credentials
from sandbox.world.model import World

DEFAULT_DOMAIN = "meridian"
DEFAULT_API_KEY = "sandbox-bamboohr-key"
DEFAULT_WEBHOOK_KEY = "sandbox-bamboohr-webhook-key"
RATE_LIMIT = 100
RATE_WINDOW_SECONDS = 10.0
STATUS_429_FROM = date(2026, 9, 16)
MAX_DETAIL_FIELDS = 400
PREFIXES = ("/api/v1", "/api/gateway.php/{companyDomain}/v1")
ThrottleMode = Literal["auto", "503", "429"]


def error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """A BambooHR error: the status, and the reason in ``X-BambooHR-Error-Message``."""
    return Response(
        status_code=status, headers={"X-BambooHR-Error-Message": message, **(headers or {})}
    )


def _bad_list(problem: ListError) -> Response:
    body = {"error": {"code": problem.code, "message": str(problem)}}
    return FastJSON(body, status_code=400, headers={"X-BambooHR-Error-Message": str(problem)})


class BambooHREmulator(BambooHRRoster):
    """One BambooHR company over the world's people, served by ``.app``."""

    def __init__(
        self,
        world: World,
        *,
        company_domain: str = DEFAULT_DOMAIN,
        api_key: str = DEFAULT_API_KEY,
        webhook_key: str = DEFAULT_WEBHOOK_KEY,
        throttle_mode: ThrottleMode = "auto",
        rate_limit: int = RATE_LIMIT,
        time_scale: float = 1.0,
        now: Callable[[], datetime] = utc_now,
    ) -> None:
        super().__init__(world, now=now)
        self.company_domain = company_domain
        self.api_key = api_key
        self.webhook_key = webhook_key
        self.throttle_mode = throttle_mode
        self.org = people.Org.of(world)
        self._limiter = SlidingWindow(rate_limit, RATE_WINDOW_SECONDS * time_scale)
        self._holidays = leave.company_holidays(world.holidays)
        self._regional: dict[int, frozenset[date]] = {
            r.id: frozenset(h.day for h in world.holidays if h.region_id == r.id)
            for r in world.regions
        }
        self.app = Starlette(
            routes=[route for prefix in PREFIXES for route in self._routes(prefix)]
        )

    def _routes(self, prefix: str) -> list[Route]:
        return [
            Route(f"{prefix}/employees", self._list_employees, methods=["GET"]),
            Route(f"{prefix}/employees/directory", self._directory, methods=["GET"]),
            Route(f"{prefix}/employees/changed", self._changed_employees, methods=["GET"]),
            Route(f"{prefix}/employees/{{id}}", self._one_employee, methods=["GET"]),
            Route(f"{prefix}/time_off/requests", self._time_off_requests, methods=["GET"]),
            Route(f"{prefix}/time_off/whos_out", self._whos_out, methods=["GET"]),
            Route(f"{prefix}/meta/fields", self._meta_fields, methods=["GET"]),
        ]

    # --- webhooks -----------------------------------------------------------------------------

    def webhook_delivery(
        self, event: str, employee_ids: Sequence[int], *, changed_fields: Sequence[str] = ()
    ) -> tuple[dict[str, str], bytes]:
        """Headers and raw body of a signed delivery of ``event`` for ``employee_ids``."""
        action = action_of(event)
        view = self._view()
        changes = []
        for employee_id in employee_ids:
            person = self.employee(employee_id)
            fields: dict[str, Any] = {}
            if person is not None:
                detail = people.detail_record(person, view, list(POSTED_FIELDS.values()))
                fields = {label: detail.get(alias) for label, alias in POSTED_FIELDS.items()}
            changes.append((employee_id, fields))
        body = payload(action, changes, changed_fields or list(POSTED_FIELDS)[:2])
        return signed(body, self.webhook_key, self._now()), body

    def send_webhook(
        self,
        url: str,
        event: str,
        employee_ids: Sequence[int],
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 10.0,
    ) -> httpx.Response:
        """POST a signed delivery to a receiver (``transport`` reaches one in-process)."""
        headers, body = self.webhook_delivery(event, employee_ids)
        with httpx.Client(transport=transport, timeout=timeout) as client:
            return client.post(url, content=body, headers=headers)

    # --- the guard every request passes -------------------------------------------------------

    def _guard(self, request: Request, *, json_only: bool = False) -> Response | None:
        domain = request.path_params.get("companyDomain")
        if domain is not None and domain != self.company_domain:
            return error(404, f"Company {domain} not found")
        key = basic_credentials(request.headers.get("authorization", ""))[0] or None
        if key is None:
            return error(401, "Missing API key: use HTTP Basic auth with the key as the username")
        if key != self.api_key:
            return error(401, "Invalid API key")
        verdict = self._limiter.hit(key)
        if not verdict.allowed:
            status = 429 if self._throttles_with_429() else 503
            return error(status, "Rate limit exceeded", {"Retry-After": str(verdict.retry_after)})
        accept = request.headers.get("accept", "")
        if not json_only and "application/json" not in accept:
            return error(406, "Only JSON is emulated: send Accept: application/json")
        return None

    def _throttles_with_429(self) -> bool:
        if self.throttle_mode == "auto":
            return self.today() >= STATUS_429_FROM
        return self.throttle_mode == "429"

    def _view(self) -> people.View:
        return people.View(self.org, self.people(), self.today())

    # --- employees ----------------------------------------------------------------------------

    async def _list_employees(self, request: Request) -> Response:
        if (refused := self._guard(request, json_only=True)) is not None:
            return refused
        try:
            query = parse_list_query(request.query_params)
            view = self._view()
            records = [people.list_record(p, view, query.fields) for p in view.people.values()]
            chosen = [r for r in records if query.matches(r)]
            sort_records(chosen, query.sort)
            url = str(request.url.replace(query=""))
            data, meta, links = cursor_page(
                chosen, lambda r: int(r["employeeId"]), query, url, request.query_params
            )
        except ListError as problem:
            return _bad_list(problem)
        return FastJSON({"data": data, "meta": meta, "_links": links})

    async def _one_employee(self, request: Request) -> Response:
        if (refused := self._guard(request)) is not None:
            return refused
        raw = request.path_params["id"]
        person = self.employee(int(raw)) if raw.isdigit() else None
        if person is None:
            return error(404, f"Employee {raw} not found")
        fields = [
            f.strip() for f in request.query_params.get("fields", "firstName,lastName").split(",")
        ]
        if len(fields) > MAX_DETAIL_FIELDS:
            return error(400, f"At most {MAX_DETAIL_FIELDS} fields may be requested")
        return FastJSON(people.detail_record(person, self._view(), fields))

    async def _directory(self, request: Request) -> Response:
        if (refused := self._guard(request)) is not None:
            return refused
        view = self._view()
        current = request.query_params.get("onlyCurrent", "true").lower() != "false"
        listed = [
            p
            for p in view.people.values()
            if people.is_active(p, view.today) and (not current or p.hire_date <= view.today)
        ]
        if not listed:
            return error(404, "The directory is empty")
        return FastJSON(people.directory(listed, view))

    async def _changed_employees(self, request: Request) -> Response:
        if (refused := self._guard(request)) is not None:
            return refused
        kind = request.query_params.get("type", "all")
        if kind not in ("inserted", "updated", "deleted", "all"):
            return error(400, "type must be inserted, updated, deleted or all")
        try:
            since = _timestamp(request.query_params["since"])
        except (KeyError, ValueError):
            return error(400, "since must be an ISO 8601 timestamp")
        changes = {
            employee_id: change
            for employee_id, change in self.changed_since(since).items()
            if kind == "all" or change[0].lower() == kind
        }
        latest = max((stamp for _, stamp in changes.values()), default=since)
        employees = {
            str(i): {
                "id": str(i),
                "action": action,
                "lastChanged": utc_text(stamp, offset="+00:00"),
            }
            for i, (action, stamp) in sorted(changes.items())
        }
        return FastJSON({"latest": utc_text(latest, offset="+00:00"), "employees": employees})

    async def _meta_fields(self, request: Request) -> Response:
        if (refused := self._guard(request)) is not None:
            return refused
        return FastJSON(people.meta_fields())

    # --- time off -----------------------------------------------------------------------------

    async def _time_off_requests(self, request: Request) -> Response:
        if (refused := self._guard(request)) is not None:
            return refused
        try:
            chosen = leave.parse_request_filter(request.query_params)
        except ValueError as problem:
            return error(400, str(problem))
        notes = "excludeNote" not in request.query_params
        staff = self.people()
        body = []
        for t in self.time_off():
            if chosen.matches(t):
                person = staff.get(t.employee_id)
                off = self._regional.get(person.region_id, frozenset()) if person else frozenset()
                body.append(leave.request_record(t, person, off, notes=notes))
        return FastJSON(body)

    async def _whos_out(self, request: Request) -> Response:
        if (refused := self._guard(request)) is not None:
            return refused
        try:
            start = date.fromisoformat(
                request.query_params.get("start") or self.today().isoformat()
            )
            default_end = start + timedelta(days=leave.WHOS_OUT_DEFAULT_DAYS)
            end = date.fromisoformat(request.query_params.get("end") or default_end.isoformat())
        except ValueError:
            return error(400, "start and end must be dates (YYYY-MM-DD)")
        return FastJSON(leave.whos_out(self.time_off(), self.people(), self._holidays, start, end))


def _timestamp(raw: str) -> datetime:
    moment = datetime.fromisoformat(raw.strip().replace(" ", "+"))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


__all__ = ["DEFAULT_API_KEY", "DEFAULT_DOMAIN", "DEFAULT_WEBHOOK_KEY", "BambooHREmulator"]
