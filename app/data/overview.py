"""The executive Overview: the KPIs from :mod:`metrics` (the rollups, and drilldown records),
cached by the store and its data version so that a page reads them again only when the data
changed (or ``KPI_TTL_SECONDS`` passed)."""

from __future__ import annotations

from datetime import date
from typing import cast

import polars as pl
import streamlit as st

from app import kpi_frames
from app.data.store import (
    TTL_SECONDS,
    engine,
    store_label,
)
from metrics import (
    Dimension,
    Dimensions,
    Grain,
    KpiReport,
    dimensions,
    drill,
    executive_kpis,
    revenue_leakage,
    slice_labels,
)
from metrics.drill import Kpi
from sync import ROLLUP_SOURCES
from sync.store import (
    BillingEventRow,
    InvoiceRow,
    TimeEntryRow,
    dashboard,
)

Where = tuple[tuple[str, str], ...]  # a slice, as kpi_frames.Filters.where gives it
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
    with engine().connect() as connection:
        marks = dashboard.rollup_watermarks(connection)
        if marks.height:
            return "rollups:" + ";".join(f"{s}={v}" for s, v in marks.iter_rows())
        stamps = dashboard.fingerprints(connection, ROLLUP_SOURCES.values())
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
        return executive_kpis(
            connection, as_of=as_of, grain=grain, by=by, where=_where(where), health=False
        )


@st.cache_data(ttl=KPI_TTL_SECONDS, show_spinner=False)
def _dimensions(store: str, version: str) -> Dimensions:
    with engine().connect() as connection:
        return dimensions(connection)


@st.cache_data(ttl=KPI_TTL_SECONDS, show_spinner="Computing the KPIs…")
def _overview(store: str, version: str, filters: kpi_frames.Filters) -> kpi_frames.Overview:
    with engine().connect() as connection:
        tables = (TimeEntryRow, BillingEventRow, InvoiceRow)
        empty = not any(dashboard.has_rows(connection, table) for table in tables)
    if empty:
        return kpi_frames.Overview(filters=filters, empty=True)
    ends = [end for _, end in kpi_frames.periods_back(filters.as_of, filters.grain)]
    reports = [_kpis(store, version, end, filters.grain, None, filters.where) for end in ends]
    return kpi_frames.compose(filters, reports, leakage=_leakage(store, version, filters))


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def _leakage(store: str, version: str, filters: kpi_frames.Filters) -> pl.DataFrame:
    """Revenue leakage at the as-of date per currency and kind (:func:`metrics.report.
    revenue_leakage`: a point figure read from raw rows, beside the report)."""
    with engine().connect() as connection:
        return revenue_leakage(connection, as_of=filters.as_of, where=_where(filters.where))


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
