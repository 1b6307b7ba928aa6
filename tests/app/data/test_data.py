"""``app.data`` against a seeded store on SQLite and, when reachable, PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import streamlit as st
from sqlalchemy import text

from app import data
from sync.store.db import make_engine
from sync.store.migrate import upgrade
from tests.app.seed import USD_INVOICE, seed
from tests.conftest import POSTGRES_URL


@pytest.fixture(params=["sqlite", "postgresql"])
def dialect_url(
    request: pytest.FixtureRequest, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """A seeded store on each dialect, named by ``PLAN2CASH__DATABASE_URL``."""
    if request.param == "sqlite":
        url, cleanup = store_url, None
    else:
        if not request.getfixturevalue("postgres_ok"):
            pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}")
        schema = f"t_{uuid.uuid4().hex[:12]}"
        admin = make_engine(POSTGRES_URL)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        # libpq's PGOPTIONS, not ?options=…%3D…: alembic's config rejects "%" in the URL
        monkeypatch.setenv("PGOPTIONS", f"-csearch_path={schema}")
        url, cleanup = POSTGRES_URL, (admin, schema)
        monkeypatch.setenv("PLAN2CASH__DATABASE_URL", url)
    engine = make_engine(url)
    upgrade(engine)
    seed(engine, datetime.now(UTC).date())
    engine.dispose()
    try:
        yield url
    finally:
        data.engine().dispose()
        st.cache_resource.clear()
        if cleanup is not None:
            admin, schema = cleanup
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


def _by_currency(frame: object, column: str) -> dict[str, float]:
    return dict(zip(frame["currency"], frame[column], strict=True))  # type: ignore[index]


def test_summary_figures(dialect_url: str) -> None:
    summary = data.billing_summary(datetime.now(UTC).date())
    assert not summary.empty
    assert _by_currency(summary.wip, "amount") == {"GBP": 720.0, "USD": 2300.0}
    assert _by_currency(summary.wip, "hours") == {"GBP": 6.0, "USD": 14.5}
    assert _by_currency(summary.posted_this_month, "amount") == {"USD": 1500.0}
    assert _by_currency(summary.posted_to_date, "amount") == {"EUR": 300.0, "USD": 1500.0}
    assert _by_currency(summary.pending_delivery, "amount") == {"GBP": 600.0}
    assert _by_currency(summary.value_at_risk, "amount") == {"USD": 450.0}
    assert (summary.billing_events, summary.invoices, summary.open_exceptions) == (7, 3, 2)
    syncs = dict(summary.last_sync.iter_rows())
    assert set(syncs) == {"billable", "invoicing"}
    assert syncs["invoicing"] is None


def test_wip_aging_buckets(dialect_url: str) -> None:
    aging = data.wip_aging(datetime.now(UTC).date())
    rows = {(r["currency"], r["bucket"]): r["amount"] for r in aging.iter_rows(named=True)}
    assert rows == {
        ("GBP", "0–30 days"): 0.0, ("GBP", "31–60 days"): 0.0,
        ("GBP", "61–90 days"): 720.0, ("GBP", "90+ days"): 0.0,
        ("USD", "0–30 days"): 1200.0, ("USD", "31–60 days"): 600.0,
        ("USD", "61–90 days"): 0.0, ("USD", "90+ days"): 500.0,
    }  # fmt: skip


def test_events_invoices_lines_and_trend(dialect_url: str) -> None:
    events = data.billing_events(200, data.EventFilters(invoiced=False, currency="USD"))
    assert sorted(events["id"]) == ["e1", "e2", "e3"]
    assert set(events["invoice_number"]) == {"not invoiced"}
    first = events.row(0, named=True)
    assert (first["customer"], first["project_code"], first["person"]) == (
        "Acme Corp", "ACME-01", "Ada Lovelace",
    )  # fmt: skip
    invoices = data.invoices()
    assert invoices.height == 3
    lines = data.invoice_lines("inv-usd")
    assert lines.row(0) == ("Professional services — Ada Lovelace, 10 h", 10.0, 150.0, 1500.0)
    on_usd = data.billing_events(10, data.EventFilters(invoice_id="inv-usd"))
    assert list(on_usd["invoice_number"]) == [USD_INVOICE]
    trend = data.billing_trend()
    assert trend.currencies == ["EUR", "GBP", "USD"]
    assert float(trend.weekly.filter(currency="USD")["amount"].sum()) == 3800.0
    assert float(trend.monthly.filter(currency="GBP")["amount"].sum()) == 600.0
