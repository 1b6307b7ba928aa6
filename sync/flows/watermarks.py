"""Watermarks on timestamp columns that a late commit cannot slip under, whatever the clocks do.

A flow that finds changes by a timestamp column reads the rows stamped after a *floor*. A row
written by a transaction still open at a run carries a stamp older than rows that run already
saw, so the floor moves up to the newest stamp a run saw (its *checkpoint*) only once ``OVERLAP``
has passed since that run — on the wall clock, because transactions are bounded in real time, and
on the engine's clock, the one business stamps are on. Until then every run reads from the old
floor again (the caller's work must be idempotent). Once a checkpoint has settled and nothing new
was written, a run reads nothing.

Only elapsed time is compared, never a stamp with "now": an engine clock years behind or ahead of
the wall clock (the demo's simulated firm), or running 1,440 times as fast, cannot make a late
commit fall under the floor. A column must stay on one clock, though (a stamp from another clock
can land under the floor).

Stored as cursors under the caller's system: ``<name>`` (the floor) and ``<name>:seen``,
``<name>:wall``, ``<name>:clock`` (the checkpoint), written in the caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from sync.store.repo import get_cursor, set_cursor

OVERLAP = timedelta(minutes=15)
CHECKPOINT_PARTS = ("seen", "wall", "clock")


@dataclass(frozen=True)
class Moment:
    """When a run reads: the wall clock and the engine's clock."""

    wall: datetime
    clock: datetime

    @classmethod
    def of(cls, now: datetime | None = None, wall: datetime | None = None) -> Moment:
        """``now`` is the engine's clock; both default to the wall clock."""
        real = wall or datetime.now(UTC)
        return cls(real, now or real)


@dataclass(frozen=True)
class Checkpoint:
    """The newest stamp a run saw, and when it saw it."""

    mark: datetime
    seen: Moment

    def settled(self, at: Moment) -> bool:
        """Every row stamped up to ``mark`` is committed by ``at`` (transactions are shorter than
        ``OVERLAP``), so a run at ``at`` that read from the old floor has seen them all."""
        return at.wall - self.seen.wall >= OVERLAP and at.clock - self.seen.clock >= OVERLAP


def floor(session: Session, system: str, name: str) -> datetime | None:
    """Rows stamped after this are new (``None``: never read in full)."""
    value = get_cursor(session, system, name)
    return datetime.fromisoformat(value) if value else None


def advance(
    session: Session,
    system: str,
    name: str,
    *,
    old: datetime,
    newest: datetime | None,
    at: Moment,
) -> datetime:
    """After a run at ``at`` read the rows stamped after ``old`` (``newest``: the newest stamp it
    saw): the floor moves to the checkpoint's mark once that has settled, and a settled (or
    missing) checkpoint gives way to one at this run. Returns the new floor."""
    checkpoint = _checkpoint(session, system, name)
    new = old
    if checkpoint is not None and checkpoint.settled(at):
        new, checkpoint = max(old, checkpoint.mark), None
    if checkpoint is None:
        _save(session, system, name, Checkpoint(max(newest or old, old), at))
    set_cursor(session, system, name, new.isoformat())
    return new


def restart(session: Session, system: str, name: str, *, newest: datetime, at: Moment) -> None:
    """After a run read every row (``newest``: the newest stamp it saw). With no earlier run to
    settle on, the last ``OVERLAP`` below ``newest`` is read again while ``newest`` is recent on
    either clock: a transaction may still be committing rows stamped before it."""
    recent = newest >= min(at.wall, at.clock) - OVERLAP
    set_cursor(session, system, name, (newest - OVERLAP if recent else newest).isoformat())
    _save(session, system, name, Checkpoint(newest, at))


def _checkpoint(session: Session, system: str, name: str) -> Checkpoint | None:
    values = [get_cursor(session, system, f"{name}:{part}") for part in CHECKPOINT_PARTS]
    if not all(values):
        return None
    mark, wall, clock = (datetime.fromisoformat(v) for v in values if v)
    return Checkpoint(mark, Moment(wall, clock))


def _save(session: Session, system: str, name: str, checkpoint: Checkpoint) -> None:
    values = (checkpoint.mark, checkpoint.seen.wall, checkpoint.seen.clock)
    for part, value in zip(CHECKPOINT_PARTS, values, strict=True):
        set_cursor(session, system, f"{name}:{part}", value.isoformat())
