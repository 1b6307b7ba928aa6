"""The executive Overview's figures, composed from the store's frames by the metrics functions.

:func:`compute` is pure (frames in, an :class:`Overview` out): :mod:`app.data` loads the
:class:`Inputs` and caches the result; the page only renders it. Every KPI comes from its
:mod:`metrics` function with its published definition (docs/kpis.md); this module picks the
periods (the one containing the as-of date, the one before for the trend, six for the charts),
applies the slice, and keeps the records behind each figure for the drilldown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Literal

import polars as pl

from app import kpi_frames
from metrics.approvals import approved_before_close
from metrics.cycle import cycle_time, stage_durations
from metrics.dso import dso_by
from metrics.finance import project_margin
from metrics.leakage import revenue_leakage
from metrics.periods import Grain
from metrics.utilization import utilization
from metrics.wip import unbilled, wip_aging

CLOSE_DAYS = 5
"""Approvals count as "before close" up to this many days after the period ends."""
Dimension = Literal["region", "practice", "legal_entity", "customer"]


@dataclass(frozen=True)
class Filters:
    """What the Overview shows: the period grain, the as-of date and at most one slice."""

    as_of: date
    grain: Grain = "month"
    dimension: Dimension | None = None
    value: str | None = None

    @property
    def sliced(self) -> bool:
        return self.dimension is not None and self.value is not None


@dataclass(frozen=True)
class Inputs:
    """The store's frames the Overview is computed from (see :mod:`app.data`)."""

    events: pl.DataFrame  # metrics.load.billing_events
    invoices: pl.DataFrame  # metrics.load.invoices, posted only
    payments: pl.DataFrame  # metrics.load.payments
    entries: pl.DataFrame  # queries.time_entries
    people: pl.DataFrame  # queries.people
    holidays: pl.DataFrame  # queries.holidays
    time_off: pl.DataFrame  # queries.approved_time_off
    projects: pl.DataFrame  # queries.project_dimensions
    customers: pl.DataFrame  # queries.customer_dimensions
    held: pl.DataFrame  # queries.time_exceptions
    event_sources: pl.DataFrame  # queries.billing_event_sources
    numbers: pl.DataFrame  # queries.invoice_numbers

    @property
    def empty(self) -> bool:
        return self.events.is_empty() and self.invoices.is_empty() and self.entries.is_empty()


@dataclass(frozen=True)
class Overview:
    """Every executive KPI for the chosen period and slice, its trend, and its records."""

    filters: Filters
    periods: list[tuple[date, date]]  # oldest first; the last one is the current period
    empty: bool
    utilization_sliced: bool  # False: the slice does not apply to people (firm-wide shown)
    dso_sliced: bool  # False: the slice does not apply to invoices (practice)
    utilization_trend: pl.DataFrame  # period, label, billable_hours, available_hours, utilization
    utilization_people: pl.DataFrame  # current period per person (+ practice, region)
    utilization_entries: pl.DataFrame  # billable time entries of the current period
    wip: pl.DataFrame  # currency, bucket, amount, hours, events (as of)
    wip_previous: pl.DataFrame  # wip_totals at the previous period's end
    wip_records: pl.DataFrame  # the billing events in WIP, with their bucket
    cycle: pl.DataFrame  # stage, median, p90 (current period)
    cycle_previous: pl.DataFrame
    cycle_records: pl.DataFrame  # events posted in the period, with their stages
    dso_trend: pl.DataFrame  # period_end, label, currency, ending_ar, sales, standard, countback
    ar_records: pl.DataFrame  # open invoices at the as-of date
    approvals: pl.DataFrame  # label, logged_hours, approved_hours, approved_share (closed periods)
    leakage: pl.DataFrame  # currency, kind, amount, hours, entries
    leakage_records: pl.DataFrame
    margin: pl.DataFrame  # currency, revenue, cost, margin, margin_share (current period)
    margin_previous: pl.DataFrame
    slices: dict[str, list[str]] = field(default_factory=dict)

    @property
    def period(self) -> tuple[date, date]:
        return self.periods[-1]

    @property
    def label(self) -> str:
        return kpi_frames.period_label(self.period[0], self.filters.grain)

    @property
    def label_short(self) -> str:
        return kpi_frames.period_label(self.period[0], self.filters.grain, short=True)

    @property
    def previous_label(self) -> str:
        return kpi_frames.period_label(self.periods[-2][0], self.filters.grain)

    @property
    def currencies(self) -> list[str]:
        """Currencies with WIP, invoices or revenue, the one with the most WIP first."""
        wip = kpi_frames.wip_totals(self.wip).sort("amount", descending=True)["currency"].to_list()
        rest = set(self.dso_trend["currency"].to_list()) | set(self.margin["currency"].to_list())
        return wip + sorted(rest - set(wip))


def compute(inputs: Inputs, filters: Filters) -> Overview:
    """The Overview as of ``filters.as_of``, cut to the slice."""
    periods = kpi_frames.periods_back(filters.as_of, filters.grain)
    events = _work_slice(inputs.events, inputs, filters)
    entries = _work_slice(inputs.entries, inputs, filters)
    invoices = kpi_frames.keep_slice(
        kpi_frames.with_customer_dimensions(inputs.invoices, inputs.customers),
        filters.dimension,
        filters.value,
    )
    people_slice = filters.dimension in kpi_frames.PEOPLE_DIMENSIONS
    utilization_frames = _utilization(inputs, filters, periods, people_slice or not filters.sliced)
    start, end = periods[-1]
    return Overview(
        filters=filters,
        periods=periods,
        empty=inputs.empty,
        utilization_sliced=people_slice or not filters.sliced,
        dso_sliced=filters.dimension != "practice",
        utilization_trend=utilization_frames[0],
        utilization_people=utilization_frames[1],
        utilization_entries=utilization_frames[2],
        wip=wip_aging(events, as_of=filters.as_of),
        wip_previous=kpi_frames.wip_totals(wip_aging(events, as_of=periods[-2][1])),
        wip_records=_named(unbilled(events, as_of=filters.as_of), inputs.people),
        cycle=kpi_frames.cycle_stages(cycle_time(events, start=start, end=end)),
        cycle_previous=kpi_frames.cycle_stages(
            cycle_time(events, start=periods[-2][0], end=periods[-2][1])
        ),
        cycle_records=_posted_in(events, start, end, inputs.people),
        dso_trend=_dso_trend(invoices, inputs.payments, periods, filters.grain),
        ar_records=kpi_frames.open_invoices(invoices, inputs.payments, as_of=filters.as_of).join(
            inputs.numbers, on="invoice_id", how="left"
        ),
        approvals=_approvals(entries, periods, filters),
        leakage=revenue_leakage(_leaky(entries, inputs), as_of=filters.as_of),
        leakage_records=revenue_leakage(
            _named(_leaky(entries, inputs), inputs.people),
            as_of=filters.as_of,
            by=["id", "spent_date", "person", "customer", "project_code"],
        ).sort("amount", descending=True),
        margin=_margin(events, entries, inputs.people, periods[-1]),
        margin_previous=_margin(events, entries, inputs.people, periods[-2]),
        slices=kpi_frames.slice_values(
            kpi_frames.with_project_dimensions(
                inputs.projects.select("project_id"), inputs.projects
            ),
            kpi_frames.utilization_inputs(inputs.people, inputs.holidays)[0],
        ),
    )


def _work_slice(frame: pl.DataFrame, inputs: Inputs, filters: Filters) -> pl.DataFrame:
    dims = kpi_frames.with_project_dimensions(frame, inputs.projects)
    return kpi_frames.keep_slice(dims, filters.dimension, filters.value)


def _named(frame: pl.DataFrame, people: pl.DataFrame) -> pl.DataFrame:
    return frame.join(people.select("resource_id", "person"), on="resource_id", how="left")


def _utilization(
    inputs: Inputs, filters: Filters, periods: list[tuple[date, date]], apply_slice: bool
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    people, holidays = kpi_frames.utilization_inputs(inputs.people, inputs.holidays)
    if apply_slice:
        people = kpi_frames.keep_slice(people, filters.dimension, filters.value)
    time_frame = inputs.entries.filter(pl.col("resource_id").is_in(people["resource_id"].implode()))
    keys = ["resource_id", "person", "practice", "region"]
    trend, per_person = [], pl.DataFrame()
    for start, end in periods:
        per_person = utilization(
            people, time_frame, holidays, inputs.time_off, start=start, end=end, by=keys
        )
        trend.append(
            {"period": start, "label": kpi_frames.period_label(start, filters.grain)}
            | kpi_frames.utilization_row(per_person)
        )
    start, end = periods[-1]
    records = kpi_frames.with_project_dimensions(
        _named(
            time_frame.filter(pl.col("billable") & pl.col("spent_date").is_between(start, end)),
            people,
        ).join(people.select("resource_id", "practice", "region"), on="resource_id", how="left"),
        inputs.projects.drop("practice", "region"),
    )
    schema = {
        "period": pl.Date,
        "label": pl.String,
        "billable_hours": pl.Float64,
        "available_hours": pl.Float64,
        "utilization": pl.Float64,
    }
    return pl.DataFrame(trend, schema=schema), per_person, records


def _posted_in(events: pl.DataFrame, start: date, end: date, people: pl.DataFrame) -> pl.DataFrame:
    stages = stage_durations(events).filter(pl.col("posted_at").dt.date().is_between(start, end))
    return _named(stages, people).sort("cycle_time", descending=True, nulls_last=True)


def _dso_trend(
    invoices: pl.DataFrame, payments: pl.DataFrame, periods: list[tuple[date, date]], grain: Grain
) -> pl.DataFrame:
    rows = []
    for start, end in periods:
        dso = dso_by(invoices, payments, as_of=end).with_columns(
            period_end=pl.lit(end), label=pl.lit(kpi_frames.period_label(start, grain))
        )
        rows.append(dso)
    schema = {
        "currency": pl.String,
        "ending_ar": pl.Float64,
        "sales": pl.Float64,
        "standard_days": pl.Float64,
        "countback_days": pl.Float64,
        "period_end": pl.Date,
        "label": pl.String,
    }
    if not rows:
        return pl.DataFrame(schema=schema)
    return (
        pl.concat(rows)
        .with_columns(pl.col("ending_ar", "sales").cast(pl.Float64))
        .select(list(schema))
    )


def _approvals(
    entries: pl.DataFrame, periods: list[tuple[date, date]], filters: Filters
) -> pl.DataFrame:
    """Approved before close for each period whose close cut-off has passed by the as-of date."""
    rows = []
    for start, end in periods:
        cutoff = kpi_frames.close_cutoff(end, CLOSE_DAYS)
        if cutoff > filters.as_of:
            continue
        moment = datetime.combine(cutoff, time.max, tzinfo=UTC)
        share = approved_before_close(entries, start=start, end=end, cutoff=moment)
        label, short = (
            kpi_frames.period_label(start, filters.grain, short=b) for b in (False, True)
        )
        rows.append({"label": label, "label_short": short, "cutoff": cutoff}
                    | share.row(0, named=True))  # fmt: skip
    schema = {
        "label": pl.String,
        "label_short": pl.String,
        "cutoff": pl.Date,
        "logged_hours": pl.Float64,
        "approved_hours": pl.Float64,
        "expected_hours": pl.Float64,
        "approved_share": pl.Float64,
    }
    return pl.DataFrame(rows, schema=schema)


def _leaky(entries: pl.DataFrame, inputs: Inputs) -> pl.DataFrame:
    return kpi_frames.leakage_entries(
        entries.drop("project_status", "project_end"),
        inputs.event_sources,
        inputs.held,
        inputs.projects,
    )


def _margin(
    events: pl.DataFrame, entries: pl.DataFrame, people: pl.DataFrame, period: tuple[date, date]
) -> pl.DataFrame:
    start, end = period
    revenue = events.filter(pl.col("occurred_on").is_between(start, end)).select(
        "project_id", "currency", pl.col("amount").cast(pl.Float64)
    )
    labour = (
        entries.filter(pl.col("spent_date").is_between(start, end))
        .join(people.select("resource_id", "cost_rate"), on="resource_id", how="left")
        .select("project_id", "hours", pl.col("cost_rate").fill_null(0.0))
    )
    expenses = pl.DataFrame(schema={"project_id": pl.String, "amount": pl.Float64})
    return kpi_frames.margin_by_currency(project_margin(revenue, labour, expenses))
