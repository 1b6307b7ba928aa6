"""Each ERP as a system of its own: what was delivered to it, how fast, and how it answered.

Inputs are the store's outbox items (:func:`sync.store.deliveries.erp_deliveries`: one row per
document with its route, legal entity, status and stamps) and vendor call spans. Definitions:

- a document's **state** follows its outbox status: ``posted`` (delivered: the ERP holds it),
  ``waiting`` (pending or retrying: it will be sent again on its own), ``refused`` (failed: the
  ERP refused it, or it has no books; it waits on a person) and ``dead`` (dead-lettered after too
  many attempts);
- **delivery lag**: seconds from the item's creation to its delivery (posted documents only);
  **oldest waiting**: minutes since the oldest waiting item was created, at ``now``;
- counts of ``posted``/``waiting``/``refused``/``dead`` are invoices; credit notes are counted
  apart (``credit_notes``, those posted), and the lag covers both kinds;
- an item not routed yet has no ERP (``erp`` null): it is reported as such, never guessed;
- **last call**: the start of the newest vendor call to the ERP that did not fail.

Money is never summed across currencies: values are per (ERP, legal entity, company, currency).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import polars as pl

from metrics.health import vendor_calls
from sync.store import OutboxStatus

STATES = {
    OutboxStatus.DELIVERED: "posted",
    OutboxStatus.PENDING: "waiting",
    OutboxStatus.RETRYING: "waiting",
    OutboxStatus.FAILED: "refused",
    OutboxStatus.DEAD: "dead",
}
COUNTED = ("posted", "waiting", "refused", "dead")
BOOKS = ("erp", "company", "legal_entity")
CALL_COLUMNS = ("calls", "errors", "throttled", "retries")


def state() -> pl.Expr:
    """An item's state (:data:`STATES`) from its outbox ``status``."""
    return (
        pl.col("status")
        .replace_strict(
            {str(k): v for k, v in STATES.items()}, default=None, return_dtype=pl.String
        )
        .alias("state")
    )


def with_state(items: pl.DataFrame, *, now: datetime) -> pl.DataFrame:
    """``items`` with ``state``, ``lag_seconds`` (posted) and ``waiting_minutes`` (waiting, at
    ``now``)."""
    return items.with_columns(state()).with_columns(
        pl.when(pl.col("state") == "posted")
        .then((pl.col("delivered_at") - pl.col("created_at")).dt.total_milliseconds() / 1000)
        .alias("lag_seconds"),
        pl.when(pl.col("state") == "waiting")
        .then((pl.lit(now) - pl.col("created_at")).dt.total_milliseconds() / 60_000)
        .alias("waiting_minutes"),
    )


def _delivery_aggregates() -> list[pl.Expr]:
    invoice = pl.col("kind") == "invoice"
    counts = [((pl.col("state") == s) & invoice).sum().alias(s) for s in COUNTED]
    return [
        *counts,
        ((pl.col("state") == "posted") & ~invoice).sum().alias("credit_notes"),
        pl.col("lag_seconds").quantile(0.50).alias("lag_p50_seconds"),
        pl.col("lag_seconds").quantile(0.95).alias("lag_p95_seconds"),
        pl.col("waiting_minutes").max().alias("oldest_waiting_minutes"),
    ]


def delivery_by_books(items: pl.DataFrame, *, now: datetime) -> pl.DataFrame:
    """Per ERP, company and legal entity: invoices posted, waiting, refused and dead, credit
    notes posted, delivery lag p50/p95 (seconds) and the oldest waiting item (minutes)."""
    return (
        with_state(items, now=now)
        .group_by(BOOKS)
        .agg(_delivery_aggregates())
        .sort(BOOKS, nulls_last=True)
    )


def delivery_by_erp(
    items: pl.DataFrame, *, now: datetime, erps: Sequence[str] = ()
) -> pl.DataFrame:
    """Per ERP: its companies (how many received documents), then as
    :func:`delivery_by_books`; every ERP of ``erps`` has a row, at zero when nothing went to it.
    Items not routed yet make a row of their own (``erp`` null), last."""
    found = (
        with_state(items, now=now)
        .group_by("erp")
        .agg(pl.col("company").drop_nulls().n_unique().alias("companies"), *_delivery_aggregates())
    )
    missing = [erp for erp in erps if erp not in set(found["erp"].to_list())]
    idle = pl.DataFrame({"erp": missing}, schema={"erp": pl.String})
    zeros = ("companies", *COUNTED, "credit_notes")
    return (
        pl.concat([found, idle], how="diagonal_relaxed")
        .with_columns(pl.col(zeros).fill_null(0))
        .sort("erp", nulls_last=True)
    )


def erp_health(deliveries: pl.DataFrame, spans: pl.DataFrame) -> pl.DataFrame:
    """:func:`delivery_by_erp` with each ERP's calls (:func:`metrics.health.vendor_calls`: calls,
    errors, 429s, retries) and ``last_call`` (the newest call that did not fail).

    ``spans`` as :func:`metrics.load.client_spans` reads them (with ``start_time``)."""
    calls = vendor_calls(spans).select("vendor", *CALL_COLUMNS)
    clients = spans.filter(pl.col("kind") == "client").with_columns(
        pl.col("attributes").struct.field("vendor").alias("vendor")
    )
    last = clients.group_by("vendor").agg(
        pl.col("start_time").filter(pl.col("status") != "error").max().alias("last_call")
    )
    return (
        deliveries.join(calls, left_on="erp", right_on="vendor", how="left")
        .join(last, left_on="erp", right_on="vendor", how="left")
        .with_columns(pl.col("calls", "errors", "throttled", "retries").fill_null(0))
    )


def value_by_books(items: pl.DataFrame) -> pl.DataFrame:
    """Invoices per ERP, legal entity, company and currency: how many and how much are posted,
    waiting and refused (refused includes dead-lettered)."""
    invoices = items.filter(pl.col("kind") == "invoice").with_columns(
        state().replace({"dead": "refused"})
    )
    aggregates = []
    for bucket in ("posted", "waiting", "refused"):
        mine = pl.col("state") == bucket
        aggregates += [
            mine.sum().alias(f"{bucket}_invoices"),
            pl.col("amount").filter(mine).sum().alias(f"{bucket}_value"),
        ]
    keys = ("erp", "legal_entity", "company", "currency")
    return invoices.group_by(keys).agg(aggregates).sort(keys, nulls_last=True)
