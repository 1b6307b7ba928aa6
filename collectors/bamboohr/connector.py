"""BambooHR: the connection (settings, Basic auth, pacing) and what it reads.

- ``employees``: ``GET /employees`` with cursor paging (``page[limit]``, ``page[after]`` =
  ``meta.page.nextCursor``) and the extra fields we map (work email, hire date, department,
  division, location, employment status, manager); ``filter[ids]`` re-fetches changed people.
- ``changed``: ``GET /employees/changed?since=`` → ids inserted/updated (to re-fetch) and
  deleted, and ``latest``, the next cursor. The engine owns the cursor.
- ``time_off`` (``/time_off/requests``) and ``whos_out`` for a date range: unpaged arrays.

``base_url`` names the company: ``https://{companyDomain}.bamboohr.com/api/v1`` (current) or
``https://api.bamboohr.com/api/gateway.php/{companyDomain}/v1`` (legacy); both work alike.
Throttling is 503 + ``Retry-After`` until 2026-09-16 and 429 + ``Retry-After`` after; the shared
classifier reads both as a rate limit. BambooHR publishes no numbers, so the pacing default
(100 requests per 10 s) is an assumption.
"""

from __future__ import annotations

import base64
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, ClassVar

import holidays
import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from collectors.bamboohr.mapping import needs_detail
from collectors.connector import Connector
from collectors.errors import SchemaDriftError
from collectors.http import call_json
from collectors.outbound import DEFAULT_MAX_RESPONSE_BYTES
from collectors.pacing import Limit, Pacer
from collectors.paging import Cursor
from collectors.streams import Stream, pages
from collectors.timestamps import parse_utc, utc_text

VENDOR = "bamboohr"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
LAST_CHANGED = "lastChanged"  # the cursor field ``pages()`` adds from ``/employees/changed``
MAX_PAGE_LIMIT = 2500
IDS_PER_REQUEST = 100
LIST_FIELDS = (
    "workEmail",
    "hireDate",
    "departmentName",
    "divisionName",
    "locationName",
    "employmentStatusName",
    "reportsToId",
)
DETAIL_FIELDS = (
    "firstName",
    "lastName",
    "jobTitle",
    "department",
    "division",
    "location",
    "workEmail",
    "status",
    "employmentHistoryStatus",
    "hireDate",
    "terminationDate",
    "supervisorEId",
    "standardHoursPerWeek",
)


class BambooHRSettings(BaseModel):
    """Where and how to reach one BambooHR company."""

    model_config = ConfigDict(extra="forbid")
    live_required: ClassVar[tuple[str, ...]] = ("base_url", "api_key")

    base_url: str = "http://127.0.0.1:8715/api/gateway.php/meridian/v1"
    api_key: SecretStr = SecretStr("sandbox-bamboohr-key")
    webhook_key: SecretStr | None = None  # signs BambooHR's webhooks to us (none: not received)
    page_limit: int = Field(default=1000, ge=1, le=MAX_PAGE_LIMIT)
    timeout_seconds: float = 30.0
    max_response_bytes: int = Field(default=DEFAULT_MAX_RESPONSE_BYTES, ge=1024)
    requests_per_10s: int = 100
    # the country (ISO 3166 alpha-2) whose public holidays each location observes: BambooHR has
    # one company holiday calendar and its API does not say whom a holiday applies to
    location_countries: dict[str, str] = Field(default_factory=dict)

    @field_validator("location_countries")
    @classmethod
    def _known_countries(cls, value: dict[str, str]) -> dict[str, str]:
        supported = holidays.list_supported_countries()
        unknown = sorted({c for c in value.values() if c.upper() not in supported})
        if unknown:
            raise ValueError(f"no public holiday calendar for country codes {unknown}")
        return {location: country.upper() for location, country in value.items()}


class BambooHRAuth(httpx.Auth):
    """HTTP Basic with the API key as the username and a throwaway password."""

    def __init__(self, api_key: SecretStr) -> None:
        self._api_key = api_key

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        pair = f"{self._api_key.get_secret_value()}:x".encode()
        request.headers["Authorization"] = f"Basic {base64.b64encode(pair).decode()}"
        yield request


def bamboohr_pacer(settings: BambooHRSettings, *, time_scale: float = 1.0) -> Pacer:
    return Pacer([Limit(settings.requests_per_10s, 10.0)], time_scale=time_scale, name=VENDOR)


EMPLOYEES = Stream(
    "employees",
    path="/employees",
    records="data",
    paginator=Cursor("meta.page.nextCursor", param="page[after]"),
    key="employeeId",
    cursor=None,
)


STREAMS = {"employees": EMPLOYEES}


@dataclass(frozen=True)
class ChangeSet:
    """What ``/employees/changed`` reported since a moment; ``latest`` is the next cursor."""

    since: datetime
    latest: datetime
    changed: dict[str, datetime]  # inserted or updated: employee id -> lastChanged
    deleted: dict[str, datetime]


class BambooHRConnector(Connector[BambooHRSettings]):
    """Reads BambooHR employees, their changes, time off and Who's Out as raw records."""

    name = VENDOR
    streams = STREAMS

    def default_pacer(self, settings: BambooHRSettings) -> Pacer:
        return bamboohr_pacer(settings)

    def auth(self) -> httpx.Auth:
        return BambooHRAuth(self.settings.api_key)

    def headers(self) -> dict[str, str]:
        return {"Accept": "application/json"}  # several endpoints default to XML

    def params(self, ids: Sequence[str] | None = None) -> dict[str, str]:
        params = {"page[limit]": str(self.settings.page_limit), "fields": ",".join(LIST_FIELDS)}
        if ids is not None:
            params["filter[ids]"] = ",".join(ids)
        return params

    def employee_pages(
        self, client: httpx.Client, ids: Sequence[str] | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        """Every employee (active and inactive), or only ``ids``, a page at a time."""
        if ids is None:
            yield from self._pages(client, None)
            return
        for start in range(0, len(ids), IDS_PER_REQUEST):
            yield from self._pages(client, list(ids[start : start + IDS_PER_REQUEST]))

    def _pages(self, client: httpx.Client, ids: list[str] | None) -> Iterator[list[dict[str, Any]]]:
        return pages(client, EMPLOYEES, self.params(ids))

    def pages(
        self, client: httpx.Client, stream: str = "employees", since: datetime | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        """Employees changed since ``since`` (everyone when ``None``), a page at a time, each
        record stamped with its ``lastChanged`` from ``/employees/changed`` (the cursor field).

        A full read lists every employee (the list is the authoritative roster) and takes the
        stamps from one ``changed`` call; an incremental read re-fetches only the changed ids.
        Deletions are not records: read them from ``changed()``.
        """
        if stream not in self.streams:
            raise KeyError(f"{VENDOR} has no stream {stream!r}")
        changes = self.changed(client, since or EPOCH)
        ids = None if since is None else sorted(changes.changed, key=_numeric)
        if ids == []:
            return
        for page in self.employee_pages(client, ids):
            yield [_stamped(raw, changes) for raw in page]

    def complete(self, client: httpx.Client, page: list[Any]) -> list[Any]:
        """The page with the detail fields (termination date, standard hours) added to the
        records that need them (``needs_detail``): one call per such person, not per page."""
        out = []
        for raw in page:
            if needs_detail(raw):
                wanted = ("terminationDate", "standardHoursPerWeek")
                raw = raw | self.employee(client, str(raw.get("employeeId")), wanted)
            out.append(raw)
        return out

    def changed(self, client: httpx.Client, since: datetime) -> ChangeSet:
        """Employees changed at or after ``since``, split into changed and deleted ids."""
        body = self._get(client, "employees/changed", {"since": iso(since), "type": "all"})
        employees = body.get("employees") if isinstance(body, dict) else None
        latest = parse_utc(body.get("latest")) if isinstance(body, dict) else None
        if latest is None or not isinstance(employees, dict):
            raise SchemaDriftError(
                f"{VENDOR} employees/changed: no latest timestamp or employees map",
                vendor=VENDOR,
                details=sorted(body) if isinstance(body, dict) else type(body).__name__,
            )
        changed: dict[str, datetime] = {}
        deleted: dict[str, datetime] = {}
        for key, entry in employees.items():
            action, stamp = _change(key, entry)
            (deleted if action == "Deleted" else changed)[str(entry.get("id", key))] = stamp
        return ChangeSet(since=since, latest=max(latest, since), changed=changed, deleted=deleted)

    def employee(
        self, client: httpx.Client, employee_id: str, fields: Sequence[str] = DETAIL_FIELDS
    ) -> dict[str, Any]:
        """One employee's fields (termination date, standard hours, ...) by alias."""
        body = self._get(client, f"employees/{employee_id}", {"fields": ",".join(fields)})
        if not isinstance(body, dict):
            raise SchemaDriftError(f"{VENDOR} employee {employee_id}: not an object", vendor=VENDOR)
        return body

    def time_off(
        self,
        client: httpx.Client,
        start: date,
        end: date,
        *,
        statuses: Sequence[str] | None = None,
        employee_id: str | None = None,
    ) -> list[dict[str, Any]]:
        """Time off requests overlapping ``start``..``end`` (inclusive)."""
        params = {"start": start.isoformat(), "end": end.isoformat()}
        if statuses:
            params["status"] = ",".join(statuses)
        if employee_id is not None:
            params["employeeId"] = employee_id
        return self._array(client, "time_off/requests", params)

    def whos_out(self, client: httpx.Client, start: date, end: date) -> list[dict[str, Any]]:
        """Approved absences and company holidays overlapping ``start``..``end``."""
        params = {"start": start.isoformat(), "end": end.isoformat()}
        return self._array(client, "time_off/whos_out", params)

    def _array(self, client: httpx.Client, path: str, params: dict[str, str]) -> list[Any]:
        body = self._get(client, path, params)
        if not isinstance(body, list):
            raise SchemaDriftError(
                f"{VENDOR} {path}: expected a JSON array",
                vendor=VENDOR,
                details=type(body).__name__,
            )
        return body

    def _get(self, client: httpx.Client, path: str, params: dict[str, str]) -> Any:
        return call_json(client, "GET", path, route=f"/{path}", params=params)


def _numeric(employee_id: str) -> tuple[int, str]:
    return (int(employee_id), "") if employee_id.isdigit() else (0, employee_id)


def _stamped(raw: Any, changes: ChangeSet) -> Any:
    if not isinstance(raw, dict):
        return raw  # the mapping reports it as schema drift
    stamp = changes.changed.get(str(raw.get("employeeId")), changes.since)
    return raw | {LAST_CHANGED: iso(stamp)}


def _change(key: str, entry: Any) -> tuple[str, datetime]:
    action = entry.get("action") if isinstance(entry, dict) else None
    stamp = parse_utc(entry.get("lastChanged")) if isinstance(entry, dict) else None
    if action not in ("Inserted", "Updated", "Deleted") or stamp is None:
        raise SchemaDriftError(
            f"{VENDOR} employees/changed: entry {key} has action {action!r} and no valid "
            "lastChanged",
            vendor=VENDOR,
            details=entry,
        )
    return action, stamp


def iso(moment: datetime) -> str:
    """An instant as BambooHR reads one (``since``): UTC to the second, with ``+00:00``."""
    return utc_text(moment, offset="+00:00")
