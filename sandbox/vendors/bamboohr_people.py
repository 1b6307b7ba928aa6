"""BambooHR's view of the firm's people: world employees rendered as BambooHR employee records.

One projection, three shapes, all from ``bamboohr_public.yaml``:

- ``GET /api/v1/employees`` (``GetEmployeesEmployeeResponse``): ``employeeId`` (a string), the
  fixed identity fields, ``status`` Active|Inactive, ``_restrictedFields``, plus the optional
  fields asked for in ``fields=`` (``departmentName``, ``locationName``, ``reportsToId``, ...);
- ``GET /api/v1/employees/{id}`` (``GetEmployeeResponse``): ``id`` plus the field aliases asked
  for (``department``, ``location``, ``division``, ``jobTitle``, ``terminationDate``, ...);
- ``GET /api/v1/employees/directory``: the directory's fixed fieldset.

Mapping from the world: department = practice, location = region, division = legal entity,
job title = role, supervisor = manager. ``status`` is Inactive from the termination date on.
Unset dates on the single-employee endpoint are ``"0000-00-00"``, as BambooHR writes them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sandbox.world.model import Employee, World

NO_DATE = "0000-00-00"
FULL_TIME_HOURS = 35
EMPLOYMENT_STATUS_IDS = {"Full-Time": "1", "Part-Time": "2", "Terminated": "3"}


@dataclass(frozen=True)
class Org:
    """The names BambooHR shows for the world's ids: departments, locations, divisions, titles."""

    practices: dict[int, str]
    regions: dict[int, str]
    entities: dict[int, str]
    titles: dict[str, int]

    @classmethod
    def of(cls, world: World) -> Org:
        roles = sorted({e.role for e in world.employees})
        return cls(
            practices={p.id: p.name for p in world.practices},
            regions={r.id: r.name for r in world.regions},
            entities={e.id: e.name for e in world.legal_entities},
            titles={role: i for i, role in enumerate(roles, start=1)},
        )

    def title_id(self, role: str) -> int:
        if role not in self.titles:
            self.titles[role] = len(self.titles) + 1
        return self.titles[role]


@dataclass(frozen=True)
class View:
    """What a rendering needs: the org names, everyone (for managers) and the emulator's today."""

    org: Org
    people: Mapping[int, Employee]
    today: date

    def manager(self, person: Employee) -> Employee | None:
        return self.people.get(person.manager_id) if person.manager_id is not None else None


def is_active(person: Employee, today: date) -> bool:
    return person.termination_date is None or person.termination_date > today


def status(person: Employee, today: date) -> str:
    return "Active" if is_active(person, today) else "Inactive"


def employment_status(person: Employee, today: date) -> str:
    if not is_active(person, today):
        return "Terminated"
    return "Full-Time" if person.weekly_capacity_hours >= FULL_TIME_HOURS else "Part-Time"


def _manager_name(person: Employee, view: View) -> str | None:
    manager = view.manager(person)
    return manager.name if manager else None


def _manager_id(person: Employee, view: View) -> str | None:
    manager = view.manager(person)
    return str(manager.id) if manager else None


def _none(person: Employee, view: View) -> None:
    return None


Field = Callable[[Employee, View], Any]

# ``fields=`` of the list endpoint: exactly the spec's ``EmployeeOptionalField`` enum.
LIST_FIELDS: dict[str, Field] = {
    "workEmail": lambda p, v: p.email,
    "homeEmail": _none,
    "bestEmail": lambda p, v: p.email,
    "middleName": _none,
    "workPhone": _none,
    "workPhoneExtension": _none,
    "mobilePhone": _none,
    "homePhone": _none,
    "skypeUsername": _none,
    "linkedinUrl": _none,
    "facebookUrl": _none,
    "instagramUrl": _none,
    "twitterUrl": _none,
    "pinterestUrl": _none,
    "birthDate": _none,
    "hireDate": lambda p, v: p.hire_date.isoformat(),
    "divisionName": lambda p, v: v.org.entities.get(p.legal_entity_id),
    "divisionId": lambda p, v: str(p.legal_entity_id),
    "departmentName": lambda p, v: v.org.practices.get(p.practice_id),
    "departmentId": lambda p, v: str(p.practice_id),
    "locationName": lambda p, v: v.org.regions.get(p.region_id),
    "locationId": lambda p, v: str(p.region_id),
    "jobTitleId": lambda p, v: str(v.org.title_id(p.role)),
    "employmentStatusName": lambda p, v: employment_status(p, v.today),
    "employmentStatusId": lambda p, v: EMPLOYMENT_STATUS_IDS[employment_status(p, v.today)],
    "reportsToName": _manager_name,
    "reportsToId": _manager_id,
}

# Field aliases of ``GET /employees/{id}?fields=`` that the firm has data for.
DETAIL_FIELDS: dict[str, Field] = {
    "firstName": lambda p, v: p.first_name,
    "lastName": lambda p, v: p.last_name,
    "preferredName": _none,
    "displayName": lambda p, v: p.name,
    "jobTitle": lambda p, v: p.role,
    "jobTitleName": lambda p, v: p.role,
    "jobTitleId": LIST_FIELDS["jobTitleId"],
    "department": LIST_FIELDS["departmentName"],
    "departmentId": LIST_FIELDS["departmentId"],
    "division": LIST_FIELDS["divisionName"],
    "divisionId": LIST_FIELDS["divisionId"],
    "location": LIST_FIELDS["locationName"],
    "locationId": LIST_FIELDS["locationId"],
    "workEmail": LIST_FIELDS["workEmail"],
    "bestEmail": LIST_FIELDS["bestEmail"],
    "hireDate": LIST_FIELDS["hireDate"],
    "originalHireDate": LIST_FIELDS["hireDate"],
    "terminationDate": lambda p, v: (
        p.termination_date.isoformat() if p.termination_date else NO_DATE
    ),
    "status": lambda p, v: status(p, v.today),
    "employmentStatus": LIST_FIELDS["employmentStatusName"],
    "employmentHistoryStatus": LIST_FIELDS["employmentStatusName"],
    "employmentStatusId": LIST_FIELDS["employmentStatusId"],
    "supervisor": _manager_name,
    "supervisorEId": _manager_id,
    "reportsToId": _manager_id,
    "reportsToName": _manager_name,
    "standardHoursPerWeek": lambda p, v: str(p.weekly_capacity_hours),
    "employeeNumber": lambda p, v: str(p.id),
    "photoUrl": _none,
    "canUploadPhoto": lambda p, v: False,
}


def list_record(person: Employee, view: View, extras: list[str]) -> dict[str, Any]:
    """One ``data`` item of ``GET /api/v1/employees``; unknown ``extras`` are silently ignored."""
    record: dict[str, Any] = {
        "employeeId": str(person.id),
        "firstName": person.first_name,
        "lastName": person.last_name,
        "preferredName": None,
        "photoUrl": None,
        "jobTitleName": person.role,
        "status": status(person, view.today),
        "_restrictedFields": [],
    }
    for name in extras:
        if name in LIST_FIELDS:
            record[name] = LIST_FIELDS[name](person, view)
    return record


def detail_record(person: Employee, view: View, fields: list[str]) -> dict[str, Any]:
    """``GET /api/v1/employees/{id}``: ``id`` plus each known alias asked for."""
    record: dict[str, Any] = {"id": str(person.id)}
    for name in fields:
        if name in DETAIL_FIELDS:
            record[name] = DETAIL_FIELDS[name](person, view)
    return record


DIRECTORY_FIELDS = (
    ("displayName", "text", "Display name"),
    ("firstName", "text", "First name"),
    ("lastName", "text", "Last name"),
    ("preferredName", "text", "Preferred name"),
    ("jobTitle", "list", "Job title"),
    ("workEmail", "email", "Work Email"),
    ("department", "list", "Department"),
    ("location", "list", "Location"),
    ("division", "list", "Division"),
    ("supervisor", "employee", "Supervisor"),
    ("photoUrl", "url", "Employee photo"),
)


def directory(people: list[Employee], view: View) -> dict[str, Any]:
    """The directory document: its fieldset, and one object per employee keyed by field id."""
    fields = [{"id": i, "type": t, "name": n} for i, t, n in DIRECTORY_FIELDS]
    employees = []
    for person in people:
        entry = detail_record(person, view, [f[0] for f in DIRECTORY_FIELDS])
        entry["canUploadPhoto"] = 0
        employees.append(entry)
    return {"fields": fields, "employees": employees}


META_FIELDS = (
    (1, "First Name", "text", "firstName"),
    (2, "Last Name", "text", "lastName"),
    (4, "Department", "list", "department"),
    (5, "Job Title", "list", "jobTitle"),
    (6, "Location", "list", "location"),
    (7, "Division", "list", "division"),
    (8, "Hire Date", "date", "hireDate"),
    (9, "Termination Date", "date", "terminationDate"),
    (10, "Status", "status", "status"),
    (11, "Employment Status", "list", "employmentHistoryStatus"),
    (12, "Reporting to", "employee", "supervisor"),
    (13, "Work Email", "email", "workEmail"),
    (14, "Standard Hours Per Week", "int", "standardHoursPerWeek"),
)


def meta_fields() -> list[dict[str, Any]]:
    """``GET /api/v1/meta/fields``: the fields this emulator knows, with their aliases."""
    return [{"id": i, "name": n, "type": t, "alias": a} for i, n, t, a in META_FIELDS]
