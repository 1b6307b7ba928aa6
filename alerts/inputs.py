"""What the rules are evaluated over, read from the store through ``metrics``' front door.

:func:`read_inputs` reads only what the rules in force need (no KPI report without a ``kpi``
rule, no vendor calls without a ``vendor`` rule …); everything after it is pure. A read that
fails is kept as an error for the rules that needed it, which then evaluate to an error.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TypeVar

import polars as pl
from sqlalchemy import Connection

import metrics
from alerts import sli_events
from alerts.rule_kinds import ExceptionsRule, KpiRule, SloRule, VendorRule
from alerts.rules import RuleSet, load_rules
from alerts.slo import SLIS, SLO_WINDOW
from metrics import load
from sync import Settings
from sync.store import Flow

log = logging.getLogger(__name__)
T = TypeVar("T")
KpiQuery = tuple[metrics.Grain, metrics.Dimension | None, tuple[tuple[metrics.Dimension, str], ...]]


def kpi_query(rule: KpiRule) -> KpiQuery:
    return rule.grain, rule.by, tuple(sorted(rule.where.items()))


@dataclass(frozen=True)
class ClosePeriod:
    """The month at risk of missing its close: its bounds, its cut-off, and its records."""

    start: date
    end: date
    cutoff: date
    time: pl.DataFrame  # load.APPROVED_TIME of entries dated in the month
    invoices: pl.DataFrame  # load.INVOICE_DELIVERIES billing the month
    projects: pl.DataFrame  # the project dimensions (practice, region …)


@dataclass(frozen=True)
class Inputs:
    """Everything the rules read, as frames. ``None``: not read (no rule needed it, or the read
    failed: ``errors`` says why, by what was read)."""

    now: datetime
    kpis: Mapping[KpiQuery, metrics.KpiReport] = field(default_factory=dict)
    exceptions: pl.DataFrame | None = None  # load.EXCEPTIONS
    last_runs: pl.DataFrame | None = None  # load.LAST_RUNS
    intervals: Mapping[str, int] = field(default_factory=dict)  # flow → seconds
    spans: pl.DataFrame | None = None  # load.client_spans over the longest vendor window
    sli_events: Mapping[str, pl.DataFrame] = field(default_factory=dict)  # start, done
    close: ClosePeriod | None = None
    errors: Mapping[str, str] = field(default_factory=dict)


def intervals(settings: Settings) -> dict[str, int]:
    """Each flow's interval in seconds under ``[schedule]``."""
    schedule = settings.schedule
    return {
        flow.value: getattr(
            schedule, "time_seconds" if flow is Flow.BILLABLE else f"{flow.value}_seconds"
        )
        for flow in Flow
    }


def close_month(today: date) -> tuple[date, date, date]:
    """The month at risk: last month until its close cut-off has passed, then this month."""
    start, end = metrics.bounds(today, "month")
    last_start, last_end = metrics.previous(today, "month")
    if today <= last_end + timedelta(days=metrics.CLOSE_DAYS):
        start, end = last_start, last_end
    return start, end, end + timedelta(days=metrics.CLOSE_DAYS)


class _Reader:
    def __init__(self, connection: Connection) -> None:
        self.connection, self.errors = connection, dict[str, str]()

    def read(self, what: str, reader: Callable[[Connection], T]) -> T | None:
        try:
            with self.connection.begin_nested():
                return reader(self.connection)
        except Exception as error:  # a bad read fails its rules, never the pass
            log.warning("alerts: reading %s failed: %s", what, error)
            self.errors[what] = f"reading {what} failed: {type(error).__name__}: {error}"
            return None


def read_inputs(
    connection: Connection, settings: Settings, now: datetime, rules: RuleSet | None = None
) -> Inputs:
    """The frames ``rules`` (default: those of ``settings.alerts.rules``) need, read at ``now``."""
    rules = rules if rules is not None else load_rules(settings.alerts.rules)
    reader, kinds = _Reader(connection), rules.kinds()
    kpis: dict[KpiQuery, metrics.KpiReport] = {}
    for query in dict.fromkeys(
        kpi_query(r) for r in rules.of_kind("kpi") if isinstance(r, KpiRule)
    ):
        report = reader.read(f"kpis {query}", _kpis(now, query))
        if report is not None:
            kpis[query] = report
    runs = reader.read("runs", load.last_runs) if kinds & {"staleness", "slo"} else None
    return Inputs(
        now=now,
        kpis=kpis,
        exceptions=_exceptions(reader, rules, now),
        last_runs=runs,
        intervals=intervals(settings),
        spans=_spans(reader, rules, now),
        sli_events=_slis(reader, rules, now),
        close=reader.read("close", lambda c: _close(c, now)) if "close_risk" in kinds else None,
        errors=reader.errors,
    )


def _kpis(now: datetime, query: KpiQuery) -> Callable[[Connection], metrics.KpiReport]:
    grain, by, where = query

    def read(connection: Connection) -> metrics.KpiReport:
        return metrics.executive_kpis(
            connection, as_of=now.date(), grain=grain, by=by, where=dict(where), health=False
        )

    return read


def _exceptions(reader: _Reader, rules: RuleSet, now: datetime) -> pl.DataFrame | None:
    wanted = [r for r in rules.of_kind("exceptions") if isinstance(r, ExceptionsRule)]
    if not wanted:
        return None
    surge = any(r.surge is not None for r in wanted)  # a surge counts the closed ones too
    return reader.read("exceptions", lambda c: load.exceptions(c, open_only=not surge))


def _spans(reader: _Reader, rules: RuleSet, now: datetime) -> pl.DataFrame | None:
    windows = [r.window for r in rules.of_kind("vendor") if isinstance(r, VendorRule)]
    if not windows:
        return None
    return reader.read("vendor calls", lambda c: load.client_spans(c, since=now - max(windows)))


def _slis(reader: _Reader, rules: RuleSet, now: datetime) -> dict[str, pl.DataFrame]:
    wanted = {r.sli for r in rules.of_kind("slo") if isinstance(r, SloRule)}
    since = now - SLO_WINDOW - max((SLIS[s].deadline for s in wanted), default=timedelta(0))
    readers: dict[str, Callable[[Connection], pl.DataFrame]] = {
        "billable_within_24h": lambda c: sli_events.billable(load.approved_time(c, since=since)),
        "posted_within_1h": lambda c: sli_events.posted(load.invoice_deliveries(c, since=since)),
        "crm_within_24h": lambda c: sli_events.reflected(
            load.business_events(c, ("payment.received", "receivable.written"), since=since),
            load.invoice_deliveries(c),
        ),
    }
    found = {sli: reader.read(f"sli {sli}", readers[sli]) for sli in sorted(wanted)}
    return {sli: frame for sli, frame in found.items() if frame is not None}


def _close(connection: Connection, now: datetime) -> ClosePeriod:
    start, end, cutoff = close_month(now.date())
    return ClosePeriod(
        start=start,
        end=end,
        cutoff=cutoff,
        time=load.period_time(connection, start=start, end=end),
        invoices=load.invoice_deliveries(connection, period_end=end),
        projects=metrics.dimensions(connection).projects,
    )
