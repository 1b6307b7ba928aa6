"""Each ERP's deliveries, calls and invoice values (``metrics.erps``) on hand-written frames."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from metrics import erps
from sync.store.deliveries import DELIVERY_COLUMNS
from tests.metrics.frames import frame

NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)
SPANS: dict[str, object] = {
    "kind": pl.String,
    "name": pl.String,
    "duration_ms": pl.Float64,
    "status": pl.String,
    "attributes": pl.Struct(
        {"vendor": pl.String, "attempt": pl.Int64, "http.status_code": pl.Int64}
    ),
    "start_time": pl.Datetime("us", "UTC"),
}


def item(
    kind: str,
    books: tuple[str | None, str | None, str | None],
    status: str,
    money: tuple[str, float],
    queued_min_ago: float,
    lag_s: float | None = None,
) -> tuple[object, ...]:
    """One outbox item: (kind, (erp, company, legal entity), status, (currency, amount),
    minutes since it was queued, seconds it took to deliver)."""
    created = NOW - timedelta(minutes=queued_min_ago)
    delivered = created + timedelta(seconds=lag_s) if lag_s is not None else None
    erp, company, entity = books
    currency, amount = money
    return (1, kind, erp, company, entity, "n", status, 1, currency, amount, created, delivered,
            None)  # fmt: skip


UK = ("dynamics365", "gb01", "Firm UK Ltd")
DE = ("oracle_fusion", "BU DE", "Firm GmbH")
NL = ("oracle_fusion", "BU NL", "Firm B.V.")
ITEMS = frame(
    DELIVERY_COLUMNS,
    [
        item("invoice", UK, "delivered", ("GBP", 100.0), 60, lag_s=2),
        item("invoice", UK, "delivered", ("GBP", 50.0), 50, lag_s=4),
        item("invoice", UK, "delivered", ("GBP", 25.0), 40, lag_s=30),
        item("invoice", UK, "retrying", ("GBP", 10.0), 30),
        item("invoice", DE, "failed", ("EUR", 200.0), 20),
        item("invoice", DE, "dead", ("EUR", 5.0), 20),
        item("invoice", DE, "pending", ("EUR", 7.0), 5),
        item("credit_note", DE, "delivered", ("EUR", 20.0), 10, lag_s=6),
        item("invoice", NL, "delivered", ("EUR", 70.0), 10, lag_s=1),
        item("invoice", (None, None, None), "pending", ("USD", 300.0), 2),
    ],
)


def by(frame: pl.DataFrame, *keys: str) -> dict[object, dict[str, object]]:
    rows = frame.iter_rows(named=True)
    return {tuple(r[k] for k in keys) if len(keys) > 1 else r[keys[0]]: r for r in rows}


def test_per_erp_counts_invoices_by_state_and_credit_notes_apart() -> None:
    out = by(erps.delivery_by_erp(ITEMS, now=NOW), "erp")
    assert list(out) == ["dynamics365", "oracle_fusion", None]  # not routed: last
    d365, fusion, unrouted = out["dynamics365"], out["oracle_fusion"], out[None]
    assert (d365["posted"], d365["waiting"], d365["refused"], d365["dead"]) == (3, 1, 0, 0)
    assert (fusion["posted"], fusion["waiting"], fusion["refused"], fusion["dead"]) == (1, 1, 1, 1)
    assert fusion["credit_notes"] == 1 and d365["credit_notes"] == 0
    assert fusion["companies"] == 2 and d365["companies"] == 1
    assert (unrouted["waiting"], unrouted["companies"]) == (1, 0)


def test_delivery_lag_and_oldest_waiting() -> None:
    out = by(erps.delivery_by_erp(ITEMS, now=NOW), "erp")
    d365 = out["dynamics365"]
    assert d365["lag_p50_seconds"] == pytest.approx(4.0)  # of 2, 4 and 30 s
    assert d365["lag_p95_seconds"] == pytest.approx(30.0)
    assert d365["oldest_waiting_minutes"] == pytest.approx(30.0)
    fusion = out["oracle_fusion"]
    assert fusion["lag_p50_seconds"] == pytest.approx(6.0)  # credit note 6 s, invoice 1 s
    assert fusion["oldest_waiting_minutes"] == pytest.approx(5.0)  # refused items do not wait


def test_an_erp_in_use_with_nothing_sent_has_a_row_at_zero() -> None:
    out = by(erps.delivery_by_erp(ITEMS, now=NOW, erps=["xero", "dynamics365"]), "erp")
    assert list(out) == ["dynamics365", "oracle_fusion", "xero", None]
    xero = out["xero"]
    assert (xero["posted"], xero["waiting"], xero["refused"], xero["companies"]) == (0, 0, 0, 0)
    assert xero["lag_p95_seconds"] is None


def test_per_books_splits_an_erp_by_company_and_legal_entity() -> None:
    out = by(erps.delivery_by_books(ITEMS, now=NOW), "company")
    assert (out["BU DE"]["legal_entity"], out["BU DE"]["refused"]) == ("Firm GmbH", 1)
    assert (out["BU NL"]["legal_entity"], out["BU NL"]["posted"]) == ("Firm B.V.", 1)
    assert out["gb01"]["posted"] == 3


def test_values_per_books_and_currency_count_dead_as_refused() -> None:
    out = by(erps.value_by_books(ITEMS), "company", "currency")
    uk = out[("gb01", "GBP")]
    assert (uk["posted_invoices"], uk["posted_value"]) == (3, 175.0)
    assert (uk["waiting_invoices"], uk["waiting_value"]) == (1, 10.0)
    de = out[("BU DE", "EUR")]
    assert (de["refused_invoices"], de["refused_value"]) == (2, 205.0)  # failed + dead
    assert (de["posted_invoices"], de["posted_value"]) == (0, 0.0)  # a credit note is no invoice
    assert out[(None, "USD")]["waiting_value"] == 300.0


def test_health_joins_each_erps_calls_and_last_good_call() -> None:
    def span(vendor: str, status: str, code: int, minutes_ago: int) -> tuple[object, ...]:
        attributes = {"vendor": vendor, "attempt": 1, "http.status_code": code}
        return ("client", "call", 10.0, status, attributes, NOW - timedelta(minutes=minutes_ago))

    spans = frame(
        SPANS,  # type: ignore[arg-type]
        [
            span("dynamics365", "unset", 200, 9),
            span("dynamics365", "error", 429, 1),  # newer, but failed: not the last good call
            span("harvest", "unset", 200, 1),
        ],
    )
    deliveries = erps.delivery_by_erp(ITEMS, now=NOW, erps=["xero"])
    out = by(erps.erp_health(deliveries, spans), "erp")
    d365 = out["dynamics365"]
    assert (d365["calls"], d365["throttled"], d365["errors"]) == (2, 1, 1)
    assert d365["last_call"] == NOW - timedelta(minutes=9)
    assert (out["xero"]["calls"], out["xero"]["last_call"]) == (0, None)
    assert "harvest" not in out  # not an ERP
