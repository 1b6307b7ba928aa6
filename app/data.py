"""The dashboard's only door to the store, and its only caching.

``engine()`` is a process-wide resource (and migrates an empty store so that pages render on a
fresh clone); every query function is cached for 30 s and returns polars frames built from
the SQLAlchemy statements of :mod:`app.queries`, which run unchanged on SQLite and PostgreSQL.
Grouping by currency happens in SQL or in :mod:`app.frames`; amounts in different currencies
never meet. The executive Overview reads :mod:`metrics` (the rollups, and drilldown records)
instead, cached by the store and its data version (see its section below).

Triage actions (replay, resolve, ignore, assign) call :mod:`sync.replay`, the functions the CLI
uses, are never cached, and forget every cached result when they are done.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

import polars as pl
import streamlit as st
from sqlalchemy import Engine, Executable, func, select

from app import frames, kpi_frames, labels, queries
from collectors.redaction import install_log_redaction
from metrics import drill, health, load, report
from metrics.drill import Kpi
from metrics.periods import Grain
from metrics.report import KpiReport
from metrics.slices import Dimension, Dimensions, dimensions
from metrics.slices import labels as slice_labels
from sync import ROLLUP_SOURCES, edit_input
from sync import replay as triage
from sync.access import Identity
from sync.engine import Engine as SyncEngine
from sync.replay import ExceptionFilter
from sync.scheduler import intervals
from sync.settings import Settings, load_settings
from sync.store import (
    BillingEventRow,
    ExceptionRow,
    ExceptionStatus,
    InvoiceRow,
    InvoiceStatus,
    TimeEntryRow,
    journeys,
    make_engine,
    read_frame,
    session_factory,
    transaction,
    upgrade,
)

TTL_SECONDS = 30
Where = tuple[tuple[str, str], ...]  # a slice, as kpi_frames.Filters.where gives it
EXCEPTIONS_URL = "exceptions"  # the Exceptions page's url_path, for links from other pages


@dataclass(frozen=True)
class BillingSummary:
    """The billing KPIs at ``as_of``; every money frame has one row per currency."""

    as_of: date
    fetched_at: datetime
    wip: pl.DataFrame  # currency, amount, hours, count (events)
    billing_events: int
    invoices: int
    posted_this_month: pl.DataFrame  # currency, amount, count (invoices)
    posted_to_date: pl.DataFrame  # currency, amount, count
    pending_delivery: pl.DataFrame  # currency, amount, count
    open_exceptions: int
    value_at_risk: pl.DataFrame  # currency, amount, count (exceptions with a value)
    last_sync: pl.DataFrame  # flow, finished_at (last successful run; null: never)

    @property
    def empty(self) -> bool:
        """Nothing has synced yet: no billable work and no invoices."""
        return self.billing_events == 0 and self.invoices == 0

    @property
    def kpis(self) -> pl.DataFrame:
        """One row per currency: WIP, posted this month, posted to date, pending, at risk."""
        return frames.kpi_table(
            wip=self.wip,
            posted_this_month=self.posted_this_month,
            posted_to_date=self.posted_to_date,
            pending_delivery=self.pending_delivery,
            value_at_risk=self.value_at_risk,
        )

    @property
    def unbilled_hours(self) -> float:
        """Approved hours not yet invoiced, all currencies (hours add up; money does not)."""
        return float(self.wip["hours"].sum())


@dataclass(frozen=True)
class BillingTrend:
    """Billable value per week and invoiced value per service month, per currency."""

    weekly: pl.DataFrame  # week, currency, amount
    monthly: pl.DataFrame  # month, currency, status, amount, invoices

    @property
    def currencies(self) -> list[str]:
        """Currencies with billable work or invoices, alphabetically."""
        both = pl.concat([self.weekly.select("currency"), self.monthly.select("currency")])
        return sorted(both["currency"].unique().to_list())


@dataclass(frozen=True)
class EventFilters:
    """Which billing events to list; ``None`` means no restriction."""

    invoice_id: str | None = None
    invoiced: bool | None = None
    currency: str | None = None


@st.cache_resource(show_spinner=False)
def settings() -> Settings:
    """The configuration the dashboard runs on (read once per process)."""
    return load_settings()


@st.cache_resource(show_spinner=False)
def engine() -> Engine:
    """The store's engine, migrated to the latest schema (an empty store renders too); the
    dashboard's logs are redacted from here on, as the engine's are."""
    for logger in (logging.getLogger(), logging.getLogger("streamlit")):
        install_log_redaction(logger)
    store = make_engine(settings().database_url)
    upgrade(store)
    return store


def store_label() -> str:
    """Where the data comes from, with any password hidden."""
    return engine().url.render_as_string(hide_password=True)


def refresh() -> None:
    """Forget cached query results (the engine stays)."""
    st.cache_data.clear()


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def billing_summary(as_of: date) -> BillingSummary:
    """KPIs: WIP, invoices posted this month and to date, pending delivery, exceptions, syncs."""
    month_start = as_of.replace(day=1)
    next_month = (month_start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return BillingSummary(
        as_of=as_of,
        fetched_at=datetime.now(UTC),
        wip=_read(queries.wip_by_currency()),
        billing_events=_count(queries.count(BillingEventRow)),
        invoices=_count(queries.count(InvoiceRow)),
        posted_this_month=_read(queries.posted_between(month_start, next_month)),
        posted_to_date=_read(queries.invoice_totals(InvoiceRow.status == InvoiceStatus.POSTED)),
        pending_delivery=_read(queries.invoice_totals(InvoiceRow.status == InvoiceStatus.PENDING)),
        open_exceptions=_count(queries.open_exception_count()),
        value_at_risk=_read(queries.value_at_risk()),
        last_sync=_read(queries.last_successful_syncs()),
    )


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def wip_aging(as_of: date) -> pl.DataFrame:
    """Un-invoiced billing events by age bucket (0–30/31–60/61–90/90+ days) and currency."""
    return frames.wip_by_age(_read(queries.wip_by_day()), as_of=as_of)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def billing_events(limit: int = 200, filters: EventFilters | None = None) -> pl.DataFrame:
    """The most recent billing events with customer, project, person and invoice number."""
    filters = filters or EventFilters()
    query = queries.billing_events(
        limit, invoice_id=filters.invoice_id, invoiced=filters.invoiced, currency=filters.currency
    )
    return frames.with_invoice_label(_read(query))


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def invoices(limit: int = 500) -> pl.DataFrame:
    """Invoices, newest first: number, customer, service period, dates, total, status, posting."""
    return _read(queries.invoices(limit))


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def invoice_lines(invoice_id: str) -> pl.DataFrame:
    """One invoice's lines as stored: description, quantity, unit amount, amount."""
    with engine().connect() as connection:
        lines = connection.scalar(queries.invoice_lines(invoice_id))
    return frames.invoice_lines(lines)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def billing_trend() -> BillingTrend:
    """Billable value per week (by work date) and invoiced value per service month."""
    return BillingTrend(
        weekly=frames.weekly_billable(_read(queries.billable_by_day())),
        monthly=frames.monthly_invoiced(_read(queries.invoiced_by_period())),
    )


# --- exceptions: triage ------------------------------------------------------------------------


@dataclass(frozen=True)
class ExceptionHeadline:
    """Triage headlines over every exception in the store (filters do not apply)."""

    fetched_at: datetime
    total: int  # exceptions of any status, ever
    open: int  # open or retrying
    value_at_risk: pl.DataFrame  # currency, amount, count (open exceptions with a value)
    oldest_open_days: float | None
    opened_last_day: int  # first seen in the last 24 h, whatever their status now
    by_category: pl.DataFrame  # category, open, oldest_days
    at_risk_by_category: pl.DataFrame  # category, currency, amount, count


@dataclass(frozen=True)
class ExceptionList:
    """The exceptions a filter selects (``rows`` capped at the limit; ``matching`` is all)."""

    rows: pl.DataFrame  # queries.EXCEPTION_COLUMNS + age_days
    matching: int


@dataclass(frozen=True)
class ExceptionDetail:
    """One exception with its payload as received, audit history and the record's journey."""

    exception: dict[str, Any]  # queries.EXCEPTION_COLUMNS + age_days
    payload: dict[str, Any] | None
    history: pl.DataFrame  # at, actor, action, reason, detail
    journey: pl.DataFrame  # occurred_at, event, entity_type, entity_id, trace_id, detail

    @property
    def replayable_with_edit(self) -> bool:
        """Only a held time entry can be edited before it is replayed."""
        ex = self.exception
        return ex["flow"] == "billable" and ex["entity_type"] == "time_entry" and bool(self.payload)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def exception_headline() -> ExceptionHeadline:
    """Open count, value at risk per currency, oldest open age, opened in the last 24 h."""
    now = datetime.now(UTC)
    with engine().connect() as connection:
        open_exceptions = health.open_exceptions(load.exceptions(connection), now=now)
        oldest = connection.scalar(queries.oldest_open_exception())
    with session_factory(engine())() as session:
        opened = triage.summary_since(session, now - timedelta(days=1))
    return ExceptionHeadline(
        fetched_at=now,
        total=_count(queries.count(ExceptionRow)),
        open=_count(queries.open_exception_count()),
        value_at_risk=_read(queries.value_at_risk()),
        oldest_open_days=(now - oldest).total_seconds() / 86_400 if oldest else None,
        opened_last_day=sum(opened.values()),
        by_category=frames.open_by_category(open_exceptions),
        at_risk_by_category=frames.at_risk_by_category(open_exceptions),
    )


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def exception_choices() -> tuple[list[str], list[str]]:
    """Flows and categories to filter by: those in the store plus every known category."""
    pairs = _read(queries.exception_flows_and_categories())
    flows = sorted(set(pairs["flow"].to_list()))
    categories = sorted(set(pairs["category"].to_list()) | set(labels.CATEGORIES))
    return flows, categories


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def exceptions(which: ExceptionFilter, limit: int = 500) -> ExceptionList:
    """The exceptions ``which`` selects, oldest id first, at most ``limit`` of them."""
    with session_factory(engine())() as session:
        rows = triage.find(session, which, limit=limit)
        matching = session.scalar(select(func.count()).select_from(which.statement().subquery()))
        values = [tuple(_plain(v) for v in queries.exception_values(row)) for row in rows]
    frame = pl.DataFrame(values, schema=queries.EXCEPTION_COLUMNS, orient="row")
    return ExceptionList(frames.with_age(frame, now=datetime.now(UTC)), int(matching or 0))


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def exception_detail(exception_id: int) -> ExceptionDetail | None:
    """One exception in full, or ``None`` if it does not exist (any more)."""
    with session_factory(engine())() as session:
        row = session.get(ExceptionRow, exception_id)
        if row is None:
            return None
        values = tuple(_plain(v) for v in queries.exception_values(row))
        payload = row.payload
        related = journeys.related_ids(row)
        edits = journeys.billing_event_edits(session, related)
        history = [
            (entry.at, entry.actor, entry.action, *labels.audit_detail(entry.detail))
            for entry in session.scalars(queries.audit_history(f"exception:{exception_id}"))
        ]
    exception = frames.with_age(
        pl.DataFrame([values], schema=queries.EXCEPTION_COLUMNS, orient="row"),
        now=datetime.now(UTC),
    ).row(0, named=True)
    return ExceptionDetail(
        exception=exception,
        payload=payload,
        history=pl.DataFrame(
            history,
            schema={
                "at": queries.UTC_TIME,
                "actor": pl.String,
                "action": pl.String,
                "reason": pl.String,
                "detail": pl.String,
            },
            orient="row",
        ),
        journey=_journey(related, edits),
    )


def _journey(entity_ids: list[str], edits: list[journeys.BillingEventEdit]) -> pl.DataFrame:
    """The records' business events in time order, with the edit a billing event was made from
    as a step of its own (``detail``: who changed what, and the audit row)."""
    events = _read(queries.journey(entity_ids)).with_columns(detail=pl.lit(None, dtype=pl.String))
    steps = pl.DataFrame(
        [
            (e.at, journeys.EDITED, "billing_event", e.billing_event_id, None, e.summary)
            for e in edits
        ],
        schema=events.schema,
        orient="row",
    )
    return pl.concat([events, steps]).sort("occurred_at", maintain_order=True)


def parse_edit(text: str) -> dict[str, Any] | None:
    """The JSON object a person typed to change a time entry before replaying it (blank: no
    edit); a :class:`ValueError` with a message for a person otherwise."""
    return edit_input.parse_edit(text)


def replay_exceptions(
    which: ExceptionFilter,
    *,
    actor: Identity,
    reason: str,
    dry_run: bool,
    edit: dict[str, Any] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> pl.DataFrame:
    """Replay (or dry-run) what ``which`` selects; one outcome row per exception."""
    context = SyncEngine(settings(), engine()).context
    report = triage.replay(
        context, which, actor=actor, reason=reason, dry_run=dry_run, edit=edit, progress=progress
    )
    if not dry_run:
        refresh()
    return pl.DataFrame(
        [
            (o.exception_id, o.record_key, o.result, o.before, o.after, o.currency, o.detail)
            for o in report.outcomes
        ],
        schema={
            "id": pl.Int64,
            "record_key": pl.String,
            "result": pl.String,
            "before": pl.Decimal(18, 2),
            "after": pl.Decimal(18, 2),
            "currency": pl.String,
            "detail": pl.String,
        },
        orient="row",
    )


def set_exception_status(
    which: ExceptionFilter,
    status: ExceptionStatus,
    *,
    actor: Identity,
    reason: str,
) -> int:
    """Resolve, ignore or reopen what ``which`` selects, audited; how many changed."""
    with transaction(session_factory(engine())) as session:
        changed = triage.set_status(session, which, status, actor=actor, reason=reason)
    refresh()
    return changed


def assign_exceptions(which: ExceptionFilter, assignee: str, *, actor: Identity) -> int:
    """Assign what ``which`` selects to ``assignee``, audited; how many changed."""
    with transaction(session_factory(engine())) as session:
        changed = triage.assign(session, which, assignee, actor=actor)
    refresh()
    return changed


# --- integration health -------------------------------------------------------------------------


@dataclass(frozen=True)
class HealthReport:
    """Integration health from the engine's own records (runs, vendor call spans, exceptions)."""

    fetched_at: datetime
    flows: pl.DataFrame  # metrics.health.flow_health + interval_minutes, stale_after, state
    vendors: pl.DataFrame  # vendor, calls, p50_ms, p95_ms, p99_ms, retries, throttled, errors
    latency: pl.DataFrame  # bucket, vendor, p95_ms, calls
    open_exceptions: (
        pl.DataFrame
    )  # flow, category, currency, open, oldest_days, value_at_risk, link
    failed_runs: pl.DataFrame  # flow, started_at, finished_at, error, trace_id

    @property
    def empty(self) -> bool:
        """No flow has run and no vendor has been called yet."""
        return self.flows.is_empty() and self.vendors.is_empty()


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def integration_health(failed_limit: int = 20) -> HealthReport:
    """Per flow, per vendor and per exception category, as :mod:`metrics.health` defines them."""
    now = datetime.now(UTC)
    with engine().connect() as connection:
        runs = load.runs(connection)
        spans = load.client_spans(connection)
        exceptions = load.exceptions(connection)
    schedule = intervals(settings().schedule)
    return HealthReport(
        fetched_at=now,
        flows=frames.flow_status(health.flow_health(runs, now=now), schedule),
        vendors=health.vendor_calls(spans),
        latency=frames.latency_over_time(_read(queries.client_call_times())),
        open_exceptions=frames.open_exception_table(
            health.open_exceptions(exceptions, now=now), triage_url=EXCEPTIONS_URL
        ),
        failed_runs=_read(queries.failed_runs(failed_limit)),
    )


# --- executive overview ---------------------------------------------------------------------------
# The figures are metrics.report.executive_kpis over the rollups, one report per period of the
# trend (each cached on its own, so moving the as-of date reuses most of them), and
# metrics.report.revenue_leakage; the rows behind a figure are metrics.drill's. Cached by the
# store and its data version: the rollups' watermarks, which move only when the rollups flow took
# in a change (or, before the rollups are built, the size and newest stamp of each table they are
# made from).

KPI_TTL_SECONDS = 300  # the rollups flow's default interval: bounds a change no watermark shows
VERSION_TTL_SECONDS = 5


@st.cache_data(ttl=VERSION_TTL_SECONDS, show_spinner=False)
def data_version(store: str) -> str:
    """What the executive figures of ``store`` are computed from: it changes when the rollups
    take in a change (a cheap read of their watermarks)."""
    marks = _read(queries.rollup_watermarks())
    if marks.height:
        return "rollups:" + ";".join(f"{s}={v}" for s, v in marks.iter_rows())
    with engine().connect() as connection:
        stamps = [connection.execute(queries.fingerprint(c)).one() for c in ROLLUP_SOURCES.values()]
    return "raw:" + ";".join(f"{count}@{newest}" for count, newest in stamps)


def _key() -> tuple[str, str]:
    store = store_label()
    return store, data_version(store)


def executive_overview(filters: kpi_frames.Filters) -> kpi_frames.Overview:
    """Every executive KPI for the filters, its previous period's value and its trend."""
    return _overview(*_key(), filters)


def utilization_groups(filters: kpi_frames.Filters, by: str) -> pl.DataFrame:
    """The period's utilization ``by`` practice, region or person (key, label, hours, share)."""
    return _utilization_groups(*_key(), filters, cast(Dimension, by))


def slice_values() -> dict[str, dict[str, str]]:
    """For each slice dimension, its values (key → readable label: a customer's name)."""
    return _slice_values(*_key())


def kpi_records(
    filters: kpi_frames.Filters,
    kpi: Kpi,
    *,
    group: tuple[str, str] | None = None,
    bucket: str | None = None,
    currency: str | None = None,
) -> pl.DataFrame:
    """The records behind one figure (:func:`metrics.drill.records`), with names; ``group``:
    the dimension value of a clicked bar, on top of the slice."""
    return _kpi_records(*_key(), filters, kpi, group, bucket, currency)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def record_journey(entity_type: str, entity_id: str) -> pl.DataFrame:
    """A record's business events from approval to cash (:func:`metrics.drill.journey`): for a
    time entry or billing event its own, its billing event's and its invoice's, with ``waited``
    (hours since the previous milestone)."""
    with engine().connect() as connection:
        return drill.journey(connection, entity_type, entity_id).rename({"name": "event"})


@st.cache_data(ttl=KPI_TTL_SECONDS, show_spinner=False)
def _kpis(
    store: str, version: str, as_of: date, grain: Grain, by: Dimension | None, where: Where
) -> KpiReport:
    """One :func:`metrics.report.executive_kpis` report (``store`` and ``version`` key it),
    without flow health and open exceptions: the Overview shows neither, and reads a report
    per period of its trends."""
    with engine().connect() as connection:
        return report.executive_kpis(
            connection, as_of=as_of, grain=grain, by=by, where=_where(where), health=False
        )


@st.cache_data(ttl=KPI_TTL_SECONDS, show_spinner=False)
def _dimensions(store: str, version: str) -> Dimensions:
    with engine().connect() as connection:
        return dimensions(connection)


@st.cache_data(ttl=KPI_TTL_SECONDS, show_spinner="Computing the KPIs…")
def _overview(store: str, version: str, filters: kpi_frames.Filters) -> kpi_frames.Overview:
    tables = (TimeEntryRow, BillingEventRow, InvoiceRow)
    if not any(_count(queries.first_row(table)) for table in tables):
        return kpi_frames.Overview(filters=filters, empty=True)
    ends = [end for _, end in kpi_frames.periods_back(filters.as_of, filters.grain)]
    reports = [_kpis(store, version, end, filters.grain, None, filters.where) for end in ends]
    return kpi_frames.compose(filters, reports, leakage=_leakage(store, version, filters))


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def _leakage(store: str, version: str, filters: kpi_frames.Filters) -> pl.DataFrame:
    """Revenue leakage at the as-of date per currency and kind (:func:`metrics.report.
    revenue_leakage`: a point figure read from raw rows, beside the report)."""
    with engine().connect() as connection:
        return report.revenue_leakage(connection, as_of=filters.as_of, where=_where(filters.where))


@st.cache_data(ttl=KPI_TTL_SECONDS, show_spinner=False)
def _slice_values(store: str, version: str) -> dict[str, dict[str, str]]:
    dims = _dimensions(store, version)
    return {d: dict(slice_labels(dims, d).iter_rows()) for d in kpi_frames.DIMENSIONS}


@st.cache_data(ttl=KPI_TTL_SECONDS, show_spinner="Computing utilization…")
def _utilization_groups(
    store: str, version: str, filters: kpi_frames.Filters, by: Dimension
) -> pl.DataFrame:
    kpis = _kpis(store, version, filters.as_of, filters.grain, by, filters.where)
    names = slice_labels(_dimensions(store, version), by)
    return kpi_frames.utilization_groups(kpis.utilization, by, names)


@st.cache_data(ttl=TTL_SECONDS, show_spinner="Reading the records…")
def _kpi_records(
    store: str,
    version: str,
    filters: kpi_frames.Filters,
    kpi: Kpi,
    group: tuple[str, str] | None,
    bucket: str | None,
    currency: str | None,
) -> pl.DataFrame:
    where = _where(filters.where + ((group,) if group else ()))
    with engine().connect() as connection:
        rows = drill.records(connection, kpi, as_of=filters.as_of, grain=filters.grain,
                             where=where, bucket=bucket, currency=currency)  # fmt: skip
    rows = kpi_frames.named(rows, _dimensions(store, version))
    if kpi == "dso":
        return kpi_frames.open_invoices(rows, filters.as_of)
    if kpi == "leakage":
        return kpi_frames.largest_first(rows)
    return rows


def _where(where: Where) -> dict[Dimension, str]:
    return {cast(Dimension, d): value for d, value in where}


# --- plumbing -----------------------------------------------------------------------------------


def _read(query: queries.Query) -> pl.DataFrame:
    """Run the query into its schema (``sync.store.read_frame``: Decimal money as floats)."""
    with engine().connect() as connection:
        return read_frame(connection, query.statement, query.schema)


def _count(statement: Executable) -> int:
    with engine().connect() as connection:
        return int(connection.scalar(statement) or 0)


def _plain(value: Any) -> Any:
    return float(value) if isinstance(value, Decimal) else value


__all__ = [
    "BillingSummary",
    "BillingTrend",
    "EventFilters",
    "ExceptionDetail",
    "ExceptionFilter",
    "ExceptionHeadline",
    "ExceptionList",
    "HealthReport",
    "assign_exceptions",
    "billing_events",
    "billing_summary",
    "billing_trend",
    "engine",
    "exception_choices",
    "exception_detail",
    "exception_headline",
    "exceptions",
    "executive_overview",
    "integration_health",
    "invoice_lines",
    "invoices",
    "parse_edit",
    "record_journey",
    "refresh",
    "replay_exceptions",
    "set_exception_status",
    "store_label",
    "wip_aging",
]
