"""BambooHR ⇄ canonical: employees become ``Resource``; time off and holidays become the small
records below (the canonical entities have no time off or holiday type yet).

Employees come in two shapes: the list endpoint's (``employeeId``, ``jobTitleName``,
``departmentName``, ``locationName``, ...) and the single-employee endpoint's field aliases
(``id``, ``jobTitle``, ``department``, ``location``, ...). Both map through one alias table.
A record that lacks a field we map from, or carries a status we do not know, raises
``SchemaDriftError`` for that record alone. BambooHR writes an unset date as ``0000-00-00``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from collectors.entities import Resource, canonical_id, now_utc
from collectors.errors import SchemaDriftError
from collectors.timestamps import parse_utc

VENDOR = "bamboohr"
DEFAULT_WEEKLY_HOURS = Decimal(40)

# canonical meaning -> the key in a list record, then in a single-employee record
ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("employeeId", "id"),
    "first_name": ("firstName",),
    "last_name": ("lastName",),
    "status": ("status",),
    "role": ("jobTitleName", "jobTitle"),
    "practice": ("departmentName", "department"),
    "region": ("locationName", "location"),
    "legal_entity": ("divisionName", "division"),
    "email": ("workEmail",),
    "employment": ("employmentStatusName", "employmentHistoryStatus"),
    "hire_date": ("hireDate",),
    "termination_date": ("terminationDate",),
    "manager_id": ("reportsToId", "supervisorEId"),
    "weekly_hours": ("standardHoursPerWeek",),
}
REQUIRED = ("id", "first_name", "last_name", "status")


def field(raw: dict[str, Any], meaning: str, *, required: bool = False) -> Any:
    """The value for ``meaning`` under whichever alias the record uses."""
    for key in ALIASES[meaning]:
        if key in raw:
            return raw[key]
    if required:
        raise SchemaDriftError(
            f"{VENDOR} employee {_ident(raw)}: no {' or '.join(ALIASES[meaning])} field",
            vendor=VENDOR,
            details=sorted(raw),
        )
    return None


def _ident(raw: dict[str, Any]) -> str:
    return str(raw.get("employeeId", raw.get("id", "?")))


def require(raw: dict[str, Any], meanings: tuple[str, ...]) -> None:
    """Raise ``SchemaDriftError`` unless every meaning is present (null is allowed)."""
    for meaning in meanings:
        field(raw, meaning, required=True)


def parse_date(value: Any) -> date | None:
    if not isinstance(value, str) or not value or value.startswith("0000-00-00"):
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def _employment_status(raw: dict[str, Any]) -> Literal["active", "terminated", "leave"]:
    status = field(raw, "status", required=True)
    if status not in ("Active", "Inactive"):
        raise SchemaDriftError(
            f"{VENDOR} employee {_ident(raw)}: unknown status {status!r}",
            vendor=VENDOR,
            details=status,
        )
    if status == "Inactive":
        return "terminated"
    employment = str(field(raw, "employment") or "").lower()
    return "leave" if "leave" in employment else "active"


def _weekly_hours(raw: dict[str, Any]) -> Decimal:
    value = field(raw, "weekly_hours")
    try:
        hours = Decimal(str(value)) if value not in (None, "") else DEFAULT_WEEKLY_HOURS
    except InvalidOperation:
        return DEFAULT_WEEKLY_HOURS
    return hours if 0 <= hours <= 168 else DEFAULT_WEEKLY_HOURS


def _stamp(raw: dict[str, Any]) -> datetime | None:
    """The ``lastChanged`` the connector stamped (an instant with its offset), if any."""
    return parse_utc(raw.get("lastChanged"), assume_utc=False)


def needs_detail(raw: dict[str, Any]) -> bool:
    """Whether a list record lacks what only the single-employee endpoint has and the resource
    needs: the termination date of someone who left, the standard hours of someone who is not
    full-time (the list has neither; everyone else's defaults are right)."""
    if not isinstance(raw, dict) or field(raw, "weekly_hours") is not None:
        return False
    employment = str(field(raw, "employment") or "").lower()
    return field(raw, "status") == "Inactive" or (bool(employment) and employment != "full-time")


def resource_id(employee_id: Any) -> str:
    return canonical_id(VENDOR, "resource", str(employee_id))


def to_resource(raw: dict[str, Any], *, updated_at: datetime | None = None) -> Resource:
    """A ``Resource`` from either employee shape. BambooHR's employee records carry no
    modification time: ``updated_at`` is the record's ``lastChanged`` (added by the connector's
    ``pages()`` from ``/employees/changed``), else the ``updated_at`` given, else now."""
    require(raw, REQUIRED)
    source_id = str(field(raw, "id"))
    first = field(raw, "first_name") or ""
    last = field(raw, "last_name") or ""
    return Resource(
        id=resource_id(source_id),
        source=VENDOR,
        source_id=source_id,
        updated_at=_stamp(raw) or updated_at or now_utc(),
        name=f"{first} {last}".strip() or source_id,
        email=field(raw, "email") or None,
        role=field(raw, "role") or None,
        practice=field(raw, "practice") or None,
        region=field(raw, "region") or None,
        weekly_capacity_hours=_weekly_hours(raw),
        employment_status=_employment_status(raw),
        hire_date=parse_date(field(raw, "hire_date")),
        termination_date=parse_date(field(raw, "termination_date")),
    )


TimeOffStatus = Literal["requested", "approved", "denied", "canceled", "superseded"]
_STATUSES: dict[str, TimeOffStatus] = {
    "requested": "requested",
    "approved": "approved",
    "denied": "denied",
    "canceled": "canceled",
    "superceded": "superseded",  # the API's spelling
}


@dataclass(frozen=True)
class TimeOffRecord:
    """One time off request; ``daily`` holds each date's amount in ``unit``."""

    source_id: str
    resource_id: str
    start: date
    end: date
    status: TimeOffStatus
    kind: str
    unit: Literal["days", "hours"]
    amount: Decimal
    daily: tuple[tuple[date, Decimal], ...]
    status_changed_on: date | None
    source: str = VENDOR


@dataclass(frozen=True)
class Absence:
    """Who's Out: an approved absence (dates only)."""

    source_id: str
    resource_id: str
    start: date
    end: date
    source: str = VENDOR


@dataclass(frozen=True)
class Holiday:
    """Who's Out: a company holiday (BambooHR does not say which locations it applies to)."""

    source_id: str
    name: str
    start: date
    end: date
    source: str = VENDOR


def _drift(kind: str, raw: Any, why: str) -> SchemaDriftError:
    ident = raw.get("id", "?") if isinstance(raw, dict) else "?"
    details = sorted(raw) if isinstance(raw, dict) else type(raw).__name__
    return SchemaDriftError(f"{VENDOR} {kind} {ident}: {why}", vendor=VENDOR, details=details)


def _dates(raw: dict[str, Any], kind: str) -> tuple[date, date]:
    start, end = parse_date(raw.get("start")), parse_date(raw.get("end"))
    if start is None or end is None:
        raise _drift(kind, raw, "start or end is missing or not a date")
    return start, end


def _decimal(value: Any) -> Decimal:
    return Decimal(str(value)) if value not in (None, "") else Decimal(0)


def to_time_off(raw: dict[str, Any]) -> TimeOffRecord:
    """A time off request; amounts may be numbers (spec) or strings (older responses)."""
    if not isinstance(raw, dict) or not {"id", "employeeId", "status", "amount"} <= set(raw):
        raise _drift("time off request", raw, "missing id, employeeId, status or amount")
    start, end = _dates(raw, "time off request")
    status_raw = str((raw["status"] or {}).get("status", ""))
    amount = raw["amount"] or {}
    if status_raw not in _STATUSES or amount.get("unit") not in ("days", "hours"):
        raise _drift("time off request", raw, f"unknown status {status_raw!r} or unit")
    try:
        daily = tuple(
            sorted(
                (d, _decimal(v))
                for k, v in (raw.get("dates") or {}).items()
                if (d := parse_date(k))
            )
        )
        total = _decimal(amount.get("amount"))
    except InvalidOperation:
        raise _drift("time off request", raw, "amount is not a number") from None
    return TimeOffRecord(
        source_id=str(raw["id"]),
        resource_id=resource_id(raw["employeeId"]),
        start=start,
        end=end,
        status=_STATUSES[status_raw],
        kind=str((raw.get("type") or {}).get("name") or ""),
        unit=amount["unit"],
        amount=total,
        daily=daily,
        status_changed_on=parse_date((raw["status"] or {}).get("lastChanged")),
    )


def to_whos_out(raw: dict[str, Any]) -> Absence | Holiday:
    """A Who's Out entry: an ``Absence`` (type timeOff) or a ``Holiday``."""
    kind = raw.get("type") if isinstance(raw, dict) else None
    if kind not in ("timeOff", "holiday") or "id" not in raw:
        raise _drift("who's out entry", raw, f"unknown type {kind!r} or no id")
    start, end = _dates(raw, "who's out entry")
    if kind == "holiday":
        return Holiday(str(raw["id"]), str(raw.get("name") or ""), start, end)
    if raw.get("employeeId") is None:
        raise _drift("who's out entry", raw, "time off without employeeId")
    return Absence(str(raw["id"]), resource_id(raw["employeeId"]), start, end)
