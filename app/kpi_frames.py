"""The executive Overview's shape: what the page shows, made from :mod:`metrics.report` reports.

Pure (frames in, frames out, no I/O and no streamlit, like :mod:`app.frames`). Every number comes
from its one definition in :mod:`metrics` (``executive_kpis`` over the rollups, ``drill.records``
for the rows behind a figure); this module picks which report answers which tile, lines reports of
successive periods up into trends, and puts names on records. Revenue leakage and margin are not
in the executive report, so :mod:`app.data` reads them with two small queries and the
:mod:`metrics` functions (``revenue_leakage``, ``project_margin``); their shaping is here too.

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

from metrics.leakage import revenue_leakage
from metrics.periods import Grain, bounds, previous
from metrics.report import CLOSE_DAYS, KpiReport
from metrics.slices import Dimensions, Owner, sliceable

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
    leakage_records: pl.DataFrame = field(default_factory=pl.DataFrame)
    margin: pl.DataFrame = field(default_factory=pl.DataFrame)  # currency, revenue, cost, …
    margin_previous: pl.DataFrame = field(default_factory=pl.DataFrame)

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

    def leaking(self, currency: str, kind: str | None) -> pl.DataFrame:
        """The time entries of one kind of leakage in one currency (none for no kind)."""
        return records_where(self.leakage_records, currency=currency, kind=kind)

    def margin_row(self, currency: str) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """This period's and the previous period's margin of one currency."""
        now, before = (m.filter(pl.col("currency") == currency)
                       for m in (self.margin, self.margin_previous))  # fmt: skip
        return (
            now.row(0, named=True) if now.height else None,
            before.row(0, named=True) if before.height else None,
        )

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
    leakage_records: pl.DataFrame,
    margins: tuple[pl.DataFrame, pl.DataFrame],
) -> Overview:
    """The Overview from one report per period (oldest first, each read as of its period's end;
    the last as of ``filters.as_of``), and the leakage and margin read beside them."""
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
        leakage_records=leakage_records,
        margin=margins[0],
        margin_previous=margins[1],
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


def open_invoices(receivables: pl.DataFrame, numbers: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """The invoices behind AR at ``as_of`` (``drill.records("dso")`` rows still owing money),
    with their number, money as floats and ``days_outstanding`` since issue, oldest first."""
    return (
        receivables.with_columns(pl.col("total", "paid", "due").cast(pl.Float64))
        .filter(pl.col("due") > 0.005)
        .join(numbers, on="invoice_id", how="left")
        .with_columns(days_outstanding=(pl.lit(as_of) - pl.col("issue_date")).dt.total_days())
        .sort("issue_date", "invoice_id")
    )


def slowest_first(stages: pl.DataFrame, stage: str) -> pl.DataFrame:
    """``drill.records("cycle_time")`` rows, the slowest in ``stage`` first."""
    return stages.with_columns(pl.col("amount").cast(pl.Float64)).sort(
        stage, descending=True, nulls_last=True
    )


# --- leakage and margin: read beside the report ------------------------------------------------


def leakage_entries(candidates: pl.DataFrame, held: pl.DataFrame) -> pl.DataFrame:
    """Approved billable time on no invoice, in the shape :func:`metrics.leakage.revenue_leakage`
    reads. The rate it should have been billed at is its billing event's (the rate card's) or,
    for time held as an exception, the value at risk the engine put on it ÷ its hours; time with
    neither counts as hours without a value. ``on_closed_project``: dated after its project's
    end on a closed project. Time on an invoice was billed at its event's rate, so it never leaks
    and is not read at all."""
    held_rate = pl.col("value_at_risk") / pl.col("hours").cast(pl.Float64)
    closed = (pl.col("project_status") == "closed") & (pl.col("spent_date") > pl.col("project_end"))
    return (
        candidates.join(held.unique("time_entry_id"), on="time_entry_id", how="left")
        .with_columns(
            currency=pl.coalesce("event_currency", "exception_currency", "project_currency"),
            approved=pl.lit(True),
            billable=pl.lit(True),
            expected_rate=pl.coalesce("event_rate", held_rate),
            billed_rate=pl.lit(None, pl.Float64),
            on_closed_project=closed.fill_null(False),
        )
        .filter(pl.col("currency").is_not_null())
    )


def leakage(
    entries: pl.DataFrame, dims: Dimensions, as_of: date
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Leakage per currency and kind, and per entry (named, largest first) for the drilldown."""
    by = ["time_entry_id", "spent_date", "person", "customer", "project"]
    per_entry = revenue_leakage(named(entries, dims), as_of=as_of, by=by).with_columns(
        entity_type=pl.lit("time_entry"), entity_id=pl.col("time_entry_id")
    )
    return revenue_leakage(entries, as_of=as_of), per_entry.sort("amount", descending=True)


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


def records_where(frame: pl.DataFrame, **equals: str | None) -> pl.DataFrame:
    """The rows whose columns equal the given values (a drilldown from a clicked bar); a
    ``None`` value selects nothing."""
    if any(value is None for value in equals.values()):
        return frame.clear()
    condition = pl.all_horizontal(
        [pl.col(name).cast(pl.String) == value for name, value in equals.items()]
    )
    return frame.filter(condition)
