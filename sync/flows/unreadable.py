"""Per-record isolation: a vendor record that cannot be mapped is held, and the rest flow.

Every flow maps vendor records with ``map_records`` (or, where a connector maps a page itself
and hands back the records it could not, turns each of those into a problem with
``unreadable``). A record whose mapping raises one of ``collectors.errors.UNREADABLE`` becomes an
``invalid_record`` problem keyed ``<system>:<kind>:<id>``, with a reason naming the record, the
field and the value, and the record as received for its payload. Only the mapping call is
guarded: a mistake in the flow's own code around it still fails the run.

A flow resolves the exceptions of records that now map (``Mapped.keys``) with
``resolve_problems``; a stream read whole on every run resolves those of records it no longer
finds unreadable with ``resolve_readable``.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import ValidationError
from sqlalchemy.orm import Session

from collectors.errors import UNREADABLE, RecordError
from sync.store.repo import Problem, open_record_keys, report_problems, resolve_problems
from sync.telemetry import current_trace_id

INVALID_RECORD = "invalid_record"
STAGE = "map"
E = TypeVar("E")


@dataclass(frozen=True)
class RecordKind:
    """One kind of vendor record: how its exceptions are keyed (``<system>:<name>:<id>``) and
    named to a person (``label``, e.g. "Harvest user")."""

    system: str
    name: str
    label: str
    entity_type: str
    id_fields: tuple[str, ...] = ("id",)

    def ident(self, raw: Any) -> str:
        """The record's id, or for a record without one a stable digest of what was received."""
        for name in self.id_fields if isinstance(raw, dict) else ():
            value = raw.get(name)
            if value is not None and value != "" and not isinstance(value, dict | list):
                return str(value)
        return "?" + hashlib.sha256(repr(raw).encode()).hexdigest()[:12]

    def key(self, raw: Any) -> str:
        return f"{self.system}:{self.name}:{self.ident(raw)}"

    @property
    def prefix(self) -> str:
        return f"{self.system}:{self.name}:"


@dataclass
class Mapped(Generic[E]):
    """A page mapped: each record that could be read with its entity and exception key, and a
    problem per record that could not."""

    read: list[tuple[Any, E]] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def entities(self) -> list[E]:
        return [entity for _, entity in self.read]


def map_records(kind: RecordKind, records: Iterable[Any], to: Callable[[Any], E]) -> Mapped[E]:
    """``to(raw)`` for each record; an unreadable one becomes a problem and the rest go on."""
    mapped: Mapped[E] = Mapped()
    for raw in records:
        try:
            entity = to(raw)
        except UNREADABLE as error:
            mapped.problems.append(unreadable(kind, raw, error))
            continue
        mapped.read.append((raw, entity))
        mapped.keys.append(kind.key(raw))
    return mapped


def unreadable(kind: RecordKind, raw: Any, error: BaseException) -> Problem:
    """The ``invalid_record`` problem of one record, carrying the record as received."""
    return Problem(
        record_key=kind.key(raw),
        stage=STAGE,
        category=INVALID_RECORD,
        reason=f"{kind.label} {kind.ident(raw)} could not be read: {why(raw, error)}.",
        payload=received(raw),
        entity_type=kind.entity_type,
    )


def why(raw: Any, error: BaseException) -> str:
    """What was wrong, in a person's words: the field and the value where the error names them."""
    if not isinstance(raw, dict):
        return f"the record is {_shown(raw)}, not an object"
    if isinstance(error, ValidationError):
        return "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'the record'} is {_shown(e.get('input'))}: "
            f"{e['msg'][:1].lower()}{e['msg'][1:]}"
            for e in error.errors()
        )
    if isinstance(error, KeyError):
        return f"field {error.args[0]!r} is missing" if error.args else "a field is missing"
    if isinstance(error, RecordError):
        return str(error).rstrip(".")
    return f"{type(error).__name__}: {error}".rstrip(".")


def received(raw: Any) -> dict[str, Any]:
    """The payload stored with the exception: the record as received (a record that is not an
    object is kept as its text; a number JSON cannot hold, ``inf`` or ``nan``, as its text)."""
    kept = _storable(raw)
    return kept if isinstance(kept, dict) else {"raw": repr(raw)[:2000]}


def _storable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, dict):
        return {key: _storable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_storable(item) for item in value]
    return value


def settle(
    session: Session, flow: str, problems: Sequence[Problem], through: Sequence[str], *, note: str
) -> None:
    """A batch's outcome: an exception opened (or refreshed) for each of ``problems``, traced to
    the current span, and those of the records ``through`` (now gone through) resolved."""
    report_problems(session, flow, problems, trace_id=current_trace_id())
    resolve_problems(session, flow, through, note=note)


def resolve_readable(
    session: Session, flow: str, kind: RecordKind, unreadable_keys: Collection[str]
) -> int:
    """For a stream read whole on every run: resolve the open ``invalid_record`` exceptions of
    ``kind`` whose records were read this time without trouble (or are gone)."""
    held = open_record_keys(session, flow, category=INVALID_RECORD, prefix=kind.prefix)
    fixed = [key for key in held if key not in unreadable_keys]
    return resolve_problems(session, flow, fixed, note="record read")


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."
