"""Harvest v2: clients, projects, users, user assignments and time entries.

Auth is Harvest's three headers (bearer token, ``Harvest-Account-Id``, a ``User-Agent`` naming us);
every list follows ``links.next`` (page-number or cursor style alike); ``updated_since`` is the
incremental filter. Harvest reports no deletions, so deletions are found by full reconciliation.

Approval: Harvest's Timesheet Approval shows up only as ``is_closed`` (with ``is_locked`` and a
``locked_reason``); an approved entry is ``is_closed``. Harvest gives no approval timestamp, so
``approved_at`` is the entry's ``updated_at`` when it is closed (the approval is its last change).

Time entries are mapped a page at a time into a polars frame (the hot path, DESIGN §10);
reference data is mapped record by record into canonical entities.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx
import polars as pl
from pydantic import BaseModel, SecretStr

from collectors.entities import (
    Assignment,
    Contract,
    Customer,
    Project,
    Resource,
    canonical_id,
)
from collectors.http import DEFAULT_POLICY, RetryPolicy, Stream, make_client, pages
from collectors.paging import NextUrl

VENDOR = "harvest"
MAX_PER_PAGE = 2000


class HarvestSettings(BaseModel):
    """Where and how to reach one Harvest account."""

    base_url: str = "http://127.0.0.1:8711/v2"
    account_id: str = "100001"
    token: SecretStr = SecretStr("sandbox-harvest-token")
    user_agent: str = "plan2cash (ops@plan2cash.invalid)"
    per_page: int = MAX_PER_PAGE
    timeout_seconds: float = 30.0


class HarvestAuth(httpx.Auth):
    """The three headers Harvest requires on every request."""

    def __init__(self, settings: HarvestSettings) -> None:
        self._settings = settings

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._settings.token.get_secret_value()}"
        request.headers["Harvest-Account-Id"] = self._settings.account_id
        request.headers["User-Agent"] = self._settings.user_agent
        yield request


def _stream(name: str) -> Stream:
    return Stream(name, path=f"/{name}", records=name, paginator=NextUrl("links.next"))


STREAMS = {
    name: _stream(name)
    for name in ("clients", "projects", "users", "user_assignments", "time_entries")
}


class HarvestConnector:
    """Reads Harvest collections as raw pages and maps them to canonical entities."""

    name = VENDOR
    streams = STREAMS

    def __init__(
        self,
        settings: HarvestSettings,
        *,
        transport: httpx.BaseTransport | None = None,
        policy: RetryPolicy = DEFAULT_POLICY,
    ) -> None:
        self.settings = settings
        self._transport = transport
        self._policy = policy

    def client(self) -> httpx.Client:
        return make_client(
            self.settings.base_url,
            auth=HarvestAuth(self.settings),
            transport=self._transport,
            timeout=self.settings.timeout_seconds,
        )

    def params(self, since: datetime | None) -> dict[str, str]:
        params = {"per_page": str(min(self.settings.per_page, MAX_PER_PAGE))}
        if since is not None:
            params["updated_since"] = iso(since)
        return params

    def pages(
        self, client: httpx.Client, stream: str, since: datetime | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        """Raw pages of ``stream`` changed since ``since`` (all of it when ``None``)."""
        return pages(
            client, self.streams[stream], self.params(since), vendor=VENDOR, policy=self._policy
        )


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_datetime(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _id(system_type: str, raw: Any) -> str | None:
    return canonical_id(VENDOR, system_type, raw) if raw is not None else None


def _ref(record: dict[str, Any], key: str) -> Any:
    value = record.get(key)
    return value.get("id") if isinstance(value, dict) else None


# --- reference data: one canonical entity per record ------------------------------------------


def to_customer(raw: dict[str, Any]) -> Customer:
    return Customer(
        id=canonical_id(VENDOR, "customer", raw["id"]),
        source=VENDOR,
        source_id=str(raw["id"]),
        updated_at=raw["updated_at"],
        name=raw["name"],
        currency=raw.get("currency") or "USD",
        active=bool(raw.get("is_active", True)),
    )


def to_project_and_contract(raw: dict[str, Any]) -> tuple[Project, Contract]:
    """A Harvest project is both the delivery project and, until a CRM or PSA supplies one, the
    time-and-materials contract it bills under (one contract per project)."""
    client = raw.get("client") or {}
    customer_id = canonical_id(VENDOR, "customer", client["id"])
    contract_id = canonical_id(VENDOR, "contract", raw["id"])
    common: dict[str, Any] = {
        "source": VENDOR,
        "source_id": str(raw["id"]),
        "updated_at": raw["updated_at"],
        "currency": client.get("currency") or "USD",
        "start": raw.get("starts_on"),
        "end": raw.get("ends_on"),
    }
    status = "active" if raw.get("is_active", True) else "closed"
    project = Project(
        id=canonical_id(VENDOR, "project", raw["id"]),
        contract_id=contract_id,
        customer_id=customer_id,
        code=raw.get("code"),
        name=raw["name"],
        status=status,
        budget=_money(raw.get("budget")) if raw.get("budget_by") == "project_cost" else None,
        **common,
    )
    contract = Contract(
        id=contract_id,
        customer_id=customer_id,
        name=raw["name"],
        not_to_exceed=_money(raw.get("fee")) if raw.get("is_fixed_fee") else None,
        status=status,
        **common,
    )
    return project, contract


def to_resource(raw: dict[str, Any]) -> Resource:
    roles = raw.get("roles") or []
    capacity = Decimal(raw.get("weekly_capacity") or 144000) / 3600
    return Resource(
        id=canonical_id(VENDOR, "resource", raw["id"]),
        source=VENDOR,
        source_id=str(raw["id"]),
        updated_at=raw["updated_at"],
        name=f"{raw.get('first_name', '')} {raw.get('last_name', '')}".strip(),
        email=raw.get("email"),
        role=roles[0] if roles else None,
        cost_rate=_money(raw.get("cost_rate")),
        weekly_capacity_hours=capacity.quantize(Decimal("0.01")),
        employment_status="active" if raw.get("is_active", True) else "terminated",
    )


def to_assignment(raw: dict[str, Any]) -> Assignment:
    """``bill_by: People``: the assignment's hourly rate is the rate the person bills at on that
    project. With ``use_default_rates`` the contract's rate card for the person's role applies."""
    user_id = _ref(raw, "user")
    rate = None if raw.get("use_default_rates") else raw.get("hourly_rate")
    return Assignment(
        id=canonical_id(VENDOR, "assignment", raw["id"]),
        source=VENDOR,
        source_id=str(raw["id"]),
        updated_at=raw["updated_at"],
        project_id=canonical_id(VENDOR, "project", _ref(raw, "project")),
        resource_id=canonical_id(VENDOR, "resource", user_id),
        rate_override=_money(rate),
        active=bool(raw.get("is_active", True)),
    )


def _money(value: Any) -> Decimal | None:
    if value is None:
        return None
    return Decimal(str(value)).quantize(Decimal("0.0001"))


# --- time entries: a page at a time -----------------------------------------------------------

TIME_SCHEMA: dict[str, Any] = {
    "id": pl.String,
    "source_id": pl.String,
    "resource_id": pl.String,
    "project_id": pl.String,
    "project_source_id": pl.String,
    "customer_source_id": pl.String,
    "task": pl.String,
    "spent_date": pl.Date,
    "hours": pl.String,
    "billable": pl.Boolean,
    "status": pl.String,
    "notes": pl.String,
    "vendor_rate": pl.String,
    "submitted_at": pl.Datetime("us", "UTC"),
    "approved_at": pl.Datetime("us", "UTC"),
    "updated_at": pl.Datetime("us", "UTC"),
    "is_billed": pl.Boolean,
    "row": pl.Int64,
}


def time_entries_frame(page: list[dict[str, Any]]) -> pl.DataFrame:
    """One page of Harvest time entries as a frame; unparseable fields become nulls, which the
    engine's rules report as malformed records (with the raw payload) instead of crashing."""
    rows = [_time_row(i, raw) for i, raw in enumerate(page)]
    frame = pl.DataFrame(rows, schema=TIME_SCHEMA, orient="row", strict=False)
    return frame.with_columns(  # exact decimals: money must total to the cent
        pl.col("hours", "vendor_rate").cast(DECIMAL, strict=False)
    )


DECIMAL = pl.Decimal(18, 4)


def _time_row(i: int, raw: Any) -> tuple[Any, ...]:
    if not isinstance(raw, dict) or raw.get("id") is None:
        return (None,) * (len(TIME_SCHEMA) - 1) + (i,)
    closed = raw.get("is_closed") is True
    updated = parse_datetime(raw.get("updated_at"))
    task = raw.get("task")
    return (
        canonical_id(VENDOR, "time_entry", raw["id"]),
        str(raw["id"]),
        _id("resource", _ref(raw, "user")),
        _id("project", _ref(raw, "project")),
        _str(_ref(raw, "project")),
        _str(_ref(raw, "client")),
        task.get("name") if isinstance(task, dict) else None,
        _date(raw.get("spent_date")),
        _number(raw.get("hours")),
        _bool(raw.get("billable")),
        "approved" if closed else "submitted",
        raw.get("notes"),
        _number(raw.get("billable_rate")),
        parse_datetime(raw.get("created_at")),
        updated if closed else None,
        updated,
        _bool(raw.get("is_billed")),
        i,
    )


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def _bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _number(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    return str(value)


def _date(value: Any) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None
