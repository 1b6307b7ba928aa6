"""The rule kinds, one pydantic model each (``kind`` tells them apart; :mod:`alerts.rules` loads
them). Every name a rule gives (a KPI, a slice dimension, a flow, a category, a vendor, an SLI)
is checked against the vocabulary plan2cash uses, so a typo is refused at load, not silently
never firing. Percentages (shares, rates, objectives) are written in percent: ``below = 65``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar, Literal

from pydantic import Field, model_validator

import metrics
from alerts.rule_base import Duration, RuleBase
from alerts.slo import SLIS
from sync.store import ExceptionCategory, Flow

VENDORS = (
    "salesforce", "kantata", "harvest", "bamboohr", "xero", "dynamics365", "oracle_fusion",
    "netsuite",
)  # fmt: skip
BUCKETED = ("wip", "wip_hours", "unapproved_hours")  # the KPIs read per aging bucket


def _one_of(rule: RuleBase, *keys: str) -> str:
    """The one key of ``keys`` the rule sets (refuses none or several)."""
    given = [k for k in keys if getattr(rule, k) is not None]
    if len(given) != 1:
        raise ValueError(f"{' | '.join(keys)}: give exactly one (given: {given or 'none'})")
    return given[0]


def _flow(name: str, key: str) -> str:
    if name not in {f.value for f in Flow}:
        known = ", ".join(f.value for f in Flow)
        raise ValueError(f"{key}: unknown flow {name!r} (known: {known})")
    return name


class KpiRule(RuleBase):
    """A threshold on a headline KPI (``metrics.KPIS``) of the ``grain`` period that contains
    today (point KPIs: today), sliced ``by`` a dimension and limited to ``where``; WIP and
    unapproved time may be read for one aging ``bucket``. One alert per slice (and currency)."""

    kind: Literal["kpi"]
    slice_fields: ClassVar[tuple[str, ...]] = ("kpi", "bucket", "period")
    default_summary: ClassVar[str] = "{kpi} is {value}{unit} (threshold {threshold}{unit})"
    kpi: str
    grain: metrics.Grain = "month"
    by: metrics.Dimension | None = None
    where: dict[metrics.Dimension, str] = Field(default_factory=dict)
    bucket: str | None = None
    currency: str | None = None
    above: float | None = None
    below: float | None = None

    def fields(self) -> tuple[str, ...]:
        return (*super().fields(), *([self.by] if self.by else []), *self.where)

    @model_validator(mode="after")
    def _known(self) -> KpiRule:
        if self.kpi not in metrics.KPIS:
            raise ValueError(f"kpi: unknown KPI {self.kpi!r} (known: {', '.join(metrics.KPIS)})")
        if self.bucket is not None and (
            self.kpi not in BUCKETED or self.bucket not in metrics.AGE_BUCKETS
        ):
            raise ValueError(
                f"bucket: {self.bucket!r} needs a KPI of {BUCKETED} and a bucket of "
                f"{metrics.AGE_BUCKETS}"
            )
        threshold = getattr(self, _one_of(self, "above", "below"))
        if metrics.KPIS[self.kpi] == "share" and not 0 <= threshold <= 100:
            raise ValueError(f"threshold: {self.kpi} is a share, give it in percent (0–100)")
        return self

    @property
    def threshold(self) -> float:
        return self.above if self.above is not None else float(self.below or 0)


class ExceptionsRule(RuleBase):
    """Open exceptions of a flow and/or category (``by`` flow and/or category: one alert per
    slice) above a count (``count_above``), their value at risk above an amount
    (``value_at_risk_above``, per currency), or new ones per hour over ``window`` above
    ``surge`` × their hourly rate over the ``baseline`` before it (at least ``min_new``)."""

    kind: Literal["exceptions"]
    slice_fields: ClassVar[tuple[str, ...]] = ("flow", "category")
    default_summary: ClassVar[str] = "{value} {unit} in {flow} {category}"
    flow: str | None = None
    category: str | None = None
    by: tuple[Literal["flow", "category"], ...] = ()
    count_above: int | None = Field(default=None, ge=0)
    value_at_risk_above: float | None = Field(default=None, ge=0)
    surge: float | None = Field(default=None, gt=1)
    window: Duration = timedelta(hours=1)
    baseline: Duration = timedelta(days=7)
    min_new: int = Field(default=5, ge=1)

    @model_validator(mode="after")
    def _known(self) -> ExceptionsRule:
        if self.flow is not None:
            _flow(self.flow, "flow")
        if self.category is not None and self.category not in {c.value for c in ExceptionCategory}:
            raise ValueError(f"category: unknown exception category {self.category!r}")
        _one_of(self, "count_above", "value_at_risk_above", "surge")
        if self.window <= timedelta(0) or self.baseline <= self.window:
            raise ValueError("window: must be positive and shorter than baseline")
        return self

    @property
    def measure(self) -> str:
        return _one_of(self, "count_above", "value_at_risk_above", "surge")


class StalenessRule(RuleBase):
    """A flow (each of ``flows``; default every flow) with no successful run for ``multiple`` ×
    its interval under ``[schedule]``. A flow that has never run is not judged."""

    kind: Literal["staleness"]
    slice_fields: ClassVar[tuple[str, ...]] = ("flow",)
    default_summary: ClassVar[str] = "{flow} has not succeeded for {value} {unit}"
    flows: tuple[str, ...] = ()
    multiple: float = Field(default=3, gt=0)

    @model_validator(mode="after")
    def _known(self) -> StalenessRule:
        for name in self.flows:
            _flow(name, "flows")
        return self


class VendorRule(RuleBase):
    """A vendor's (each vendor's, if none is named) error rate or share of 429s (in percent), or
    p95 latency (ms), over the last ``window``, above ``above`` (with at least ``min_calls``)."""

    kind: Literal["vendor"]
    slice_fields: ClassVar[tuple[str, ...]] = ("vendor", "metric")
    default_summary: ClassVar[str] = "{vendor} {metric} is {value}{unit} over the window"
    vendor: str | None = None
    metric: Literal["error_rate", "throttled_share", "p95_latency_ms"]
    above: float = Field(ge=0)
    window: Duration = timedelta(minutes=15)
    min_calls: int = Field(default=10, ge=1)

    @model_validator(mode="after")
    def _known(self) -> VendorRule:
        if self.vendor is not None and self.vendor not in VENDORS:
            raise ValueError(f"vendor: unknown vendor {self.vendor!r} (known: {VENDORS})")
        if self.metric != "p95_latency_ms" and self.above > 100:
            raise ValueError(f"above: {self.metric} is in percent (0–100)")
        if self.window <= timedelta(0):
            raise ValueError("window: must be positive")
        return self


class SloRule(RuleBase):
    """A business SLO (``sli``, objective in percent, default the SLI's own) alerted on by
    multiwindow multi-burn-rate: ``page`` rules check the workbook's two page conditions,
    ``ticket`` and ``info`` rules its ticket condition; ``min_events`` in the long window guard
    a quiet SLI."""

    kind: Literal["slo"]
    slice_fields: ClassVar[tuple[str, ...]] = ("sli", "window")
    default_summary: ClassVar[str] = "{sli} burns its error budget at {value}{unit} over {window}"
    sli: str
    objective: float | None = Field(default=None, gt=0, lt=100)
    min_events: int = Field(default=10, ge=1)

    @model_validator(mode="after")
    def _known(self) -> SloRule:
        if self.sli not in SLIS:
            raise ValueError(f"sli: unknown SLI {self.sli!r} (known: {', '.join(SLIS)})")
        return self

    @property
    def target(self) -> float:
        """The objective as a fraction (0.99)."""
        return (self.objective if self.objective is not None else SLIS[self.sli].objective) / 100


class CloseRiskRule(RuleBase):
    """From ``days_before`` days before the close cut-off of the month at risk (the last month
    until its cut-off, then this one): its unapproved hours, approved billable hours not yet
    billable, or invoices not yet posted above a number (one of the three), ``by`` a project
    dimension for the hours."""

    kind: Literal["close_risk"]
    slice_fields: ClassVar[tuple[str, ...]] = ("period", "measure")
    default_summary: ClassVar[str] = "{value} {unit} at risk for the {period} close"
    days_before: int = Field(default=3, ge=0, le=31)
    by: Literal["practice", "region", "legal_entity", "customer", "project"] | None = None
    unapproved_hours_above: float | None = Field(default=None, ge=0)
    unbillable_hours_above: float | None = Field(default=None, ge=0)
    unposted_invoices_above: int | None = Field(default=None, ge=0)

    def fields(self) -> tuple[str, ...]:
        return (*super().fields(), *([self.by] if self.by else []))

    @model_validator(mode="after")
    def _known(self) -> CloseRiskRule:
        if self.measure == "unposted_invoices_above" and self.by is not None:
            raise ValueError("by: invoices not yet posted are counted for the whole firm")
        return self

    @property
    def measure(self) -> str:
        return _one_of(
            self, "unapproved_hours_above", "unbillable_hours_above", "unposted_invoices_above"
        )

    @property
    def threshold(self) -> float:
        return float(getattr(self, self.measure))
