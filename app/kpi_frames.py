"""Pure shaping behind the executive Overview page: slices, periods, trends and drilldown frames.

Frames in, frames out, no I/O and no streamlit (like :mod:`app.frames`). The KPI arithmetic
itself stays in :mod:`metrics`; this module only prepares its inputs (who a record belongs to,
which period it falls in) and turns its outputs into what a chart or a tile shows.

A slice is one value of one dimension: region, practice, legal entity or customer. Billing
events and time entries take their slice from their project (region and legal entity fall back
to the customer's); invoices from their customer; people from their own region and practice.
A record whose dimension is not set reads ``(not set)``, so it can still be selected.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import polars as pl

from metrics.periods import Grain, bounds, previous

UNSET = "(not set)"
DIMENSIONS: dict[str, str] = {
    "region": "Region",
    "practice": "Practice",
    "legal_entity": "Legal entity",
    "customer": "Customer",
}
PEOPLE_DIMENSIONS = ("region", "practice")
"""The slices that apply to people (utilization); the others are slices of the work."""
TREND_PERIODS = 6


def period_label(start: date, grain: Grain, *, short: bool = False) -> str:
    """``Oct 2026``, ``Q4 2026``, ``week of 5 Oct 2026``, ``5 Oct 2026``; ``short`` for a tile's
    label: ``Oct``, ``Q4``, ``wk 5 Oct``, ``5 Oct``."""
    if short:
        quarter = f"Q{(start.month - 1) // 3 + 1}"
        names = {"month": f"{start:%b}", "quarter": quarter, "week": f"wk {start.day} {start:%b}"}
        return names.get(grain, f"{start.day} {start:%b}")
    if grain == "month":
        return f"{start:%b %Y}"
    if grain == "quarter":
        return f"Q{(start.month - 1) // 3 + 1} {start.year}"
    if grain == "week":
        return f"week of {start.day} {start:%b %Y}"
    return f"{start.day} {start:%b %Y}"


def periods_back(as_of: date, grain: Grain, count: int = TREND_PERIODS) -> list[tuple[date, date]]:
    """The ``count`` periods up to the one containing ``as_of``, oldest first; the last one ends
    on ``as_of`` (a period is only read as far as it has happened)."""
    start, end = bounds(as_of, grain)
    out = [(start, min(end, as_of))]
    while len(out) < count:
        out.insert(0, previous(out[0][0], grain))
    return out


def close_cutoff(end: date, close_days: int) -> date:
    """The last day approvals count as "before close": ``close_days`` after the period ends."""
    return end + timedelta(days=close_days)


# --- slices -------------------------------------------------------------------------------------


def _filled(frame: pl.DataFrame, columns: tuple[str, ...]) -> pl.DataFrame:
    present = [c for c in columns if c in frame.columns]
    return frame.with_columns(pl.col(present).fill_null(UNSET))


def with_project_dimensions(frame: pl.DataFrame, projects: pl.DataFrame) -> pl.DataFrame:
    """Add customer, region, practice, legal entity (and project code, status, end) by
    ``project_id``; a record on an unknown project reads ``(not set)`` everywhere."""
    dims = projects.drop([c for c in ("customer_id", "contract_id") if c in frame.columns])
    joined = frame.join(dims, on="project_id", how="left")
    return _filled(joined, (*DIMENSIONS, "project_code"))


def with_customer_dimensions(frame: pl.DataFrame, customers: pl.DataFrame) -> pl.DataFrame:
    """Add customer name, region and legal entity by ``customer_id`` (invoices); practice is a
    project's, so an invoice has none."""
    joined = frame.join(customers, on="customer_id", how="left").with_columns(
        practice=pl.lit(None, pl.String)
    )
    return _filled(joined, tuple(DIMENSIONS))


def keep_slice(frame: pl.DataFrame, dimension: str | None, value: str | None) -> pl.DataFrame:
    """The rows of one slice (all rows when no slice is chosen)."""
    if dimension is None or value is None:
        return frame
    return frame.filter(pl.col(dimension) == value)


def slice_values(*frames: pl.DataFrame) -> dict[str, list[str]]:
    """Every value each dimension takes in the given frames, sorted, ``(not set)`` last."""
    out: dict[str, list[str]] = {}
    for dimension in DIMENSIONS:
        values: set[str] = set()
        for frame in frames:
            if dimension in frame.columns:
                values |= set(frame[dimension].fill_null(UNSET).to_list())
        out[dimension] = sorted(values - {UNSET}) + ([UNSET] if UNSET in values else [])
    return out


# --- utilization ---------------------------------------------------------------------------------


def utilization_inputs(
    people: pl.DataFrame, holidays: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """People with their region filled in, and holidays per region: a holiday with no region
    applies everywhere, so it is repeated for every region people are in (``(not set)`` too)."""
    people = _filled(people, PEOPLE_DIMENSIONS)
    regions = people.select("region").unique()
    everywhere = (
        holidays.filter(pl.col("region").is_null()).drop("region").join(regions, how="cross")
    )
    regional = holidays.filter(pl.col("region").is_not_null())
    both = pl.concat([regional, everywhere.select("region", "day")]).unique()
    return people, both


def utilization_row(per_group: pl.DataFrame) -> dict[str, float | None]:
    """Billable, available and utilization summed over the groups of
    :func:`metrics.utilization.utilization` output."""
    billable = float(per_group["billable_hours"].sum()) if per_group.height else 0.0
    available = float(per_group["available_hours"].sum()) if per_group.height else 0.0
    return {
        "billable_hours": billable,
        "available_hours": available,
        "utilization": billable / available if available > 0 else None,
    }


# --- money KPIs ---------------------------------------------------------------------------------


def wip_totals(aging: pl.DataFrame) -> pl.DataFrame:
    """WIP per currency (amount, hours, events, and the share older than 60 days) from
    :func:`metrics.wip.wip_aging` output."""
    old = pl.col("bucket").cast(pl.String).is_in(["61–90", "90+"])
    return (
        aging.group_by("currency")
        .agg(
            pl.col("amount").cast(pl.Float64).sum(),
            pl.col("hours").cast(pl.Float64).sum(),
            pl.col("events").sum(),
            pl.col("amount").cast(pl.Float64).filter(old).sum().alias("over_60"),
        )
        .sort("currency")
    )


def open_invoices(invoices: pl.DataFrame, payments: pl.DataFrame, *, as_of: date) -> pl.DataFrame:
    """The invoices that make up AR on ``as_of``: issued by then, not fully paid by then, with
    ``paid`` and ``due`` as of that day and ``days_outstanding`` since issue, oldest first."""
    paid = (
        payments.filter(pl.col("paid_on") <= as_of)
        .group_by("invoice_id")
        .agg(pl.col("amount").cast(pl.Float64).sum().alias("paid"))
    )
    return (
        invoices.filter(pl.col("issue_date") <= as_of)
        .join(paid, on="invoice_id", how="left")
        .with_columns(
            pl.col("paid").fill_null(0.0),
            total=pl.col("total").cast(pl.Float64),
        )
        .with_columns(due=pl.col("total") - pl.col("paid"))
        .filter(pl.col("due") > 0.005)
        .with_columns(days_outstanding=(pl.lit(as_of) - pl.col("issue_date")).dt.total_days())
        .sort("issue_date", "invoice_id")
    )


def cycle_stages(cycle: pl.DataFrame) -> pl.DataFrame:
    """:func:`metrics.cycle.cycle_time` (no ``by``) as one row per stage: stage, median, p90
    (days); empty when nothing was posted in the period."""
    stages = ("approval_lag", "sync_lag", "invoicing_lag", "posting_lag", "cycle_time")
    schema = {"stage": pl.String, "median": pl.Float64, "p90": pl.Float64}
    if cycle.is_empty() or not cycle["events"][0]:
        return pl.DataFrame(schema=schema)
    row = cycle.row(0, named=True)
    rows = [(s, row[f"{s}_median"], row[f"{s}_p90"]) for s in stages]
    return pl.DataFrame(rows, schema=schema, orient="row")


def leakage_entries(
    entries: pl.DataFrame, events: pl.DataFrame, held: pl.DataFrame, projects: pl.DataFrame
) -> pl.DataFrame:
    """Approved billable time entries in the shape :func:`metrics.leakage.revenue_leakage` reads.

    ``billed_rate`` is the rate of the entry's invoiced billing event; the rate it should have had
    (``expected_rate``) is that event's rate (the rate card's), or for time held as an exception
    the value at risk the engine put on it ÷ its hours. Time with neither has no known rate and
    counts as hours without a value. Time invoiced outside plan2cash (before go-live) is not
    leakage. ``on_closed_project``: dated after its project's end on a
    closed project.
    """
    priced = (
        entries.filter((pl.col("status") == "approved") & pl.col("billable") & ~pl.col("is_billed"))
        .join(events, left_on="id", right_on="time_entry_id", how="left")
        .join(held, left_on="id", right_on="time_entry_id", how="left")
    )
    held_rate = pl.col("value_at_risk") / pl.col("hours")
    return priced.join(
        projects.select("project_id", "project_status", "project_end"), on="project_id", how="left"
    ).with_columns(
        currency=pl.coalesce("currency", "exception_currency").fill_null(UNSET),
        approved=pl.lit(True),
        expected_rate=pl.coalesce("billed_rate", held_rate),
        billed_rate=pl.when(pl.col("invoice_id").is_not_null()).then(pl.col("billed_rate")),
        on_closed_project=(pl.col("project_status") == "closed")
        & (pl.col("spent_date") > pl.col("project_end")).fill_null(False),
    )


def margin_by_currency(margins: pl.DataFrame) -> pl.DataFrame:
    """:func:`metrics.finance.project_margin` summed per currency: revenue, costs, margin and
    margin share (null with no revenue)."""
    sums = margins.group_by("currency").agg(
        pl.col("revenue").cast(pl.Float64).sum(),
        (pl.col("labour_cost") + pl.col("expenses")).cast(pl.Float64).sum().alias("cost"),
        pl.col("margin").cast(pl.Float64).sum(),
    )
    return sums.with_columns(
        margin_share=pl.when(pl.col("revenue") != 0).then(pl.col("margin") / pl.col("revenue"))
    ).sort("currency")


def utilization_by(per_person: pl.DataFrame, column: str) -> pl.DataFrame:
    """Per-person utilization (:func:`metrics.utilization.utilization` with person columns)
    rolled up to ``column`` (practice, region or person): hours add up, shares are recomputed."""
    sums = per_person.group_by(column).agg(pl.col("billable_hours", "available_hours").sum())
    return sums.with_columns(
        utilization=pl.when(pl.col("available_hours") > 0).then(
            pl.col("billable_hours") / pl.col("available_hours")
        )
    ).sort(column)


def records_where(frame: pl.DataFrame, **equals: str | None) -> pl.DataFrame:
    """The rows whose columns equal the given values (a drilldown from a clicked bar); a
    ``None`` value selects nothing."""
    if any(value is None for value in equals.values()):
        return frame.clear()
    condition = pl.all_horizontal(
        [pl.col(name).cast(pl.String) == value for name, value in equals.items()]
    )
    return frame.filter(condition)


def last_two(trend: pl.DataFrame, currency: str) -> tuple[dict[str, Any] | None, ...]:
    """The current and the previous period's rows of a per-currency trend (None if missing)."""
    rows = trend.filter(pl.col("currency") == currency).sort("period_end").to_dicts()
    return (rows[-1] if rows else None, rows[-2] if len(rows) > 1 else None)
