"""BambooHR's time off: requests (``/api/v1/time_off/requests``) and Who's Out, from the world.

A request counts working days (weekdays that are not holidays in the person's region). Its
``amount`` is in days or hours depending on the time off type, as BambooHR types are configured
in one unit or the other; ``dates`` maps every date of the request to that day's amount (zero on
weekends and holidays). Field types follow the spec: ids are integers and amounts numbers.

Who's Out lists approved time off and company holidays overlapping the period, sorted by date.
A holiday that several regions share (same day, same name) is one company holiday, as BambooHR
has a single holiday calendar per company.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sandbox.world.model import Employee, Holiday, TimeOff

DEFAULT_DAY_HOURS = Decimal(8)
WHOS_OUT_DEFAULT_DAYS = 14
STATUSES = frozenset({"approved", "denied", "superceded", "requested", "canceled"})


@dataclass(frozen=True)
class LeaveType:
    id: int
    name: str
    unit: str  # "days" or "hours"
    icon: str


KNOWN_TYPES = {
    "Vacation": LeaveType(78, "Vacation", "days", "palm-trees"),
    "Sick": LeaveType(79, "Sick", "hours", "medical-bag"),
    "Parental leave": LeaveType(80, "Parental leave", "days", "baby-carriage"),
}


def leave_type(kind: str) -> LeaveType:
    """The BambooHR time off type of a world ``kind`` (unknown kinds get a stable id)."""
    known = KNOWN_TYPES.get(kind)
    if known is not None:
        return known
    return LeaveType(100 + sum(kind.encode()) % 900, kind, "days", "calendar")


def days(start: date, end: date) -> Iterable[date]:
    for offset in range((end - start).days + 1):
        yield start + timedelta(days=offset)


def _per_day(leave: TimeOff, person: Employee | None, unit: str) -> Decimal:
    if unit == "hours":
        return leave.hours_per_day
    day_hours = person.weekly_capacity_hours / 5 if person else DEFAULT_DAY_HOURS
    return leave.hours_per_day / (day_hours or DEFAULT_DAY_HOURS)


def request_record(
    leave: TimeOff, person: Employee | None, holidays: frozenset[date], *, notes: bool = True
) -> dict[str, Any]:
    """One item of ``GET /api/v1/time_off/requests``."""
    kind = leave_type(leave.kind)
    per_day = _per_day(leave, person, kind.unit)
    dated = {
        d.isoformat(): float(round(per_day, 2)) if d.weekday() < 5 and d not in holidays else 0.0
        for d in days(leave.start, leave.end)
    }
    pending = leave.status == "requested"
    record: dict[str, Any] = {
        "id": leave.id,
        "employeeId": leave.employee_id,
        "name": person.name if person else "",
        "start": leave.start.isoformat(),
        "end": leave.end.isoformat(),
        "created": leave.created_at.date().isoformat(),
        "status": {
            "lastChanged": leave.updated_at.date().isoformat(),
            "lastChangedByUserId": (person.manager_id if person else None) or 1,
            "status": leave.status,
        },
        "type": {"id": kind.id, "name": kind.name, "icon": kind.icon},
        "amount": {"unit": kind.unit, "amount": round(sum(dated.values()), 2)},
        "actions": {
            "view": True,
            "edit": pending,
            "cancel": leave.status in ("requested", "approved"),
            "approve": pending,
            "deny": pending,
            "bypass": False,
        },
        "dates": dated,
    }
    if notes:
        record["notes"] = {}
    return record


@dataclass(frozen=True)
class RequestFilter:
    """The query of ``/time_off/requests``: an overlap window plus optional narrowing."""

    start: date
    end: date
    statuses: frozenset[str] | None = None
    employee_id: int | None = None
    request_id: int | None = None
    type_ids: frozenset[int] | None = None

    def matches(self, leave: TimeOff) -> bool:
        if leave.end < self.start or leave.start > self.end:
            return False
        if self.statuses is not None and leave.status not in self.statuses:
            return False
        if self.employee_id is not None and leave.employee_id != self.employee_id:
            return False
        if self.request_id is not None and leave.id != self.request_id:
            return False
        return self.type_ids is None or leave_type(leave.kind).id in self.type_ids


def parse_request_filter(query: Mapping[str, str]) -> RequestFilter:
    """Read the query; ``ValueError`` (400 upstream) when start/end are missing or malformed."""
    if not query.get("start") or not query.get("end"):
        raise ValueError("Both start and end dates are required (YYYY-MM-DD)")
    statuses = _csv(query.get("status"))
    if statuses is not None and not statuses <= STATUSES:
        raise ValueError(f"Unknown status {sorted(statuses - STATUSES)}")
    types = _csv(query.get("type"))
    return RequestFilter(
        start=date.fromisoformat(query["start"]),
        end=date.fromisoformat(query["end"]),
        statuses=statuses,
        employee_id=int(query["employeeId"]) if query.get("employeeId") else None,
        request_id=int(query["id"]) if query.get("id") else None,
        type_ids=frozenset(int(t) for t in types) if types is not None else None,
    )


def _csv(raw: str | None) -> frozenset[str] | None:
    if not raw:
        return None
    return frozenset(part.strip() for part in raw.split(",") if part.strip())


@dataclass(frozen=True)
class CompanyHoliday:
    id: int
    name: str
    day: date


def company_holidays(holidays: Iterable[Holiday]) -> list[CompanyHoliday]:
    """One company holiday per (day, name), with ids stable for the life of the emulator."""
    unique = sorted({(h.day, h.name) for h in holidays})
    return [CompanyHoliday(i, name, day) for i, (day, name) in enumerate(unique, start=1)]


def whos_out(
    leaves: Iterable[TimeOff],
    people: Mapping[int, Employee],
    holidays: Iterable[CompanyHoliday],
    start: date,
    end: date,
) -> list[dict[str, Any]]:
    """Approved time off and holidays overlapping ``start``..``end``, sorted by start date."""
    entries: list[dict[str, Any]] = []
    for leave in leaves:
        if leave.status != "approved" or leave.end < start or leave.start > end:
            continue
        person = people.get(leave.employee_id)
        entries.append(
            {
                "id": leave.id,
                "type": "timeOff",
                "employeeId": leave.employee_id,
                "name": person.name if person else "",
                "start": leave.start.isoformat(),
                "end": leave.end.isoformat(),
            }
        )
    for holiday in holidays:
        if start <= holiday.day <= end:
            day = holiday.day.isoformat()
            entries.append(
                {
                    "id": holiday.id,
                    "type": "holiday",
                    "name": holiday.name,
                    "start": day,
                    "end": day,
                }
            )
    entries.sort(key=lambda e: (e["start"], e["type"] != "holiday", e["id"]))
    return entries
