"""The executive KPI set, as one call: what ``plan2cash kpis`` prints and the dashboard shows.

``executive_kpis`` reads the rollups (``metrics.facts`` → ``metrics.executive``) by default, or
the raw records (``metrics.raw``, the reference) with ``source="raw"``; both give the same frames.
Every figure is per currency where it is money, carries its period, can be sliced ``by`` one
dimension and filtered to slice values (``where``), and comes with the previous period's value
(``headline``: this period against the last). Definitions: ``docs/kpis.md``.

Period KPIs (utilization, realization, cycle time, approvals) cover the ``grain`` period that
contains ``as_of``, up to ``as_of``; point KPIs (WIP, DSO, unapproved time) are read at ``as_of``.
The previous period is the whole period before: its period KPIs as known at ``as_of`` (last
month's realization counts the invoices posted since), its point KPIs read at its last day.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

import polars as pl
from sqlalchemy import Connection, select

from metrics import executive, facts, leakage, leakage_report, load
from metrics.health import flow_health, open_exceptions
from metrics.periods import Grain, bounds, previous
from metrics.raw import RawRecords
from metrics.slices import Dimension, Dimensions, Owner, attach, dimensions, notes
from sync.store import CursorRow

Source = Literal["rollups", "raw"]
CLOSE_DAYS = 3  # the period close cut-off: approvals count up to this many days after period end
FRAMES = (
    "utilization",
    "realization",
    "wip",
    "cycle_time",
    "dso",
    "approvals",
    "unapproved",
    "margin",
    "flows",
    "exceptions",
    "headline",
)
OWNERS: dict[str, Owner] = {
    "utilization": "person",
    "realization": "project",
    "wip": "project",
    "cycle_time": "project",
    "dso": "customer",
    "approvals": "project",
    "unapproved": "project",
    "margin": "project",
}


@dataclass(frozen=True)
class KpiReport:
    """Every executive KPI for one period and slice. Frames have a column named after ``by``
    (the slice value) when ``by`` is given; money frames have ``currency``."""

    as_of: date
    grain: Grain
    period: tuple[date, date]  # [start, min(end, as_of)]
    previous_period: tuple[date, date]
    by: Dimension | None
    where: Mapping[Dimension, str]
    source: Source
    utilization: pl.DataFrame  # billable_hours, available_hours, utilization (share)
    realization: pl.DataFrame  # currency, standard_value, billed_value, realization (share)
    wip: pl.DataFrame  # currency, bucket, amount, hours, events
    cycle_time: pl.DataFrame  # events, <stage>_median / _p90 in days
    dso: pl.DataFrame  # currency, ending_ar, sales, standard_days, countback_days
    approvals: pl.DataFrame  # expected_hours, approved_hours, approved_share
    unapproved: pl.DataFrame  # bucket, hours, entries
    margin: pl.DataFrame  # currency, revenue, labour_cost, expenses, margin, margin_share
    flows: pl.DataFrame  # per flow: runs, failed runs, records, sync lag … (runs in the period)
    exceptions: pl.DataFrame  # open exceptions by flow, category, currency
    headline: pl.DataFrame  # kpi, unit, currency, [by], value, previous, change
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (dates as ISO strings, decimals as strings)."""
        return {
            "as_of": self.as_of.isoformat(),
            "grain": self.grain,
            "period": {"start": self.period[0].isoformat(), "end": self.period[1].isoformat()},
            "previous_period": {
                "start": self.previous_period[0].isoformat(),
                "end": self.previous_period[1].isoformat(),
            },
            "by": self.by,
            "where": dict(self.where),
            "source": self.source,
            "notes": self.notes,
            **{name: _records(getattr(self, name)) for name in FRAMES},
        }


def _records(frame: pl.DataFrame) -> list[dict[str, Any]]:
    return [
        {
            k: v.isoformat()
            if isinstance(v, date | datetime)
            else (str(v) if v is not None and not isinstance(v, int | float | str | bool) else v)
            for k, v in row.items()
        }
        for row in frame.to_dicts()
    ]


def executive_kpis(
    connection: Connection,
    *,
    as_of: date,
    grain: Grain = "month",
    by: Dimension | None = None,
    where: Mapping[Dimension, str] | None = None,
    source: Source = "rollups",
    health: bool = True,
) -> KpiReport:
    """Every executive KPI for the ``grain`` period containing ``as_of`` (and the one before),
    sliced ``by`` a dimension and limited to the slice values in ``where``. ``health=False``
    leaves the flow health and open exceptions empty (a caller that shows them once, not per
    period, saves reading them)."""
    start, end = bounds(as_of, grain)
    end = min(end, as_of)
    before = previous(as_of, grain)
    dims = dimensions(connection)
    fallback = []
    if source == "rollups" and not rollups_built(connection):
        source = "raw"
        fallback = ["the rollups have not been built yet (the rollups flow has not run): read raw"]
    compute = (
        _from_rollups(connection, dims) if source == "rollups" else _from_raw(connection, dims)
    )
    now = compute(start, end, as_of, as_of, by, where)
    then = compute(before[0], before[1], as_of, before[1], by, where)
    flows, exceptions = _health(connection, start, end, as_of, read=health)
    return KpiReport(
        as_of=as_of,
        grain=grain,
        period=(start, end),
        previous_period=before,
        by=by,
        where=dict(where or {}),
        source=source,
        flows=flows,
        exceptions=exceptions,
        headline=headline(now, then, by),
        notes=fallback + [n for kpi, owner in OWNERS.items() for n in notes(owner, kpi, by, where)],
        **now,
    )


Compute = Any  # (start, end, known, point, by, where) -> dict[str, pl.DataFrame]


def _health(
    connection: Connection, start: date, end: date, as_of: date, *, read: bool
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Flow health of the runs started in [start, end] and the open exceptions (empty frames of
    the same shape when not ``read``)."""
    moment = min(datetime.combine(as_of, time.max, tzinfo=UTC), datetime.now(UTC))
    runs, exceptions = pl.DataFrame(schema=load.RUNS), pl.DataFrame(schema=load.EXCEPTIONS)
    if read:
        runs = load.runs(connection, since=start, until=end)
        exceptions = load.exceptions(connection, open_only=True)
    return flow_health(runs, now=moment), open_exceptions(exceptions, now=moment)


def revenue_leakage(
    connection: Connection,
    *,
    as_of: date,
    by: Dimension | None = None,
    where: Mapping[Dimension, str] | None = None,
    since: date | None = None,
) -> pl.DataFrame:
    """Revenue leakage at ``as_of`` per currency and kind (and ``by``): ``amount``, ``hours``,
    ``entries`` — approved billable time never billed, billed below its rate, or on a closed
    project, over the work dated from ``since`` (default: ``LOOKBACK_DAYS`` back). A point
    figure read from raw rows (``metrics.leakage_report``); its entries are
    ``metrics.drill.records(connection, "leakage", …)``."""
    found = leakage_report.entries(connection, as_of=as_of, by=by, where=where, since=since)
    return leakage.revenue_leakage(found, as_of=as_of, by=[by] if by else None)


def rollups_built(connection: Connection) -> bool:
    """Whether the rollups flow has run on this store (it leaves watermarks in ``cursors``)."""
    found = connection.execute(
        select(CursorRow.stream).where(CursorRow.system == "rollups").limit(1)
    ).first()
    return found is not None


def cutoff(end: date, as_of: date) -> date:
    """The close cut-off of a period ending ``end``, as it stood at ``as_of``."""
    return min(end + timedelta(days=CLOSE_DAYS), as_of)


def _from_rollups(connection: Connection, dims: Dimensions) -> Compute:
    def compute(
        start: date, end: date, known: date, as_of: date, by: Any, where: Any
    ) -> dict[str, pl.DataFrame]:
        period = {"start": start, "end": end, "by": by, "where": where}
        point = {"as_of": as_of, "by": by, "where": where}
        work = _by_project(
            facts.work(connection, start=start, end=end, cutoff=cutoff(end, known)),
            dims,
            by,
            where,
        )
        return {
            "utilization": executive.utilization(
                facts.billable_hours(connection, **period),
                facts.available(connection, **period),
                dims,
                by,
                where,
            ),
            "realization": executive.realization(
                work,
                facts.billing_value(connection, facts.Valued.BILLED, as_of=known, **period),
                by,
            ),
            "wip": executive.wip(facts.unbilled(connection, **point), by),
            "cycle_time": executive.cycle_time(facts.cycle(connection, **period), by),
            "dso": executive.dso(facts.receivables(connection, **point), as_of=as_of, by=by),
            "approvals": executive.approvals(work, by),
            "unapproved": executive.unapproved(facts.waiting(connection, **point), by),
            "margin": executive.margin(
                facts.billing_value(connection, facts.Valued.REVENUE, as_of=known, **period),
                facts.labour(connection, **period),
                by,
            ),
        }

    return compute


def _by_project(frame: pl.DataFrame, dims: Dimensions, by: Any, where: Any) -> pl.DataFrame:
    """Project-owned facts sliced in polars, with the project's currency (null if unknown)."""
    currency = dims.projects.select("project_id", "currency")
    priced = frame.join(currency, on="project_id", how="left")
    return attach(priced, dims, "project", by, where)


def _from_raw(connection: Connection, dims: Dimensions) -> Compute:
    records = RawRecords(connection, dims)

    def compute(
        start: date, end: date, known: date, as_of: date, by: Any, where: Any
    ) -> dict[str, pl.DataFrame]:
        return records.kpis(
            start=start,
            end=end,
            known=known,
            as_of=as_of,
            cutoff=cutoff(end, known),
            by=by,
            where=where,
        )

    return compute


# --- the headline: one value per KPI (and currency, and slice), against the previous period --

HEADLINES: tuple[tuple[str, str, str, str, bool], ...] = (
    # kpi, unit, frame, value column (or "sum:<column>"), per currency
    ("utilization", "share", "utilization", "utilization", False),
    ("realization", "share", "realization", "realization", True),
    ("wip", "money", "wip", "sum:amount", True),
    ("wip_hours", "hours", "wip", "sum:hours", True),
    ("cycle_time_median", "days", "cycle_time", "cycle_time_median", False),
    ("cycle_time_p90", "days", "cycle_time", "cycle_time_p90", False),
    ("dso_standard", "days", "dso", "standard_days", True),
    ("dso_countback", "days", "dso", "countback_days", True),
    ("approved_before_close", "share", "approvals", "approved_share", False),
    ("unapproved_hours", "hours", "unapproved", "sum:hours", False),
    ("margin", "money", "margin", "sum:margin", True),
    ("margin_share", "share", "margin", "margin_share", True),
)


KPIS: dict[str, str] = {kpi: unit for kpi, unit, *_rest in HEADLINES}
"""The headline KPIs by name (``headline``'s ``kpi``) and their unit: share, money, hours or days
(what alert rules name)."""


def _values(frames: dict[str, pl.DataFrame], by: Dimension | None) -> pl.DataFrame:
    parts = []
    for kpi, unit, name, column, per_currency in HEADLINES:
        source = frames[name]
        keys = [*(["currency"] if per_currency else []), *([by] if by else [])]
        if column.startswith("sum:"):
            value = pl.col(column[4:]).cast(pl.Float64).sum()
            picked = (
                source.group_by(keys).agg(value.alias("value"))
                if keys
                else source.select(value.alias("value"))
            )
        else:
            picked = source.select(*keys, pl.col(column).cast(pl.Float64).alias("value"))
        if not per_currency:
            picked = picked.with_columns(pl.lit(None, pl.String).alias("currency"))
        if by:
            picked = picked.with_columns(pl.col(by).cast(pl.String))
        parts.append(
            picked.with_columns(pl.lit(kpi).alias("kpi"), pl.lit(unit).alias("unit")).select(
                "kpi", "unit", "currency", *([by] if by else []), "value"
            )
        )
    return pl.concat(parts)


def headline(
    now: dict[str, pl.DataFrame], then: dict[str, pl.DataFrame], by: Dimension | None
) -> pl.DataFrame:
    """``kpi, unit, currency, [by], value, previous, change`` (change = value − previous)."""
    keys = ["kpi", "unit", "currency", *([by] if by else [])]
    current, earlier = _values(now, by), _values(then, by).rename({"value": "previous"})
    order = {kpi: i for i, (kpi, *_rest) in enumerate(HEADLINES)}
    return (
        current.join(earlier, on=keys, how="full", coalesce=True, nulls_equal=True)
        .with_columns((pl.col("value") - pl.col("previous")).alias("change"))
        .with_columns(pl.col("kpi").replace_strict(order, return_dtype=pl.Int64).alias("_order"))
        .sort(["_order", *keys[2:]], nulls_last=True)
        .drop("_order")
    )
