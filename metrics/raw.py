"""The executive KPIs from raw records: the reference the rollups must agree with.

Loads whole tables through ``metrics.load`` and applies the original KPI functions
(``metrics.utilization``, ``metrics.wip`` …), with the same as-of and slicing rules as the rollup
path. Its cost grows with history; it exists for checking (tests, ``bench/kpis.py``) and for a
store whose rollups have not been built.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from typing import Any

import polars as pl
from sqlalchemy import Connection

from metrics import executive, load
from metrics.approvals import approved_before_close, unapproved_aging
from metrics.cycle import cycle_time
from metrics.dso import dso_by
from metrics.finance import realization
from metrics.slices import Dimension, Dimensions, attach
from metrics.utilization import utilization
from metrics.wip import wip_aging

ALL = "__all"  # a constant grouping column when there is no slice


def _end_of(day: date) -> datetime:
    return datetime.combine(day, time.max, tzinfo=UTC)


class RawRecords:
    """Every record the KPIs need, loaded once for the current and previous periods."""

    def __init__(self, connection: Connection, dims: Dimensions) -> None:
        self.dims = dims
        self.entries = load.time_entries(connection).filter(pl.col("status") != "rejected")
        self.people = load.people(connection)
        self.holidays = load.holidays(connection)
        self.time_off = load.time_off(connection)
        self.events = load.billing_events(connection)
        self.invoices = load.invoices(connection).filter(pl.col("posted_at").is_not_null())
        self.payments = load.payments(connection)
        self.cost_rates = load.cost_rates(connection)

    def kpis(
        self,
        *,
        start: date,
        end: date,
        known: date,
        as_of: date,
        cutoff: date,
        by: Dimension | None,
        where: Mapping[Dimension, str] | None,
    ) -> dict[str, pl.DataFrame]:
        """Every KPI for [start, end] as known at ``known``; point figures (WIP, DSO,
        unapproved time) read at ``as_of``; approvals counted up to the ``cutoff`` day."""
        keys: list[str] | None = [by] if by else None
        entries = attach(self.entries, self.dims, "project", by, where)
        return {
            "utilization": self._utilization(start, end, by, where),
            "realization": self._realization(start, end, known, by, where),
            "wip": wip_aging(self._events(as_of, by, where), as_of=as_of, by=keys),
            "cycle_time": self._cycle(start, end, by, where),
            "dso": self._dso(as_of, by, where),
            "approvals": approved_before_close(
                entries, start=start, end=end, cutoff=_end_of(cutoff), by=keys
            )
            .drop("logged_hours")
            .sort(keys or []),
            "unapproved": unapproved_aging(_waiting(entries, as_of), as_of=as_of, by=keys),
            "margin": self._margin(start, end, known, by, where),
        }

    def _utilization(self, start: date, end: date, by: Any, where: Any) -> pl.DataFrame:
        people = attach(self.people, self.dims, "person", by, where).with_columns(
            pl.lit(1).alias(ALL)
        )
        time_ = self.entries.filter(pl.col("resource_id").is_not_null())
        out = utilization(
            people, time_, self.holidays, self.time_off, start=start, end=end, by=[by or ALL]
        )
        return out.drop(ALL) if not by else out

    def _realization(
        self, start: date, end: date, as_of: date, by: Any, where: Any
    ) -> pl.DataFrame:
        currency = self.dims.projects.select("project_id", "currency")
        worked = self.entries.filter(
            (pl.col("status") == "approved")
            & pl.col("billable")
            & pl.col("spent_date").is_between(start, end)
        ).join(currency, on="project_id", how="inner")
        standard = worked.select(
            "resource_id",
            "project_id",
            "currency",
            pl.col("hours").cast(pl.Float64),
            pl.col("vendor_rate").cast(pl.Float64).fill_null(0).alias("standard_rate"),
            pl.lit(0.0).alias("billed_amount"),
        )
        invoiced = self.events.filter(
            pl.col("occurred_on").is_between(start, end) & (pl.col("posted_at").dt.date() <= as_of)
        ).select(
            "resource_id",
            "project_id",
            "currency",
            pl.lit(0.0).alias("hours"),
            pl.lit(0.0).alias("standard_rate"),
            pl.col("amount").cast(pl.Float64).alias("billed_amount"),
        )
        work = attach(pl.concat([standard, invoiced]), self.dims, "project", by, where)
        out = realization(work.with_columns(pl.lit(1).alias(ALL)), by=[by or ALL])
        out = out.filter((pl.col("standard_value") != 0) | (pl.col("billed_value") != 0))
        return out.drop(ALL) if not by else out

    def _margin(self, start: date, end: date, as_of: date, by: Any, where: Any) -> pl.DataFrame:
        """Billing events of the period's work (created by ``as_of``) against the cost of the
        period's time (hours × the person's cost rate, in the project's currency)."""
        keys = [by] if by else []
        events = self.events.filter(
            pl.col("occurred_on").is_between(start, end)
            & (pl.col("event_created_at").dt.date() <= as_of)
        )
        revenue = (
            attach(events, self.dims, "project", by, where)
            .group_by("currency", *keys)
            .agg(pl.col("amount").cast(pl.Float64).sum().alias("revenue"))
        )
        currency = self.dims.projects.select("project_id", "currency")
        time_ = (
            self.entries.filter(pl.col("spent_date").is_between(start, end))
            .join(currency, on="project_id", how="inner")
            .join(self.cost_rates, on="resource_id", how="left")
        )
        cost = pl.col("hours").cast(pl.Float64) * pl.col("cost_rate").cast(pl.Float64)
        labour = (
            attach(time_, self.dims, "project", by, where)
            .group_by("currency", *keys)
            .agg(cost.sum().alias("labour_cost"))
        )
        return executive.margin(revenue, labour, by)

    def _events(self, as_of: date, by: Any, where: Any) -> pl.DataFrame:
        known = self.events.filter(pl.col("event_created_at").dt.date() <= as_of)
        return attach(known, self.dims, "project", by, where)

    def _cycle(self, start: date, end: date, by: Any, where: Any) -> pl.DataFrame:
        anonymous = self.events.with_columns(pl.lit(None, pl.String).alias("resource_id"))
        events = attach(anonymous, self.dims, "project", by, where)
        return cycle_time(events, start=start, end=end, by=[by] if by else None)

    def _dso(self, as_of: date, by: Any, where: Any) -> pl.DataFrame:
        posted = self.invoices.filter(pl.col("posted_at").dt.date() <= as_of)
        invoices = attach(posted, self.dims, "customer", by, where)
        keys = ["currency", *([by] if by else [])]
        return dso_by(invoices, self.payments, as_of=as_of, by=[by] if by else None).sort(
            keys, nulls_last=True
        )


def _waiting(entries: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """Time submitted by ``as_of`` and not approved by then, as it stood (status "submitted")."""
    return entries.filter(
        pl.col("status").is_in(["submitted", "approved"])
        & pl.col("submitted_at").is_not_null()
        & (pl.col("approved_at").is_null() | (pl.col("approved_at").dt.date() > as_of))
    ).with_columns(pl.lit("submitted").alias("status"))
