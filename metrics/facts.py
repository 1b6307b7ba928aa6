"""Reading the rollups: one aggregate query per KPI input, sliced and summed in the database.

Every query reads an index range of a rollup table (a period of days, or what is open at an
as-of date), joins the one dimension table its slice needs (projects, people or customers, see
``metrics.slices`` for who owns which dimension) and groups by the slice value, so what reaches
Python is one row per slice value (and currency, bucket …), whatever the firm's history. The KPI
arithmetic on these frames is in ``metrics.executive``.

As-of rules (a past date re-read as it stood): billing events count once created, invoices once
issued and posted, approvals once approved, cash once received — all on or before the as-of date.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

import polars as pl
from sqlalchemy import Connection, String, and_, case, cast, func, literal, select

from metrics.slices import COLUMNS, Dimension, Owner
from sync.store import (
    CustomerRow,
    ProjectRow,
    ResourceRow,
    RollupBillingRow,
    RollupCapacityRow,
    RollupCycleRow,
    RollupReceivableRow,
    RollupTimeRow,
    read_frame,
)

BUCKETS = ("0–30", "31–60", "61–90", "90+")
Where = Mapping[Dimension, str] | None
OWNER_TABLES: dict[Owner, Any] = {
    "project": ProjectRow,
    "person": ResourceRow,
    "customer": CustomerRow,
}


@dataclass
class Slice:
    """How one query is sliced: the ``by`` column, the join it needs and the filters."""

    by: Dimension | None
    column: Any  # None when there is no slice, or the owner has no such dimension
    join: tuple[Any, Any] | None
    filters: list[Any] = field(default_factory=list)


def slicing(
    owner: Owner, key: Any, by: Dimension | None, where: Where, *, worker: Any = None
) -> Slice:
    """The slice of a fact table whose owner key column is ``key`` (``worker``: the fact's own
    person column, for project-owned facts sliced by person). Unknown keys ('') get no value."""
    table = OWNER_TABLES[owner]

    def expression(dimension: Dimension) -> Any:
        column = COLUMNS[owner][dimension]
        if column is None:
            return None
        if owner == "project" and dimension == "person":
            return func.nullif(worker, "")
        own_key = {"project": "project_id", "person": "resource_id", "customer": "customer_id"}
        return table.id if column == own_key[owner] else getattr(table, column)

    wanted = [d for d in [*(where or {}), *([by] if by else [])] if expression(d) is not None]
    needs_join = any(not (owner == "project" and d == "person") for d in wanted)
    by_column = expression(by) if by else None
    return Slice(
        by=by,
        column=by_column.label(str(by)) if by_column is not None else None,
        join=(table, table.id == key) if needs_join else None,
        filters=[
            expression(d) == value
            for d, value in (where or {}).items()
            if expression(d) is not None
        ],
    )


def _query(
    fact: Any, cut: Slice, measures: list[Any], keys: list[Any], conditions: list[Any]
) -> Any:
    columns = [*([cut.column] if cut.column is not None else []), *keys]
    statement = select(*columns, *measures).select_from(fact)
    if cut.join is not None:
        statement = statement.outerjoin(*cut.join)
    statement = statement.where(*conditions, *cut.filters)
    return statement.group_by(*columns) if columns else statement


def _frame(
    connection: Connection, statement: Any, cut: Slice, schema: dict[str, Any]
) -> pl.DataFrame:
    """Rows of ``statement``; a slice the owner cannot honour becomes a null ``by`` column."""
    sliced = cut.column is not None
    full = ({str(cut.by): pl.String} if sliced else {}) | schema
    out = read_frame(connection, statement, full, strict=False)
    if cut.by and not sliced:
        out = out.with_columns(pl.lit(None, pl.String).alias(cut.by))
    return out


def _sum_if(condition: Any, value: Any) -> Any:
    return func.coalesce(func.sum(case((condition, value), else_=0)), 0)


def _bucket(day: Any, as_of: date) -> Any:
    """The age bucket of ``day`` at ``as_of`` (days since: 0–30, 31–60, 61–90, 90+)."""
    return case(
        (day >= as_of - timedelta(days=30), literal(BUCKETS[0])),
        (day >= as_of - timedelta(days=60), literal(BUCKETS[1])),
        (day >= as_of - timedelta(days=90), literal(BUCKETS[2])),
        else_=literal(BUCKETS[3]),
    ).label("bucket")


def work(connection: Connection, *, start: date, end: date, cutoff: date) -> pl.DataFrame:
    """Per person and project, over days [start, end]: hours logged (rejected time left out),
    hours approved by the ``cutoff`` day, and approved billable time's standard value (at the
    time system's rate). Grouped by the fact's own keys (no join: a covering index range) and
    sliced by the caller with ``metrics.slices.attach``."""
    t = RollupTimeRow
    kept = t.status != "rejected"
    statement = (
        select(
            t.resource_id,
            t.project_id,
            _sum_if(kept, t.hours),
            _sum_if(and_(kept, t.approved_on <= cutoff), t.hours),
            _sum_if(and_(t.status == "approved", t.billable), t.standard_value),
        )
        .where(t.day.between(start, end))
        .group_by(t.resource_id, t.project_id)
    )
    rows = connection.execute(statement).all()
    return pl.DataFrame(
        [tuple(r) for r in rows],
        schema={
            "resource_id": pl.String,
            "project_id": pl.String,
            "logged_hours": pl.Float64,
            "approved_hours": pl.Float64,
            "standard_value": pl.Float64,
        },
        orient="row",
        strict=False,
    )


def billable_hours(
    connection: Connection, *, start: date, end: date, by: Dimension | None, where: Where
) -> pl.DataFrame:
    """Billable hours (rejected time left out) of the firm's people over [start, end], per slice
    of people."""
    t = RollupTimeRow
    conditions = [t.day.between(start, end), t.billable, t.status != "rejected"]
    return _people_hours(connection, t, t.hours, conditions, "billable_hours", by, where)


def available(
    connection: Connection, *, start: date, end: date, by: Dimension | None, where: Where
) -> pl.DataFrame:
    """Available hours of the firm's people over [start, end], per slice of people."""
    c = RollupCapacityRow
    conditions = [c.day.between(start, end)]
    return _people_hours(connection, c, c.available_hours, conditions, "available_hours", by, where)


def _people_hours(
    connection: Connection,
    table: Any,
    hours: Any,
    conditions: list[Any],
    name: str,
    by: Dimension | None,
    where: Where,
) -> pl.DataFrame:
    """``hours`` of ``table`` summed per slice of the firm's people (rows of no known person are
    left out), under ``conditions``, as the column ``name``."""
    cut = slicing("person", table.resource_id, by, where)
    cut.join = (ResourceRow, ResourceRow.id == table.resource_id)
    totals = [func.coalesce(func.sum(hours), 0)]
    statement = _query(table, cut, totals, [], [*conditions, ResourceRow.id.is_not(None)])
    return _frame(connection, statement, cut, {name: pl.Float64})


def labour(
    connection: Connection, *, start: date, end: date, by: Dimension | None, where: Where
) -> pl.DataFrame:
    """Cost of the time logged over [start, end] (rejected time left out): hours × the person's
    cost rate, per slice and the currency of the project (time on projects plan2cash does not
    know is left out; time of people it does not know costs nothing)."""
    t = RollupTimeRow
    cut = slicing("project", t.project_id, by, where, worker=t.resource_id)
    cut.join = (ProjectRow, ProjectRow.id == t.project_id)  # the project's currency, always
    statement = _query(
        t,
        cut,
        [func.sum(t.hours * ResourceRow.cost_rate)],
        [ProjectRow.currency],
        [t.day.between(start, end), t.status != "rejected", ProjectRow.id.is_not(None)],
    ).outerjoin(ResourceRow, ResourceRow.id == t.resource_id)
    return _frame(connection, statement, cut, {"currency": pl.String, "labour_cost": pl.Float64})


class Valued(StrEnum):
    """Which billing events of a period's work count towards its value, and the column it is in."""

    REVENUE = "revenue"  # created by the as-of date, invoiced or not: the revenue of margin
    BILLED = "billed_value"  # on an invoice posted by the as-of date


def billing_value(
    connection: Connection,
    valued: Valued,
    *,
    start: date,
    end: date,
    as_of: date,
    by: Dimension | None,
    where: Where,
) -> pl.DataFrame:
    """The amount of the billing events of work dated in [start, end] that count as ``valued`` at
    ``as_of`` (created by then for ``REVENUE``, posted on an invoice by then for ``BILLED``), per
    slice and currency, as the column ``valued`` names."""
    b = RollupBillingRow
    known = b.created_on <= as_of if valued is Valued.REVENUE else b.posted_on <= as_of
    cut = slicing("project", b.project_id, by, where, worker=b.resource_id)
    statement = _query(
        b, cut, [func.sum(b.amount)], [b.currency], [b.day.between(start, end), known]
    )
    return _frame(connection, statement, cut, {"currency": pl.String, valued.value: pl.Float64})


def unbilled(
    connection: Connection, *, as_of: date, by: Dimension | None, where: Where
) -> pl.DataFrame:
    """WIP at ``as_of`` per slice, currency and age bucket: billing events created by then for
    work done by then, not on an invoice issued by then. Two index ranges (never invoiced;
    invoiced after ``as_of``), summed together."""
    b = RollupBillingRow
    cut = slicing("project", b.project_id, by, where, worker=b.resource_id)
    schema = {
        "currency": pl.String,
        "bucket": pl.String,
        "amount": pl.Float64,
        "hours": pl.Float64,
        "events": pl.Int64,
    }
    parts = []
    for invoiced in (b.invoiced_on.is_(None), b.invoiced_on > as_of):
        statement = _query(
            b,
            cut,
            [func.sum(b.amount), func.sum(b.hours), func.sum(b.events)],
            [b.currency, _bucket(b.day, as_of)],
            [invoiced, b.day <= as_of, b.created_on <= as_of],
        )
        parts.append(_frame(connection, statement, cut, schema))
    keys = [*([by] if by else []), "currency", "bucket"]
    return pl.concat(parts).group_by(keys).agg(pl.col("amount", "hours", "events").sum())


def waiting(
    connection: Connection, *, as_of: date, by: Dimension | None, where: Where
) -> pl.DataFrame:
    """Time submitted by ``as_of`` and not approved by then, per slice and age bucket (days since
    submission): what is still submitted, and what was approved only after ``as_of``."""
    t = RollupTimeRow
    cut = slicing("project", t.project_id, by, where, worker=t.resource_id)
    schema = {"bucket": pl.String, "hours": pl.Float64, "entries": pl.Int64}
    parts = []
    for state in (
        t.status == "submitted",
        and_(t.status == "approved", t.approved_on > as_of),
    ):
        statement = _query(
            t,
            cut,
            [func.sum(t.hours), func.sum(t.entries)],
            [_bucket(t.submitted_on, as_of)],
            [state, t.submitted_on <= as_of],
        )
        parts.append(_frame(connection, statement, cut, schema))
    keys = [*([by] if by else []), "bucket"]
    return pl.concat(parts).group_by(keys).agg(pl.col("hours", "entries").sum())


def cycle(
    connection: Connection, *, start: date, end: date, by: Dimension | None, where: Where
) -> pl.DataFrame:
    """Histogram of billing cycle stages (whole hours) of invoices posted in [start, end], per
    slice (the histogram keeps no person: by person it is the firm's)."""
    c = RollupCycleRow
    cut = slicing("project", c.project_id, by, where, worker=literal(""))
    statement = _query(
        c, cut, [func.sum(c.events)], [c.stage, c.hours], [c.posted_on.between(start, end)]
    )
    return _frame(
        connection, statement, cut, {"stage": pl.String, "hours": pl.Int64, "events": pl.Int64}
    )


def receivables(
    connection: Connection, *, as_of: date, by: Dimension | None, where: Where
) -> pl.DataFrame:
    """Invoiced (by issue month) and paid per slice of customers and currency, as known at
    ``as_of``: invoices issued and posted by then, cash received by then."""
    r = RollupReceivableRow
    cut = slicing("customer", r.customer_id, by, where)
    month = func.substr(cast(r.day, String), 1, 7)  # "YYYY-MM" on both dialects
    statement = _query(
        r,
        cut,
        [func.sum(r.amount)],
        [r.currency, r.kind, month.label("month")],
        [r.day <= as_of, r.known_on <= as_of],
    )
    frame = _frame(
        connection,
        statement,
        cut,
        {"currency": pl.String, "kind": pl.String, "month": pl.String, "amount": pl.Float64},
    )
    return frame.with_columns(
        pl.concat_str(pl.col("month"), pl.lit("-01")).str.to_date().alias("month")
    )
