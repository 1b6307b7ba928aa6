"""What the store already holds that the billing rules judge a page of time entries against.

A duplicate's twin, or the other entries of a person's day, may have arrived on an earlier page or
in an earlier run; a contract's cap counts what its billing events already commit. Each is one
index-friendly query per frame checked, which in flow 3 is a batch of pages (the frame's days on
the ``spent_date`` index, narrowed to its people; the capped contracts it touches on the
``contract_id`` index), never a scan of history.

Within a run, ``whole_days`` keeps each day on one page: Harvest serves the newest day first and
a day's entries newest first, so a copy comes before the entry it copies and, were the day cut
between two pages, the copy would be judged (and billed) before its original is seen.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

import polars as pl
from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session

from sync.rules import MONEY, STORED_SCHEMA, History, Reference
from sync.store.db import among
from sync.store.tables import BillingEventRow, TimeEntryRow

CENTS = Decimal("0.0001")


def whole_days(pages: Iterable[list[Any]]) -> Iterator[list[Any]]:
    """The same records, regrouped so that no ``spent_date`` straddles two pages: the oldest day
    of a page waits for the next one (a page may grow by up to a day's entries)."""
    carry: list[Any] = []
    for page in pages:
        records = carry + page
        oldest = _day(records[-1]) if records else None
        cut = len(records)
        while cut and _day(records[cut - 1]) == oldest:
            cut -= 1
        carry = records[cut:]
        if cut:
            yield records[:cut]
    if carry:
        yield carry


def _day(record: Any) -> Any:
    return record.get("spent_date") if isinstance(record, dict) else None


def load_history(session: Session, entries: pl.DataFrame, reference: Reference) -> History:
    """The stored entries and cap commitments a page of ``entries`` is judged against."""
    return History(stored_entries(session, entries), committed(session, entries, reference))


def stored_entries(session: Session, entries: pl.DataFrame) -> pl.DataFrame:
    days = entries["spent_date"].drop_nulls().unique().to_list()
    people = entries["resource_id"].drop_nulls().unique().to_list()
    if not days or not people:
        return History.empty().entries
    t = TimeEntryRow
    pairs = entries.select("spent_date", "resource_id").drop_nulls().unique()
    # A page of whole days names nearly every (day, person) of its days; a page of scattered
    # changes (an incremental run) names a few of history's: then the pairs themselves narrow
    # the read, so that it returns what the page needs, not its days' and people's every entry.
    scattered = pairs.height * 4 < len(days) * len(people)
    rows = session.execute(
        select(
            t.id,
            t.source_id,
            t.resource_id,
            t.project_id,
            t.spent_date,
            t.hours,
            t.notes,
            t.submitted_at,
            t.status,
            t.billable,
            t.is_billed,
            BillingEventRow.id,
            t.deleted_at,
        )
        .outerjoin(BillingEventRow, BillingEventRow.source_record_id == t.id)
        .where(
            # the day index narrows it (deleted entries are filtered below); time entries have
            # no person index, which SQLite's planner took over the days, reading a person's
            # whole history for each batch of new days
            t.spent_date.in_(days),
            tuple_(t.spent_date, t.resource_id).in_(pairs.rows())
            if scattered
            else among(session, t.resource_id, people),
            # their new version replaces them
            ~among(session, t.id, entries["id"].drop_nulls().to_list()),
        )
    ).all()
    raw = pl.DataFrame(
        [tuple(r) for r in rows],
        schema={
            **{k: v for k, v in STORED_SCHEMA.items() if k not in ("billing", "billed")},
            "status": pl.String,
            "billable": pl.Boolean,
            "is_billed": pl.Boolean,
            "event_id": pl.String,
            "deleted_at": pl.Datetime("us", "UTC"),
        },
        orient="row",
    )
    return raw.filter(pl.col("deleted_at").is_null()).select(
        *(name for name in STORED_SCHEMA if name not in ("billing", "billed")),
        billing=(pl.col("status") == "approved")
        & pl.col("billable").fill_null(False)
        & ~pl.col("is_billed").fill_null(False),
        billed=pl.col("event_id").is_not_null(),
    )


def committed(session: Session, entries: pl.DataFrame, reference: Reference) -> pl.DataFrame:
    """Per capped contract on the page: the amount of its billing events (pending or invoiced)
    other than the page's own entries."""
    empty = History.empty().committed
    contracts = reference.contracts
    if "not_to_exceed" not in contracts.columns:
        return empty
    capped = (
        entries.select("project_id")
        .join(reference.projects.select("project_id", "contract_id"), on="project_id")
        .join(contracts.filter(pl.col("not_to_exceed").is_not_null()), on="contract_id")
    )["contract_id"].unique()
    if capped.is_empty():
        return empty
    e = BillingEventRow
    rows = session.execute(
        select(e.contract_id, func.sum(e.amount))
        .where(
            e.contract_id.in_(capped.to_list()),
            ~among(session, e.source_record_id, entries["id"].drop_nulls().to_list()),
        )
        .group_by(e.contract_id)
    ).all()
    return pl.DataFrame(
        [(contract, Decimal(str(total or 0)).quantize(CENTS)) for contract, total in rows],
        schema={"contract_id": pl.String, "committed": MONEY},
        orient="row",
    )
