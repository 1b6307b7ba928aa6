"""Each ERP as a system of its own: deliveries, calls and invoice values per ERP and per set of
books (company and legal entity), as :mod:`metrics.erps` defines them; cached for
``TTL_SECONDS``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import polars as pl
import streamlit as st

from app import frames
from app.data.store import TTL_SECONDS, engine, settings
from metrics import erps, load
from sync import ERP_LABELS
from sync.store import deliveries


@dataclass(frozen=True)
class ErpReport:
    """Every ERP the store has sent documents to (and every ERP the configuration uses), each
    with ``erp_name``, how people call it."""

    fetched_at: datetime
    erps: pl.DataFrame  # metrics.erps.erp_health: deliveries, calls, 429s, errors, last call
    books: pl.DataFrame  # metrics.erps.delivery_by_books: per ERP, company and legal entity
    values: pl.DataFrame  # metrics.erps.value_by_books: invoices and money per currency

    @property
    def names(self) -> dict[str, str]:
        """How people call each ERP → its system name, for every ERP reported (not the row of
        items not routed yet)."""
        pairs = zip(self.erps["erp_name"], self.erps["erp"], strict=True)
        return {name: erp for name, erp in pairs if erp is not None}

    @property
    def empty(self) -> bool:
        """No document has been queued for any ERP yet."""
        return self.books.is_empty()


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def erp_report() -> ErpReport:
    """Deliveries per ERP and per set of books, with each ERP's calls."""
    now = datetime.now(UTC)
    with engine().connect() as connection:
        items = deliveries.erp_deliveries(connection)
        spans = load.client_spans(connection)
    in_use = [erp.value for erp in settings().erp.in_use()]
    by_erp = erps.delivery_by_erp(items, now=now, erps=in_use)
    return ErpReport(
        fetched_at=now,
        erps=frames.with_erp_name(erps.erp_health(by_erp, spans), ERP_LABELS),
        books=frames.with_erp_name(erps.delivery_by_books(items, now=now), ERP_LABELS),
        values=frames.with_erp_name(erps.value_by_books(items), ERP_LABELS),
    )
