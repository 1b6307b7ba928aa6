"""Harvest v2: clients, projects, users, tasks, assignments, time entries and expenses; provisions
clients, projects and user assignments.

Auth is Harvest's three headers (bearer token, ``Harvest-Account-Id``, a ``User-Agent`` naming us);
every list follows ``links.next`` (page-number or cursor style alike); ``updated_since`` is the
incremental filter. Harvest reports no deletions, so deletions are found by full reconciliation.

Approval: Harvest's Timesheet Approval shows up only as ``is_closed`` (with ``is_locked`` and a
``locked_reason``); an approved entry is ``is_closed``. Harvest gives no approval timestamp, so
``approved_at`` is the entry's ``updated_at`` when it is closed (the approval is its last change).

Time entries are mapped a page at a time into a polars frame (the hot path, DESIGN §10);
reference data is mapped record by record into canonical entities. An entry Harvest already shows
as invoiced (``is_billed``, or an ``invoice`` reference: invoiced outside plan2cash) carries
``is_billed`` in the frame so that the engine never bills it again.

Harvest has no idempotency key, so every create looks before it leaps: find the record by its
natural key (client name, project code, user on project), create it only when absent, and after a
create whose reply was lost, look again before creating again.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx
import polars as pl
from pydantic import BaseModel, SecretStr

from collectors.connector import Connector
from collectors.entities import (
    Assignment,
    Contract,
    Customer,
    Expense,
    Project,
    Resource,
    TimeEntry,
    canonical_id,
)
from collectors.errors import RateLimitedError, RetryableError, SchemaDriftError
from collectors.http import Stream, call_json, pages
from collectors.pacing import Limit, Pacer
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
    requests_per_15s: int = 100


class HarvestAuth(httpx.Auth):
    """The three headers Harvest requires on every request."""

    def __init__(self, settings: HarvestSettings) -> None:
        self._settings = settings

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._settings.token.get_secret_value()}"
        request.headers["Harvest-Account-Id"] = self._settings.account_id
        request.headers["User-Agent"] = self._settings.user_agent
        yield request


def harvest_pacer(settings: HarvestSettings, *, time_scale: float = 1.0) -> Pacer:
    """Harvest's published limit: 100 requests per 15 seconds per access token."""
    return Pacer([Limit(settings.requests_per_15s, 15.0)], time_scale=time_scale, name=VENDOR)


def _stream(name: str) -> Stream:
    return Stream(name, path=f"/{name}", records=name, paginator=NextUrl("links.next"))


STREAMS = {
    name: _stream(name)
    for name in (
        "clients",
        "projects",
        "users",
        "tasks",
        "user_assignments",
        "task_assignments",
        "time_entries",
        "expenses",
    )
}


class HarvestConnector(Connector[HarvestSettings]):
    """Reads Harvest collections as raw pages and maps them to canonical entities."""

    name = VENDOR
    streams = STREAMS

    def default_pacer(self, settings: HarvestSettings) -> Pacer:
        return harvest_pacer(settings)

    def auth(self) -> httpx.Auth:
        return HarvestAuth(self.settings)

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
            client,
            self.streams[stream],
            self.params(since),
            vendor=VENDOR,
            policy=self._policy,
            pacer=self.pacer,
        )

    def reconcile_ids(self, client: httpx.Client, stream: str) -> set[str]:
        """Every id ``stream`` holds now (a full pass, largest pages): the engine compares it with
        what it stored to find deletions, which Harvest never reports."""
        params = {"per_page": str(MAX_PER_PAGE)}
        return {
            str(record["id"])
            for page in pages(
                client,
                self.streams[stream],
                params,
                vendor=VENDOR,
                policy=self._policy,
                pacer=self.pacer,
            )
            for record in page
            if isinstance(record, dict) and record.get("id") is not None
        }

    # --- provisioning: look up, then create ---------------------------------------------------

    def ensure_client(self, client: httpx.Client, *, name: str, currency: str) -> int:
        """The id of the client named ``name`` (case-insensitive), created if absent."""

        def find() -> int | None:
            return self._find(client, "clients", {}, lambda c: _same(c.get("name"), name))

        body = {"name": name, "currency": currency, "is_active": True}
        return self._create_once(client, "clients", "/clients", body, find)

    def ensure_project(
        self,
        client: httpx.Client,
        *,
        client_id: int,
        name: str,
        code: str | None = None,
        hourly_rate: float | None = None,
        starts_on: date | None = None,
        ends_on: date | None = None,
    ) -> int:
        """The id of the client's project with this code (or name when it has none)."""

        def find() -> int | None:
            def match(p: dict[str, Any]) -> bool:
                return _same(p.get("code"), code) if code else _same(p.get("name"), name)

            return self._find(client, "projects", {"client_id": str(client_id)}, match)

        body: dict[str, Any] = {
            "client_id": client_id,
            "name": name,
            "is_billable": True,
            "bill_by": "People",
            "budget_by": "none",
        }
        optional = {
            "code": code,
            "hourly_rate": hourly_rate,
            "starts_on": starts_on,
            "ends_on": ends_on,
        }
        body |= {
            k: v.isoformat() if isinstance(v, date) else v
            for k, v in optional.items()
            if v is not None
        }
        return self._create_once(client, "projects", "/projects", body, find)

    def ensure_user_assignment(
        self,
        client: httpx.Client,
        *,
        project_id: int,
        user_id: int,
        hourly_rate: float | None = None,
    ) -> int:
        """The id of ``user_id``'s assignment to ``project_id``, created if absent."""
        path = f"/projects/{project_id}/user_assignments"
        nested = Stream("user_assignments", path, "user_assignments", NextUrl("links.next"))

        def find() -> int | None:
            for page in pages(
                client,
                nested,
                {"per_page": str(MAX_PER_PAGE)},
                vendor=VENDOR,
                policy=self._policy,
                pacer=self.pacer,
            ):
                for record in page:
                    if _ref(record, "user") == user_id:
                        return int(record["id"])
            return None

        body: dict[str, Any] = {"user_id": user_id, "use_default_rates": hourly_rate is None}
        if hourly_rate is not None:
            body["hourly_rate"] = hourly_rate
        return self._create_once(client, "user_assignments", path, body, find)

    def _find(
        self,
        client: httpx.Client,
        stream: str,
        params: dict[str, str],
        match: Callable[[dict[str, Any]], bool],
    ) -> int | None:
        query = {"per_page": str(MAX_PER_PAGE), **params}
        for page in pages(
            client,
            self.streams[stream],
            query,
            vendor=VENDOR,
            policy=self._policy,
            pacer=self.pacer,
        ):
            for record in page:
                if isinstance(record, dict) and match(record):
                    return int(record["id"])
        return None

    def _create_once(
        self,
        client: httpx.Client,
        what: str,
        path: str,
        body: dict[str, Any],
        find: Callable[[], int | None],
    ) -> int:
        """Look up, create when absent; a create whose outcome is unknown is never repeated
        before looking up again. Bounded by the retry policy's attempts."""
        once = replace(self._policy, attempts=1)
        last: RetryableError | None = None
        for _ in range(self._policy.attempts):
            found = find()
            if found is not None:
                return found
            try:
                _, created = call_json(
                    client,
                    "POST",
                    path.lstrip("/"),
                    vendor=VENDOR,
                    route=path,
                    policy=once,
                    pacer=self.pacer,
                    json=body,
                )
            except RetryableError as exc:
                last = exc
                if isinstance(exc, RateLimitedError) and exc.retry_after and self.pacer:
                    self.pacer.hold(min(exc.retry_after, self._policy.max_retry_after))
                continue
            if not isinstance(created, dict) or created.get("id") is None:
                raise SchemaDriftError(
                    f"harvest created {what} without an id", vendor=VENDOR, details=created
                )
            return int(created["id"])
        assert last is not None
        raise last


def _same(value: Any, wanted: str | None) -> bool:
    return isinstance(value, str) and wanted is not None and value.casefold() == wanted.casefold()


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


def to_expense(raw: dict[str, Any]) -> Expense:
    """An expense; approved once Harvest's approval closed it, billable as Harvest says."""
    client = raw.get("client") or {}
    category = raw.get("expense_category") or {}
    return Expense(
        id=canonical_id(VENDOR, "expense", raw["id"]),
        source=VENDOR,
        source_id=str(raw["id"]),
        updated_at=raw["updated_at"],
        resource_id=canonical_id(VENDOR, "resource", _ref(raw, "user")),
        project_id=canonical_id(VENDOR, "project", _ref(raw, "project")),
        spent_date=raw["spent_date"],
        amount=Decimal(str(raw["total_cost"])).quantize(Decimal("0.01")),
        currency=client.get("currency") or "USD",
        billable=bool(raw.get("billable")),
        approved=raw.get("is_closed") is True,
        category=category.get("name"),
    )


def to_time_entry(raw: dict[str, Any]) -> TimeEntry:
    """One entry as a canonical entity (for the edges: replay, single-record checks); the hot
    path maps whole pages with ``time_entries_frame`` instead. Raises on a malformed record."""
    row = dict(zip(TIME_SCHEMA, _time_row(0, raw), strict=True))
    return TimeEntry(
        id=row["id"],
        source=VENDOR,
        source_id=row["source_id"],
        updated_at=row["updated_at"],
        resource_id=row["resource_id"],
        project_id=row["project_id"],
        task=row["task"],
        spent_date=row["spent_date"],
        hours=raw["hours"] if row["hours"] is None else Decimal(row["hours"]),
        billable=row["billable"],
        status=row["status"],
        notes=row["notes"],
        vendor_rate=None if row["vendor_rate"] is None else Decimal(row["vendor_rate"]),
        submitted_at=row["submitted_at"],
        approved_at=row["approved_at"],
    )


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


# What a time entry page is read as: every field we use, as the type we want or as text where
# the value needs parsing. A value of the wrong type becomes null (strict=False), which the rules
# then report as a malformed record, with the raw payload, instead of failing the page.
RAW_TIME_SCHEMA: dict[str, Any] = {
    "id": pl.Int64,
    "spent_date": pl.String,
    "hours": pl.String,
    "billable": pl.Boolean,
    "is_closed": pl.Boolean,
    "is_billed": pl.Boolean,
    "user": pl.Struct({"id": pl.Int64}),
    "project": pl.Struct({"id": pl.Int64}),
    "client": pl.Struct({"id": pl.Int64}),
    "task": pl.Struct({"name": pl.String}),
    "billable_rate": pl.String,
    "notes": pl.String,
    "created_at": pl.String,
    "updated_at": pl.String,
    "invoice": pl.Struct({"id": pl.Int64}),
}
UTC_TIME = pl.Datetime("us", "UTC")


def time_entries_frame(page: list[Any]) -> pl.DataFrame:
    """One page of Harvest time entries as a frame. Unparseable fields become nulls, which the
    engine's rules report as malformed records (with the raw payload) instead of crashing.

    Built column-wise by polars (the hot path, DESIGN §10); a page polars cannot take in one go
    (a value of a type no column can hold) is built record by record instead."""
    records = [raw if isinstance(raw, dict) else {} for raw in page]
    try:
        raw = pl.DataFrame(records, schema=RAW_TIME_SCHEMA, strict=False)
    except (pl.exceptions.ComputeError, TypeError, ValueError, OverflowError):
        return _time_entries_by_record(page)
    return _from_columns(raw)


def _from_columns(raw: pl.DataFrame) -> pl.DataFrame:
    ids = raw["id"].cast(pl.String)
    known = pl.col("source_id").is_not_null()
    closed = pl.col("is_closed").fill_null(False)
    frame = raw.with_columns(
        source_id=ids,
        row=pl.int_range(pl.len(), dtype=pl.Int64),
        project_source_id=pl.col("project").struct.field("id").cast(pl.String),
        user_source_id=pl.col("user").struct.field("id").cast(pl.String),
        customer_source_id=pl.col("client").struct.field("id").cast(pl.String),
        updated=_instant("updated_at"),
    )
    frame = frame.select(
        pl.Series("id", _canonical("time_entry", ids), dtype=pl.String),
        "source_id",
        pl.col("user_source_id")
        .replace_strict(
            _id_map("resource", frame["user_source_id"]), default=None, return_dtype=pl.String
        )
        .alias("resource_id"),
        pl.col("project_source_id")
        .replace_strict(
            _id_map("project", frame["project_source_id"]), default=None, return_dtype=pl.String
        )
        .alias("project_id"),
        "project_source_id",
        "customer_source_id",
        pl.col("task").struct.field("name").alias("task"),
        pl.col("spent_date").str.to_date("%Y-%m-%d", strict=False),
        pl.col("hours").cast(DECIMAL, strict=False),
        "billable",
        pl.when(closed).then(pl.lit("approved")).otherwise(pl.lit("submitted")).alias("status"),
        "notes",
        pl.col("billable_rate").cast(DECIMAL, strict=False).alias("vendor_rate"),
        _instant("created_at").alias("submitted_at"),
        pl.when(closed).then(pl.col("updated")).alias("approved_at"),
        pl.col("updated").alias("updated_at"),
        # invoiced in Harvest (outside plan2cash): an invoice reference or the flag
        pl.when(pl.col("invoice").struct.field("id").is_not_null())
        .then(pl.lit(True))
        .otherwise(pl.col("is_billed"))
        .alias("is_billed"),
        "row",
    )
    # a record without an id is unreadable as a whole: nothing of it is trusted
    return frame.with_columns(
        [pl.when(known).then(pl.col(c)).alias(c) for c in frame.columns if c != "row"]
    )


def _time_entries_by_record(page: list[Any]) -> pl.DataFrame:
    """The same frame, one record at a time: slower, but takes any value of any type."""
    rows = [_time_row(i, raw) for i, raw in enumerate(page)]
    frame = pl.DataFrame(rows, schema=TIME_SCHEMA, orient="row", strict=False)
    return frame.with_columns(  # exact decimals: money must total to the cent
        pl.col("hours", "vendor_rate").cast(DECIMAL, strict=False)
    )


DECIMAL = pl.Decimal(18, 4)


def _instant(column: str) -> pl.Expr:
    """ISO 8601 with an offset (``Z``, ``+02:00``) or without one (taken as UTC)."""
    text = pl.col(column)
    zoned = text.str.to_datetime(
        "%Y-%m-%dT%H:%M:%S%.f%#z", time_zone="UTC", time_unit="us", strict=False
    )
    naive = text.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f", time_unit="us", strict=False)
    return pl.coalesce(zoned, naive.dt.replace_time_zone("UTC"))


def _canonical(entity_type: str, ids: pl.Series) -> list[str | None]:
    return [None if i is None else canonical_id(VENDOR, entity_type, i) for i in ids]


def _id_map(entity_type: str, ids: pl.Series) -> dict[str, str]:
    """Canonical ids of the distinct values only (a page names few people and projects)."""
    return {i: canonical_id(VENDOR, entity_type, i) for i in ids.drop_nulls().unique()}


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
        True if raw.get("invoice") else _bool(raw.get("is_billed")),  # invoiced outside us
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
