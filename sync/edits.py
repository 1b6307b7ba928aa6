"""Edit-then-retry: what a person may change in a held record before it is replayed.

Each kind of exception that can be edited declares, in :data:`EDITABLE`, the fields an edit may
change and how each new value is checked; every other field of the record is the vendor's and
stays as it was received. A Harvest time entry held by the billing rules may have its ``hours``,
its ``spent_date`` (within an open accounting period, not in the future), its ``notes`` and its
``task`` (one the store knows on the entry's project) changed — never its id, project, person,
billable flags, invoice or rates, which would bill other work, another customer or another
legal entity. Every other kind of exception accepts no edit: it is fixed at the source.

A field counts as changed when its new value differs from the stored one in any way, nested
values included (``{"project": {"id": 2}}`` changes ``project``); a value equal to the stored
one changes nothing and is ignored. The edited record must then still be a valid canonical
record (:func:`collectors.harvest.to_time_entry`), or nothing runs.

:func:`checked` returns the accepted :class:`Edit` (the record after it, and each change
before → after) or raises :class:`EditRefused` with a message naming the fields;
:func:`record_edit` writes the edit to the audit log (who, when, what) and returns its row, whose
id the billing event made from the edited record carries (``billing_events.edit_audit_id``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from collectors import harvest
from collectors.entities import canonical_id
from sync.store.repo import now
from sync.store.tables import AuditRow, ExceptionRow, TimeEntryRow

EDIT_ACTION = "exception.edit"


class EditRefused(ValueError):
    """An edit that was not applied, with the reason in words: a field its kind does not let a
    person change, a value the field does not allow, or a record the canonical model rejects.
    Nothing was changed."""


@dataclass(frozen=True)
class Books:
    """What an edit's values are checked against: the store, the engine's today, the books."""

    session: Session
    today: date
    closed_through: date | None  # accounting periods through this day are locked


# A field's check: the problem with a new value (``record`` is the stored record), or None.
Check = Callable[[Any, Mapping[str, Any], Books], str | None]


@dataclass(frozen=True)
class Editable:
    """The fields an edit of one kind of exception may change, each with the check of its new
    value, and the check of the whole record after the edit (the canonical model)."""

    flow: str
    entity_type: str
    fields: Mapping[str, Check]
    validate: Callable[[dict[str, Any]], object]

    @property
    def names(self) -> str:
        return ", ".join(self.fields)

    @property
    def noun(self) -> str:
        return self.entity_type.replace("_", " ")


@dataclass(frozen=True)
class Change:
    """One field an edit changed: the stored value and the new one."""

    field: str
    before: Any
    after: Any


@dataclass(frozen=True)
class Edit:
    """An accepted edit: the record after it and what changed."""

    record: dict[str, Any]
    changes: tuple[Change, ...]

    def detail(self) -> dict[str, dict[str, Any]]:
        """The changes as the audit log keeps them: ``{field: {"before": …, "after": …}}``."""
        return {c.field: {"before": c.before, "after": c.after} for c in self.changes}


# --- the Harvest time entry -----------------------------------------------------------------


def _hours(value: Any, record: Mapping[str, Any], books: Books) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"hours must be a number of hours, not {value!r}"
    return None  # the range (0 to 24, finite, 4 decimals) is the canonical model's


def _spent_date(value: Any, record: Mapping[str, Any], books: Books) -> str | None:
    try:
        day = date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else None
    except ValueError:
        day = None
    if day is None:
        return f"spent_date must be a date (YYYY-MM-DD), not {value!r}"
    if books.closed_through is not None and day <= books.closed_through:
        return (
            f"spent_date {day} is in a closed accounting period (books closed through "
            f"{books.closed_through}); move the time to an open period"
        )
    if day > books.today:
        return f"spent_date {day} is in the future (today is {books.today})"
    return None


def _notes(value: Any, record: Mapping[str, Any], books: Books) -> str | None:
    return None if value is None or isinstance(value, str) else "notes must be text"


def _task(value: Any, record: Mapping[str, Any], books: Books) -> str | None:
    """A Harvest task reference ``{"id": …, "name": …}`` to a task of the entry's project. The
    store knows a project's tasks by the names on its entries, not Harvest's task ids, so the
    name is checked and the id is taken as given."""
    shape = 'task must be {"id": <Harvest task id>, "name": <task name>}'
    if not isinstance(value, dict) or set(value) != {"id", "name"}:
        return shape
    task_id, name = value["id"], value["name"]
    if isinstance(task_id, bool) or not isinstance(task_id, int) or task_id <= 0:
        return shape
    if not isinstance(name, str) or not name.strip():
        return shape
    project = record.get("project")
    source_id = project.get("id") if isinstance(project, dict) else None
    if source_id is None:
        return "task cannot be changed: the entry names no project"
    project_id = canonical_id(harvest.VENDOR, "project", source_id)
    known = set(
        books.session.scalars(
            select(TimeEntryRow.task)
            .where(TimeEntryRow.project_id == project_id, TimeEntryRow.task.is_not(None))
            .distinct()
        )
    )
    if name not in known:
        listed = ", ".join(sorted(t for t in known if t)) or "none recorded"
        return f"task {name!r} is not a task of the entry's project (its tasks: {listed})"
    return None


def _time_entry(record: dict[str, Any]) -> object:
    return harvest.to_time_entry(record)


EDITABLE: tuple[Editable, ...] = (
    Editable(
        flow="billable",
        entity_type="time_entry",
        fields=MappingProxyType(
            {"hours": _hours, "spent_date": _spent_date, "notes": _notes, "task": _task}
        ),
        validate=_time_entry,
    ),
)
"""Every kind of exception that can be edited; any other accepts no edit."""


def editable_for(row: ExceptionRow) -> Editable | None:
    """What an edit of ``row`` may change; None when it cannot be edited."""
    if not isinstance(row.payload, dict):
        return None
    return next(
        (e for e in EDITABLE if e.flow == row.flow and e.entity_type == row.entity_type), None
    )


_MISSING = object()


def checked(session: Session, row: ExceptionRow, edit: Mapping[str, Any], books: Books) -> Edit:
    """The edit of ``row``'s stored record, if its kind allows every field it changes, each new
    value passes its field's check and the record after it is valid; else :class:`EditRefused`
    saying which fields, and which may be edited."""
    kind = editable_for(row)
    if kind is None:
        raise EditRefused(
            f"exception {row.id} ({row.flow}/{row.category}) cannot be edited; "
            "fix it at the source and replay"
        )
    record: dict[str, Any] = dict(row.payload or {})
    changes = tuple(
        Change(field, None if before is _MISSING else before, after)
        for field, after in edit.items()
        if (before := record.get(field, _MISSING)) is _MISSING or before != after
    )
    if not changes:
        raise EditRefused("the edit changes nothing; replay without an edit")
    forbidden = [c.field for c in changes if c.field not in kind.fields]
    if forbidden:
        raise EditRefused(
            f"an edit may not change {', '.join(forbidden)} of a {kind.noun}; "
            f"only {kind.names} may be edited (fix anything else at the source)"
        )
    problems = [
        problem
        for c in changes
        if (problem := kind.fields[c.field](c.after, record, books)) is not None
    ]
    if problems:
        raise EditRefused("; ".join(problems))
    edited = record | {c.field: c.after for c in changes}
    try:
        kind.validate(edited)
    except ValidationError as exc:
        raise EditRefused(f"the edited {kind.noun} is not valid: {_errors(exc)}") from None
    except (ArithmeticError, TypeError, ValueError, KeyError) as exc:
        raise EditRefused(f"the edited {kind.noun} is not valid: {exc!r}") from None
    return Edit(edited, changes)


def _errors(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
        for error in exc.errors(include_url=False)
    )


def record_edit(
    session: Session, actor: str, row: ExceptionRow, edit: Edit, reason: str
) -> AuditRow:
    """Write the edit of ``row`` to the audit log (who, when, what: each change before → after)
    and flush it, so that its id is known to the billing event made from the edited record."""
    entry = AuditRow(
        at=now(),
        actor=actor,
        action=EDIT_ACTION,
        target=f"exception:{row.id}",
        detail={"reason": reason, "entity_id": row.entity_id, "changes": edit.detail()},
    )
    session.add(entry)
    session.flush()
    return entry


__all__ = [
    "EDITABLE",
    "EDIT_ACTION",
    "Books",
    "Change",
    "Edit",
    "EditRefused",
    "Editable",
    "checked",
    "editable_for",
    "record_edit",
]
