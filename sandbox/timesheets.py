"""Time entries for the sandbox firm: weekday timesheets, bulk filler and labelled faults.

An entry is a plain dict (fast to make by the hundred thousand) with ``id, spent_date, user_id,
project_id, client_id, task_id, hours, notes, billable, is_closed, is_locked, locked_reason,
is_billed, created_at, updated_at``. Hours are whole quarters, so sums are exact.
Entries older than seven days are approved (Harvest: closed and locked); the latest week is
submitted but not approved. Today itself has no time yet, so no timestamp lies in the future.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sandbox.firm import Firm

LOCKED_REASON = "Item Approved and Locked for this Time Period"
FIRST_ENTRY_ID = 636709355
APPROVAL_LAG = timedelta(days=7)
FAULT_CLOSED_PROJECT = "closed_project"
FAULT_NEGATIVE_HOURS = "negative_hours"
FAULT_OVER_24H = "over_24h"
FAULT_NO_ASSIGNMENT = "no_assignment"
FAULT_UNKNOWN_PROJECT = "unknown_project"
_NOTES = (
    "Workshop preparation",
    "Stakeholder interviews",
    "Data request follow-up",
    "Steering committee pack",
    "Model review",
    "Client working session",
)
_MINUTES = tuple(timedelta(minutes=m) for m in range(180))

Slot = tuple[int, int, int]  # user_id, project_id, client_id


def fill(firm: Firm, rng: random.Random, *, extra_entries: int = 0) -> None:
    """Add the regular timesheets, ``extra_entries`` approved entries, then the faults."""
    entries = firm.time_entries
    days = [firm.today - timedelta(days=n) for n in range(7 * firm.weeks, 0, -1)]
    days = [d for d in days if d.weekday() < 5]
    tasks = [t.id for t in firm.tasks]
    for day in days:
        for person in firm.consultants:
            slots = [s for s in _slots(firm, person.id) if _open_on(firm, s[1], day)]
            for slot in slots:
                quarters = rng.randint(16, 32) if len(slots) == 1 else rng.randint(8, 20)
                entries.append(_entry(firm, rng, slot, day, quarters / 4, rng.choice(tasks)))
    if extra_entries:
        _extra(firm, rng, [d for d in days if _approved(firm, d)], extra_entries)
    _faults(firm, rng, days)


def _slots(firm: Firm, user_id: int) -> list[Slot]:
    return [
        (a.user_id, a.project_id, firm.project_by_id[a.project_id].client_id)
        for a in firm.assignments
        if a.user_id == user_id
    ]


def _open_on(firm: Firm, project_id: int, day: date) -> bool:
    project = firm.project_by_id[project_id]
    return project.starts_on <= day and (project.ends_on is None or day <= project.ends_on)


def _approved(firm: Firm, day: date) -> bool:
    return day <= firm.today - APPROVAL_LAG


def _approval_time(firm: Firm, day: date) -> datetime:
    """Approval happens the Monday after the week worked (never today or later)."""
    monday = min(day + timedelta(days=7 - day.weekday()), firm.today - timedelta(days=1))
    return datetime.combine(monday, time(9), tzinfo=UTC)


def _entry(
    firm: Firm,
    rng: random.Random,
    slot: Slot,
    day: date,
    hours: float,
    task_id: int,
    *,
    billable: bool | None = None,
    approved: bool | None = None,
) -> dict[str, Any]:
    created = datetime.combine(day, time(16), tzinfo=UTC) + _MINUTES[rng.randrange(180)]
    closed = _approved(firm, day) if approved is None else approved
    updated = _approval_time(firm, day) + _MINUTES[rng.randrange(120)] if closed else created
    return {
        "id": FIRST_ENTRY_ID + len(firm.time_entries),
        "spent_date": day,
        "user_id": slot[0],
        "project_id": slot[1],
        "client_id": slot[2],
        "task_id": task_id,
        "hours": hours,
        "notes": rng.choice(_NOTES),
        "billable": rng.random() < 0.9 if billable is None else billable,
        "is_closed": closed,
        "is_locked": closed,
        "locked_reason": LOCKED_REASON if closed else None,
        "is_billed": False,
        "created_at": created,
        "updated_at": updated,
    }


def _extra(firm: Firm, rng: random.Random, days: list[date], count: int) -> None:
    """Bulk approved entries spread over the window and every assignment (benchmarks)."""
    choices: list[tuple[Slot, list[date]]] = []
    for a in firm.assignments:
        slot = (a.user_id, a.project_id, firm.project_by_id[a.project_id].client_id)
        open_days = [d for d in days if _open_on(firm, a.project_id, d)]
        if open_days:
            choices.append((slot, open_days))
    if not choices:
        return
    created_at = {d: datetime.combine(d, time(16), tzinfo=UTC) for d in days}
    approved_at = {d: _approval_time(firm, d) for d in days}
    tasks = [t.id for t in firm.tasks]
    entries, next_id = firm.time_entries, FIRST_ENTRY_ID + len(firm.time_entries)
    randrange, minutes = rng.randrange, _MINUTES
    for n in range(count):
        (user, project, client), open_days = choices[randrange(len(choices))]
        day = open_days[randrange(len(open_days))]
        entries.append(
            {
                "id": next_id + n,
                "spent_date": day,
                "user_id": user,
                "project_id": project,
                "client_id": client,
                "task_id": tasks[n & 1],
                "hours": randrange(4, 33) / 4,
                "notes": _NOTES[n % len(_NOTES)],
                "billable": True,
                "is_closed": True,
                "is_locked": True,
                "locked_reason": LOCKED_REASON,
                "is_billed": False,
                "created_at": created_at[day] + minutes[randrange(180)],
                "updated_at": approved_at[day] + minutes[randrange(120)],
            }
        )


def _faults(firm: Firm, rng: random.Random, days: list[date]) -> None:
    approved = [d for d in days if _approved(firm, d)] or [firm.today - APPROVAL_LAG]
    late = approved[len(approved) // 2 :]
    active = [a for a in firm.assignments if firm.project_by_id[a.project_id].is_active]
    first = active[0]
    slot = (first.user_id, first.project_id, firm.project_by_id[first.project_id].client_id)
    task = firm.tasks[0].id

    def add(label: str, entry: dict[str, Any]) -> None:
        firm.faults[entry["id"]] = label
        firm.time_entries.append(entry)

    for label, hours in ((FAULT_NEGATIVE_HOURS, -2.0), (FAULT_OVER_24H, 26.0)):
        add(label, _entry(firm, rng, slot, late[0], hours, task, billable=True, approved=True))
    closed = next(p for p in firm.projects if not p.is_active)
    on_closed = [a for a in firm.assignments if a.project_id == closed.id]
    if on_closed and closed.ends_on is not None:
        when = closed.ends_on + timedelta(days=2)
        closed_slot = (on_closed[0].user_id, closed.id, closed.client_id)
        add(
            FAULT_CLOSED_PROJECT,
            _entry(firm, rng, closed_slot, when, 3.0, task, billable=True, approved=True),
        )
    stranger = _unassigned_pair(firm)
    if stranger is not None:
        add(
            FAULT_NO_ASSIGNMENT,
            _entry(firm, rng, stranger, late[-1], 4.0, task, billable=True, approved=True),
        )
    firm.unknown_project_id = max(p.id for p in firm.projects) + 1000
    ghost = (slot[0], firm.unknown_project_id, slot[2])
    add(
        FAULT_UNKNOWN_PROJECT,
        _entry(firm, rng, ghost, late[-1], 5.0, task, billable=True, approved=True),
    )


def _unassigned_pair(firm: Firm) -> Slot | None:
    for person in firm.consultants:
        for project in firm.projects:
            if project.is_active and (person.id, project.id) not in firm.assignment_by_pair:
                return (person.id, project.id, project.client_id)
    return None
