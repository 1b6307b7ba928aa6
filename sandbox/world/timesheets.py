"""Weekly timesheets as one columnar frame, drawn a whole column at a time.

Every (assignment, working day) pair becomes one entry; a person on k engagements that day
splits a day's hours k ways. Hours are whole quarters. A week's entries share the person's
submission and approval: submitted some days after the Friday, approved some days after that;
a week whose submission (or approval) would fall after the clock's "now" is still a draft (or
submitted); a few recent weeks were rejected. Every draw is keyed by its natural key (see
``sandbox.world.keyed``), so ``entries_between`` for a later range gives exactly the rows a longer
history would have had.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import numpy as np
import numpy.typing as npt
import polars as pl

from sandbox.world import catalog
from sandbox.world.keyed import keyed_ints, keyed_uniform
from sandbox.world.model import TIME_COLUMNS, Assignment, Employee, Project

EPOCH = date(1970, 1, 1).toordinal()
DAY_US = 86_400_000_000
HOUR_US = 3_600_000_000
MINUTE_US = 60_000_000
NON_BILLABLE_SHARE = 0.07
REJECTED_SHARE = 0.015
REJECTIONS_WITHIN_DAYS = 42
Ints = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Staffing:
    """The arrays the generator needs, taken once from the world's people and assignments."""

    employee_ids: Ints
    daily_quarters: Ints  # a normal day's hours in quarters (32 for 40 h/week)
    assignment_ids: Ints
    assignment_person: Ints  # index into employee_ids
    assignment_project: Ints
    assignment_start: Ints  # ordinals
    assignment_end: Ints  # ordinals, inclusive

    @classmethod
    def of(
        cls, people: list[Employee], assignments: list[Assignment], projects: list[Project]
    ) -> Staffing:
        index = {p.id: i for i, p in enumerate(people)}
        project_end = {p.id: (p.end or date.max).toordinal() for p in projects}
        return cls(
            np.array([p.id for p in people], dtype=np.int64),
            np.array([int(p.weekly_capacity_hours * 4 / 5) for p in people], dtype=np.int64),
            np.array([a.id for a in assignments], dtype=np.int64),
            np.array([index[a.employee_id] for a in assignments], dtype=np.int64),
            np.array([a.project_id for a in assignments], dtype=np.int64),
            np.array([a.start.toordinal() for a in assignments], dtype=np.int64),
            np.array(
                [
                    min((a.end or date.max).toordinal(), project_end[a.project_id])
                    for a in assignments
                ],
                dtype=np.int64,
            ),
        )


def entries_between(
    seed: int,
    staffing: Staffing,
    mask: npt.NDArray[np.bool_],
    first: date,
    cutoff: datetime,
    first_id: int,
    *,
    people_per_chunk: int = 400,
) -> pl.DataFrame:
    """Entries dated ``first`` up to the day before ``cutoff``; ``mask`` covers those days.

    People are done a chunk at a time (a person's concurrent engagements stay in one chunk),
    which bounds the memory of the intermediate arrays; ids follow (chunk, day, person, project).
    """
    chunks = []
    people = len(staffing.employee_ids)
    for lo in range(0, max(people, 1), people_per_chunk):
        chosen = np.flatnonzero(
            (staffing.assignment_person >= lo)
            & (staffing.assignment_person < lo + people_per_chunk)
        )
        chunks.append(_chunk(seed, staffing, mask, first, cutoff, chosen, first_id))
        first_id += chunks[-1].height
    return pl.concat(chunks, rechunk=False)


def _chunk(
    seed: int,
    staffing: Staffing,
    mask: npt.NDArray[np.bool_],
    first: date,
    cutoff: datetime,
    chosen: Ints,
    first_id: int,
) -> pl.DataFrame:
    n_days = mask.shape[1]
    lo = np.maximum(staffing.assignment_start[chosen] - first.toordinal(), 0)
    hi = np.minimum(staffing.assignment_end[chosen] - first.toordinal(), n_days - 1)
    lengths = np.maximum(hi - lo + 1, 0)
    which = np.repeat(np.arange(len(lengths)), lengths)
    offsets = np.arange(len(which)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    day = lo[which] + offsets
    which = chosen[which]
    person = staffing.assignment_person[which]
    keep = mask[person, day]
    which, day, person = which[keep], day[keep], person[keep]
    order = np.lexsort((staffing.assignment_project[which], person, day))
    which, day, person = which[order], day[order], person[order]
    ordinal = day + first.toordinal()
    quarters = _quarters(seed, staffing, which, person, day, ordinal, n_days)
    return _frame(seed, staffing, which, person, ordinal, quarters, cutoff, first_id)


def _quarters(
    seed: int, staffing: Staffing, which: Ints, person: Ints, day: Ints, ordinal: Ints, n_days: int
) -> Ints:
    _, inverse, counts = np.unique(person * n_days + day, return_inverse=True, return_counts=True)
    share = counts[inverse]
    noise = keyed_ints(seed, "hours", -4, 5, staffing.assignment_ids[which], ordinal) // share
    return np.clip(staffing.daily_quarters[person] // share + noise, 2, 40)


def _frame(
    seed: int,
    staffing: Staffing,
    which: Ints,
    person: Ints,
    ordinal: Ints,
    quarters: Ints,
    cutoff: datetime,
    first_id: int,
) -> pl.DataFrame:
    assignment = staffing.assignment_ids[which]
    employee = staffing.employee_ids[person]
    minutes = keyed_ints(seed, "created", 0, 240, assignment, ordinal)
    created = (ordinal - EPOCH) * DAY_US + 16 * HOUR_US + minutes * MINUTE_US
    submitted, approved, rejected = planned_week(seed, employee, ordinal, created, cutoff)
    task = keyed_ints(seed, "task", 0, len(catalog.TASKS), assignment, ordinal)
    note = keyed_ints(seed, "note", 0, len(catalog.NOTES), assignment, ordinal)
    frame = pl.DataFrame(
        {
            "id": np.arange(first_id, first_id + len(which), dtype=np.int64),
            "employee_id": employee,
            "project_id": staffing.assignment_project[which],
            "task": pl.Series(np.array(catalog.TASKS)[task], dtype=pl.Categorical),
            "spent_date": (ordinal - EPOCH).astype(np.int32),
            "hours": quarters / 4,
            "billable": keyed_uniform(seed, "billable", assignment, ordinal) >= NON_BILLABLE_SHARE,
            "notes": pl.Series(np.array(catalog.NOTES)[note], dtype=pl.Categorical),
            "created_at": created,
            "submitted_at": submitted,
            "approved_at": approved,
            "rejected": rejected,
        }
    )
    return typed(with_status(frame, cutoff))


def typed(frame: pl.DataFrame) -> pl.DataFrame:
    """Columns as ``TIME_COLUMNS`` from raw ints (days since epoch, µs since epoch) and floats."""
    stamps = ("created_at", "submitted_at", "approved_at", "updated_at")
    if "invoice_id" not in frame.columns:
        frame = frame.with_columns(invoice_id=pl.lit(None, dtype=pl.Int64))
    return frame.with_columns(
        pl.col("task", "notes", "status").cast(pl.String),
        pl.col("spent_date").cast(pl.Int32).cast(pl.Date),
        pl.col("hours").cast(pl.Float64).cast(pl.Decimal(8, 2)),
        *(pl.col(c).cast(pl.Int64).cast(pl.Datetime("us", "UTC")) for c in stamps),
        pl.col("invoice_id").cast(pl.Int64),
    ).select(list(TIME_COLUMNS))


def micros(moment: datetime) -> int:
    return int((moment - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds()) * 1_000_000


def planned_week(
    seed: int, employee: Ints, ordinal: Ints, created: Ints, cutoff: datetime
) -> tuple[Ints, Ints, npt.NDArray[np.bool_]]:
    """When each entry's week is (or will be) submitted and approved, and whether it is
    rejected instead: lags drawn per person and week, in µs since the epoch."""
    monday = ordinal - (ordinal - 1) % 7
    friday_night = (monday + 4 - EPOCH) * DAY_US + 21 * HOUR_US
    u = keyed_uniform(seed, "submit", employee, monday)
    spread = (u * 1e6).astype(np.int64)
    lag = np.select([u < 0.45, u < 0.7, u < 0.92], [0, 1, 2 + spread % 3], 5 + spread % 8)
    submitted = friday_night + lag * DAY_US + spread % 120 * MINUTE_US
    submitted = np.maximum(submitted, created + MINUTE_US)
    v = keyed_uniform(seed, "approve", employee, monday)
    spread = (v * 1e6).astype(np.int64)
    wait = np.select(
        [v < 0.4, v < 0.75, v < 0.95], [0, 1 + spread % 2, 3 + spread % 4], 7 + spread % 14
    )
    approved = submitted + wait * DAY_US + (1 + spread % 10) * HOUR_US
    today = micros(cutoff) // DAY_US + EPOCH
    recent = monday >= today - REJECTIONS_WITHIN_DAYS
    rejected = recent & (keyed_uniform(seed, "reject", employee, monday) < REJECTED_SHARE)
    return submitted, approved, rejected


def with_status(frame: pl.DataFrame, cutoff: datetime) -> pl.DataFrame:
    """``status`` and the visible timestamps as of ``cutoff``, from the planned ones (µs ints):
    a week not yet submitted is a draft, one not yet approved is submitted."""
    now = micros(cutoff)
    c = pl.col
    draft = c("submitted_at") >= now
    waiting = c("approved_at") >= now
    status = (
        pl.when(draft)
        .then(pl.lit("draft"))
        .when(waiting)
        .then(pl.lit("submitted"))
        .when(c("rejected"))
        .then(pl.lit("rejected"))
        .otherwise(pl.lit("approved"))
    )
    return frame.with_columns(
        status=status,
        submitted_at=pl.when(draft).then(None).otherwise(c("submitted_at")),
        approved_at=pl.when(draft | waiting | c("rejected")).then(None).otherwise(c("approved_at")),
        updated_at=pl.when(draft)
        .then(c("created_at"))
        .when(waiting)
        .then(c("submitted_at"))
        .otherwise(c("approved_at")),
    )


def max_entry_id(entries: pl.DataFrame) -> int:
    """The largest time-entry id so far (0 for none)."""
    top = entries["id"].max() if entries.height else None
    return int(top) if isinstance(top, int) else 0
