"""The BambooHR account's mutable state: its people, their time off, and the change log that
``/api/v1/employees/changed`` reads. The emulator serves it; tests and the demo change it.

Every change stamps the employee's ``lastChanged`` with the emulator clock (whole seconds, UTC).
An employee counts as *Inserted* for any ``since`` at or before the moment it was added; BambooHR
keeps deleted employees in the change log as *Deleted*. ``since`` is an inclusive lower bound
(the vendor does not say; inclusive is the safe reading, clients de-duplicate by id).
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sandbox.world.model import Employee, TimeOff, TimeOffStatus, World

Change = tuple[str, datetime]  # (Inserted|Updated|Deleted, lastChanged)
NOT_EDITABLE = frozenset({"id", "updated_at"})


def utc_now() -> datetime:
    return datetime.now(UTC)


class BambooHRRoster:
    """People and time off for one company, thread-safe, stamped by ``now``."""

    def __init__(self, world: World, *, now: Callable[[], datetime] = utc_now) -> None:
        self.world = world
        self._now = now
        self._lock = threading.RLock()
        self._people: dict[int, Employee] = {e.id: e for e in world.employees}
        self._changed: dict[int, datetime] = {e.id: e.updated_at for e in world.employees}
        self._inserted: dict[int, datetime] = {e.id: _inserted(e) for e in world.employees}
        self._deleted: dict[int, datetime] = {}
        self._leaves: dict[int, TimeOff] = {t.id: t for t in world.time_off}

    # --- reading ---------------------------------------------------------------------------

    def today(self) -> date:
        return self._now().astimezone(UTC).date()

    def employees(self) -> list[Employee]:
        """Everyone on file now (terminated people stay on file; deleted ones do not)."""
        with self._lock:
            return sorted(self._people.values(), key=lambda e: e.id)

    def employee(self, employee_id: int) -> Employee | None:
        with self._lock:
            return self._people.get(employee_id)

    def people(self) -> dict[int, Employee]:
        with self._lock:
            return dict(self._people)

    def time_off(self) -> list[TimeOff]:
        with self._lock:
            return sorted(self._leaves.values(), key=lambda t: (t.start, t.id))

    def changed_since(self, since: datetime) -> dict[int, Change]:
        """Employees whose last change is at or after ``since``, with the kind of change."""
        with self._lock:
            changes: dict[int, Change] = {}
            for employee_id, stamp in self._changed.items():
                if stamp >= since:
                    inserted = self._inserted[employee_id] >= since
                    changes[employee_id] = ("Inserted" if inserted else "Updated", stamp)
            for employee_id, stamp in self._deleted.items():
                if stamp >= since:
                    changes[employee_id] = ("Deleted", stamp)
            return changes

    # --- changing (the control surface for tests and the demo) ------------------------------

    def hire(
        self,
        first_name: str,
        last_name: str,
        *,
        role: str,
        practice_id: int,
        region_id: int,
        hire_date: date | None = None,
        manager_id: int | None = None,
        email: str | None = None,
        weekly_capacity_hours: Decimal = Decimal(40),
        cost_rate: Decimal = Decimal(0),
    ) -> int:
        """Add a person; returns the new employee id."""
        region = next(r for r in self.world.regions if r.id == region_id)
        with self._lock:
            stamp = self._stamp()
            employee_id = max([*self._people, *self._deleted], default=0) + 1
            self._people[employee_id] = Employee(
                id=employee_id,
                first_name=first_name,
                last_name=last_name,
                email=email or f"{first_name}.{last_name}@{self.world.name}.example".lower(),
                role=role,
                practice_id=practice_id,
                region_id=region_id,
                legal_entity_id=region.legal_entity_id,
                manager_id=manager_id,
                hire_date=hire_date or stamp.date(),
                termination_date=None,
                cost_rate=cost_rate,
                weekly_capacity_hours=weekly_capacity_hours,
                updated_at=stamp,
            )
            self._changed[employee_id] = self._inserted[employee_id] = stamp
            return employee_id

    def edit_employee(self, employee_id: int, **fields: Any) -> Employee:
        """Change fields of the world's ``Employee`` (``role``, ``practice_id``, ...)."""
        names = {f.name for f in dataclasses.fields(Employee)} - NOT_EDITABLE
        unknown = set(fields) - names
        if unknown:
            raise ValueError(f"cannot edit {sorted(unknown)}")
        with self._lock:
            stamp = self._stamp()
            person = dataclasses.replace(self._people[employee_id], **fields, updated_at=stamp)
            self._people[employee_id] = person
            self._changed[employee_id] = stamp
            return person

    def terminate(self, employee_id: int, on: date) -> Employee:
        """Set the termination date; the person turns Inactive from ``on``."""
        return self.edit_employee(employee_id, termination_date=on)

    def delete_employee(self, employee_id: int) -> None:
        """Remove a person from the account (BambooHR reports it as Deleted)."""
        with self._lock:
            del self._people[employee_id]
            del self._changed[employee_id]
            self._deleted[employee_id] = self._stamp()

    def request_time_off(
        self,
        employee_id: int,
        start: date,
        end: date,
        *,
        kind: str = "Vacation",
        status: TimeOffStatus = "requested",
        hours_per_day: Decimal = Decimal(8),
    ) -> int:
        """File a time off request; returns its id."""
        if end < start:
            raise ValueError("time off ends before it starts")
        with self._lock:
            if employee_id not in self._people:
                raise KeyError(employee_id)
            stamp = self._stamp()
            request_id = max(self._leaves, default=0) + 1
            self._leaves[request_id] = TimeOff(
                request_id, employee_id, start, end, kind, status, hours_per_day, stamp, stamp
            )
            return request_id

    def set_time_off_status(self, request_id: int, status: TimeOffStatus) -> TimeOff:
        """Approve, deny or cancel a request."""
        with self._lock:
            leave = dataclasses.replace(
                self._leaves[request_id], status=status, updated_at=self._stamp()
            )
            self._leaves[request_id] = leave
            return leave

    def _stamp(self) -> datetime:
        return self._now().astimezone(UTC).replace(microsecond=0)


def _inserted(person: Employee) -> datetime:
    """When a world employee was keyed in: a month before the hire date, never after the last
    change."""
    keyed = datetime.combine(person.hire_date - timedelta(days=30), time(9), tzinfo=UTC)
    return min(keyed, person.updated_at)
