"""The dashboard's only door to the store, and its only caching.

``engine()`` is a process-wide resource (and migrates an empty store so that pages render on a
fresh clone); every query function is cached for ``TTL_SECONDS`` and returns polars frames that
the store's reads (:mod:`sync.store`'s ``dashboard`` and ``triage``, which hold the SQL and run
unchanged on SQLite and PostgreSQL) return on a connection opened here. Grouping by currency
happens in SQL or in :mod:`app.frames`; amounts in different currencies never meet. The
executive Overview reads :mod:`metrics` (the rollups, and drilldown records) instead, cached by
the store and its data version.

Triage actions (replay, resolve, ignore, assign) call :mod:`sync.replay`, the functions the CLI
uses, are never cached, and forget every cached result when they are done.

Pages use the names below; the modules behind them are one per domain: ``store`` (engine,
settings, forgetting the cache), ``billing``, ``triage`` (exceptions), ``integration`` (health),
``erps`` (each ERP's deliveries and calls, for the health and billing pages), ``overview`` (the
executive KPIs) and ``alerts`` (the Alerts page, through :mod:`alerts`).
"""

from __future__ import annotations

from app.data.alerts import AlertsReport, add_silence, alerts_report, expire_silence, slo_report
from app.data.billing import (
    BillingSummary,
    BillingTrend,
    EventFilters,
    billing_events,
    billing_summary,
    billing_trend,
    invoice_lines,
    invoices,
    wip_aging,
)
from app.data.erps import ErpReport, erp_report
from app.data.integration import HealthReport, integration_health
from app.data.overview import (
    data_version,
    executive_overview,
    kpi_records,
    record_journey,
    slice_values,
    utilization_groups,
)
from app.data.store import EXCEPTIONS_URL, TTL_SECONDS, engine, refresh, settings, store_label
from app.data.triage import (
    ExceptionDetail,
    ExceptionHeadline,
    ExceptionList,
    assign_exceptions,
    exception_choices,
    exception_detail,
    exception_headline,
    exceptions,
    parse_edit,
    replay_exceptions,
    set_exception_status,
)
from sync.replay import ExceptionFilter

__all__ = [
    "EXCEPTIONS_URL",
    "TTL_SECONDS",
    "AlertsReport",
    "BillingSummary",
    "BillingTrend",
    "ErpReport",
    "EventFilters",
    "ExceptionDetail",
    "ExceptionFilter",
    "ExceptionHeadline",
    "ExceptionList",
    "HealthReport",
    "add_silence",
    "alerts_report",
    "assign_exceptions",
    "billing_events",
    "billing_summary",
    "billing_trend",
    "data_version",
    "engine",
    "erp_report",
    "exception_choices",
    "exception_detail",
    "exception_headline",
    "exceptions",
    "executive_overview",
    "expire_silence",
    "integration_health",
    "invoice_lines",
    "invoices",
    "kpi_records",
    "parse_edit",
    "record_journey",
    "refresh",
    "replay_exceptions",
    "set_exception_status",
    "settings",
    "slice_values",
    "slo_report",
    "store_label",
    "utilization_groups",
    "wip_aging",
]
