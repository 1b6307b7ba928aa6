"""plan2cash's KPIs: what the dashboard, the CLI and the alerts may use of them is named here.

- The executive report: :func:`executive_kpis` (one :class:`KpiReport` per period and slice, from
  the rollups or the raw records) and :func:`revenue_leakage` beside it; ``CLOSE_DAYS``, the
  period close cut-off approvals are counted to.
- Periods (:data:`Grain`, :func:`bounds`, :func:`previous`) and slices (:data:`Dimension`,
  :class:`Dimensions`, :func:`dimensions`, :func:`sliceable`, :func:`slice_labels`).
- Four modules whose functions read best under their module's name: :mod:`metrics.drill` (the
  records behind a figure, a record's journey), :mod:`metrics.erps` (each ERP's deliveries and
  calls), :mod:`metrics.health` (flow health, vendor calls, open exceptions) and
  :mod:`metrics.load` (reading KPI inputs from the store as frames).

Everything else (the rollup reads in ``facts``, their arithmetic in ``executive``, the raw
reference in ``raw``, the single KPI functions) is the package's own; an import-linter contract
keeps ``app`` and ``alerts`` to the names and modules above.
"""

from __future__ import annotations

from metrics import drill, erps, health, load
from metrics.periods import Grain, bounds, previous
from metrics.report import (
    CLOSE_DAYS,
    KPIS,
    KpiReport,
    Source,
    executive_kpis,
    revenue_leakage,
)
from metrics.slices import DIMENSIONS, Dimension, Dimensions, Owner, dimensions, sliceable
from metrics.slices import labels as slice_labels
from metrics.wip import BUCKETS as AGE_BUCKETS

__all__ = [
    "AGE_BUCKETS",
    "CLOSE_DAYS",
    "DIMENSIONS",
    "KPIS",
    "Dimension",
    "Dimensions",
    "Grain",
    "KpiReport",
    "Owner",
    "Source",
    "bounds",
    "dimensions",
    "drill",
    "erps",
    "executive_kpis",
    "health",
    "load",
    "previous",
    "revenue_leakage",
    "slice_labels",
    "sliceable",
]
