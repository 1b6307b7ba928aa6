"""The executive Overview's shape: what the page shows, made from :mod:`metrics.report` reports.

Pure (frames in, frames out, no I/O and no streamlit, like :mod:`app.frames`). Every number comes
from its one definition in :mod:`metrics` (``executive_kpis`` over the rollups, ``drill.records``
for the rows behind a figure); this module picks which report answers which tile, lines reports of
successive periods up into trends, and puts names on records. Margin is the report's too;
revenue leakage is :func:`metrics.report.revenue_leakage`, a point figure read beside it.

A slice is one value of one dimension: region, practice, legal entity or customer. Each KPI takes
it from the record that owns the figure (see :mod:`metrics.slices`): a KPI that cannot honour it
is shown for the whole firm and says so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

import polars as pl

from metrics import CLOSE_DAYS, Dimensions, Grain, KpiReport, Owner, bounds, previous, sliceable

SliceDimension = Literal["region", "practice", "legal_entity", "customer"]
DIMENSIONS: dict[SliceDimension, str] = {
    "region": "Region",
    "practice": "Practice",
    "legal_entity": "Legal entity",
    "customer": "Customer",
}
TREND_PERIODS = 6
OLD_BUCKETS = ("61–90", "90+")
STAGES = ("approval_lag", "sync_lag", "invoicing_lag", "posting_lag", "cycle_time")


@dataclass(frozen=True)
class Filters:
    """What the Overview shows: the period grain, the as-of date and at most one slice."""

    as_of: date
    grain: Grain = "month"
    dimension: SliceDimension | None = None
    value: str | None = None

    @property
    def sliced(self) -> bool:
        return self.dimension is not None and self.value is not None

    @property
    def where(self) -> tuple[tuple[str, str], ...]:
        """The slice as ``metrics`` takes it (hashable, for the caches)."""
        return ((str(self.dimension), str(self.value)),) if self.sliced else ()

    def honoured_by(self, owner: Owner) -> bool:
        """Whether a figure owned by a ``owner`` can be cut to this slice."""
        return not self.sliced or sliceable(owner, self.dimension)


@dataclass(frozen=True)
class Overview:
    """Every executive KPI for the chosen period and slice, with its previous period's value and a
    trend over :data:`TREND_PERIODS` periods; the records behind a figure are read on demand."""

    filters: Filters
    empty: bool
    periods: list[tuple[date, date]] = field(default_factory=list)  # oldest first; last: current
    source: str = "rollups"  # or "raw" when the rollups have not been built
    notes: list[str] = field(default_factory=list)
    headline: pl.DataFrame = field(default_factory=pl.DataFrame)  # metrics.report.headline
    utilization_trend: pl.DataFrame = field(default_factory=pl.DataFrame)
    wip: pl.DataFrame = field(default_factory=pl.DataFrame)  # currency, bucket, amount, hours…
    cycle: pl.DataFrame = field(default_factory=pl.DataFrame)  # stage, median, p90 (days)
    dso_trend: pl.DataFrame = field(default_factory=pl.DataFrame)  # + period_end, label
    approvals: pl.DataFrame = field(default_factory=pl.DataFrame)  # closed periods, oldest first
    leakage: pl.DataFrame = field(default_factory=pl.DataFrame)  # currency, kind, amount, …
    margin: pl.DataFrame = field(default_factory=pl.DataFrame)  # currency, revenue, labour_cost…

    @property
    def period(self) -> tuple[date, date]:
        return self.periods[-1]

    @property
    def label(self) -> str:
        return period_label(self.period[0], self.filters.grain)

    @property
    def label_short(self) -> str:
        return period_label(self.period[0], self.filters.grain, short=True)

    @property
    def previous_label(self) -> str:
        return period_label(self.periods[-2][0], self.filters.grain)

    @property
    def previous_short(self) -> str:
        return period_label(self.periods[-2][0], self.filters.grain, short=True)

    @property
    def previous_end(self) -> str:
        """The day point figures (WIP, DSO) of the previous period were read: ``31 Oct``."""
        end = self.periods[-2][1]
        return f"{end.day} {end:%b}"

    @property
    def currencies(self) -> list[str]:
        """Currencies with WIP, receivables or revenue, the one with the most WIP first."""
        wip = wip_totals(self.wip).sort("amount", descending=True)["currency"].to_list()
        rest = set(self.dso_trend["currency"].to_list()) | set(self.margin["currency"].to_list())
        return wip + sorted(rest - set(wip))

    def tile(self, kpi: str, currency: str | None = None) -> tuple[float | None, float | None]:
        """A headline KPI's value and its previous period's (``None`` where there is none)."""
        rows = self.headline.filter(
            (pl.col("kpi") == kpi)
            & (pl.col("currency").is_null() if currency is None else pl.col("currency") == currency)
        )
        if rows.is_empty():
            return None, None
        return rows["value"][0], rows["previous"][0]

    def wip_total(self, currency: str) -> dict[str, Any]:
        """WIP of one currency: amount, hours, events and the amount older than 60 days."""
        rows = wip_totals(self.wip).filter(pl.col("currency") == currency)
        zero = {"amount": 0.0, "hours": 0.0, "events": 0, "over_60": 0.0}
        return rows.row(0, named=True) if rows.height else {"currency": currency} | zero

    def wip_buckets(self, currency: str) -> list[str]:
        return [str(b) for b in self.wip.filter(pl.col("currency") == currency)["bucket"]]

    def leakage_kinds(self, currency: str) -> list[str]:
        return self.leakage.filter(pl.col("currency") == currency)["kind"].to_list()

    def leaked(self, currency: str) -> tuple[float, float, int]:
        """Leaked value of one currency, its hours and how many time entries it is."""
        rows = self.leakage.filter(pl.col("currency") == currency)
        return float(rows["amount"].sum()), float(rows["hours"].sum()), int(rows["entries"].sum())

    def margin_row(self, currency: str) -> dict[str, Any] | None:
        """This period's revenue, labour cost, expenses and margin of one currency (``None``
        with neither revenue nor cost)."""
        rows = self.margin.filter(pl.col("currency") == currency)
        return rows.row(0, named=True) if rows.height else None

    def utilization_now(self) -> dict[str, Any]:
        """The current period's billable and available hours and utilization."""
        return self.utilization_trend.row(-1, named=True)

    def dso_now(self, currency: str) -> dict[str, Any] | None:
        rows = self.dso_trend.filter(
            (pl.col("currency") == currency) & (pl.col("period_end") == self.period[1])
        )
        return rows.row(0, named=True) if rows.height else None


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


def compose(
    filters: Filters,
    reports: list[KpiReport],
    *,
    leakage: pl.DataFrame,
) -> Overview:
    """The Overview from one report per period (oldest first, each read as of its period's end;
    the last as of ``filters.as_of``), and the leakage read beside them."""
    current = reports[-1]
    return Overview(
        filters=filters,
        empty=False,
        periods=[r.period for r in reports],
        source=current.source,
        notes=current.notes,
        headline=current.headline,
        utilization_trend=utilization_trend(reports),
        wip=current.wip,
        cycle=cycle_stages(current.cycle_time),
        dso_trend=dso_trend(reports),
        approvals=closed_approvals(reports),
        leakage=leakage,
        margin=margin_by_currency(current.margin),
    )


def utilization_trend(reports: list[KpiReport]) -> pl.DataFrame:
    """period, label, billable_hours, available_hours, utilization: one row per report."""
    rows = [
        {"period": r.period[0], "label": period_label(r.period[0], r.grain)}
        | r.utilization.select("billable_hours", "available_hours", "utilization").row(
            0, named=True
        )
        for r in reports
    ]
    schema = {"period": pl.Date, "label": pl.String, "billable_hours": pl.Float64,
              "available_hours": pl.Float64, "utilization": pl.Float64}  # fmt: skip
    return pl.DataFrame(rows, schema=schema)


def dso_trend(reports: list[KpiReport]) -> pl.DataFrame:
    """Each report's DSO per currency, at its period's end (``period_end``, ``label``)."""
    parts = [
        r.dso.with_columns(
            pl.col("ending_ar", "sales").cast(pl.Float64),
            period_end=pl.lit(r.period[1]),
            label=pl.lit(period_label(r.period[0], r.grain)),
        )
        for r in reports
    ]
    return pl.concat(parts).filter(pl.col("currency").is_not_null())


def closed_approvals(reports: list[KpiReport]) -> pl.DataFrame:
    """Approved before close of every period whose close cut-off (:data:`CLOSE_DAYS` days after
    it ended) has passed, oldest first: each report's previous period, as it stood at that
    report's date (so at or after its cut-off, bar the current report's previous period)."""
    rows = []
    for report in reports:
        start, end = report.previous_period
        cutoff = end + timedelta(days=CLOSE_DAYS)
        share = report.headline.filter(pl.col("kpi") == "approved_before_close")["previous"]
        if cutoff <= report.as_of:  # closed by the day the report was read
            rows.append({"label": period_label(start, report.grain), "cutoff": cutoff,
                         "label_short": period_label(start, report.grain, short=True),
                         "approved_share": share[0] if share.len() else None})  # fmt: skip
    schema = {"label": pl.String, "cutoff": pl.Date, "label_short": pl.String,
              "approved_share": pl.Float64}  # fmt: skip
    return pl.DataFrame(rows, schema=schema)


def cycle_stages(cycle: pl.DataFrame) -> pl.DataFrame:
    """A report's ``cycle_time`` frame (no slice column) as one row per stage: stage, median, p90
    (days); empty when nothing was posted in the period."""
    schema = {"stage": pl.String, "median": pl.Float64, "p90": pl.Float64}
    if cycle.is_empty() or not cycle["events"][0]:
        return pl.DataFrame(schema=schema)
    row = cycle.row(0, named=True)
    rows = [(s, row[f"{s}_median"], row[f"{s}_p90"]) for s in STAGES]
    return pl.DataFrame(rows, schema=schema, orient="row")


def wip_totals(aging: pl.DataFrame) -> pl.DataFrame:
    """WIP per currency (amount, hours, events, and the amount older than 60 days) from a
    report's ``wip`` frame."""
    if aging.is_empty():
        return pl.DataFrame(
            schema={
                "currency": pl.String,
                "amount": pl.Float64,
                "hours": pl.Float64,
                "events": pl.Int64,
                "over_60": pl.Float64,
            }
        )
    old = pl.col("bucket").cast(pl.String).is_in(OLD_BUCKETS)
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


def utilization_groups(utilization: pl.DataFrame, by: str, names: pl.DataFrame) -> pl.DataFrame:
    """A report's ``utilization`` sliced ``by`` a dimension as key, label (a person's name for
    an id), billable_hours, available_hours, utilization; groups without capacity left out."""
    return (
        utilization.filter(pl.col(by).is_not_null() & (pl.col("available_hours") > 0))
        .rename({by: "key"})
        .join(names, on="key", how="left")
        .with_columns(pl.col("label").fill_null(pl.col("key")))
        .select("key", "label", "billable_hours", "available_hours", "utilization")
    )


# --- records: names on the rows metrics.drill returns ------------------------------------------


def named(records: pl.DataFrame, dims: Dimensions) -> pl.DataFrame:
    """``person``, ``project`` and ``customer`` names beside the ids of drilldown rows (a time
    entry's customer is its project's)."""
    out = records
    if "resource_id" in out.columns:
        people = dims.people.select("resource_id", pl.col("name").alias("person"))
        out = out.join(people, on="resource_id", how="left")
    if "project_id" in out.columns:
        own_customer = [] if "customer_id" in out.columns else ["customer_id"]
        project = pl.col("name").alias("project")
        projects = dims.projects.select("project_id", project, *own_customer)
        out = out.join(projects, on="project_id", how="left")
    if "customer_id" in out.columns:
        customers = dims.customers.select("customer_id", pl.col("name").alias("customer"))
        out = out.join(customers, on="customer_id", how="left")
    return out.with_columns(pl.col(pl.Decimal).cast(pl.Float64))  # money and hours, for display


def with_waits(journey: pl.DataFrame, words: Callable[[float], str]) -> pl.DataFrame:
    """A ``drill.journey`` with ``wait``: each milestone's wait (hours) in ``words`` of days."""
    waits = [None if h is None else words(h / 24) for h in journey["waited"].to_list()]
    return journey.with_columns(pl.Series("wait", waits, dtype=pl.String))


def open_invoices(receivables: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """The invoices behind AR at ``as_of`` (``drill.records("dso")`` rows still owing money),
    money as floats and ``days_outstanding`` since issue, oldest first."""
    return (
        receivables.with_columns(pl.col("total", "paid", "due").cast(pl.Float64))
        .filter(pl.col("due") > 0.005)
        .with_columns(days_outstanding=(pl.lit(as_of) - pl.col("issue_date")).dt.total_days())
        .sort("issue_date", "invoice_id")
    )


def slowest_first(stages: pl.DataFrame, stage: str) -> pl.DataFrame:
    """``drill.records("cycle_time")`` rows, the slowest in ``stage`` first."""
    return stages.with_columns(pl.col("amount").cast(pl.Float64)).sort(
        stage, descending=True, nulls_last=True
    )


# --- leakage and margin --------------------------------------------------------------------------


def largest_first(leaks: pl.DataFrame) -> pl.DataFrame:
    """``drill.records("leakage")`` rows, the largest leak first."""
    return leaks.with_columns(pl.col("amount").cast(pl.Float64)).sort(
        "amount", "entity_id", descending=[True, False], nulls_last=True
    )


def margin_by_currency(margin: pl.DataFrame) -> pl.DataFrame:
    """A report's ``margin`` frame (no slice column) with money as floats, one row per currency."""
    money = ("revenue", "labour_cost", "expenses", "margin", "margin_share")
    return margin.with_columns(pl.col(money).cast(pl.Float64)).sort("currency")
