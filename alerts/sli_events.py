"""Each SLI's events (``start``, ``done``: null while unfulfilled) from the frames
:mod:`metrics.load` reads; pure functions, judged by :func:`alerts.slo.judge`.

- ``billable_within_24h``: an approved billable time entry starts at its approval and is done
  when its billing event was made (``metrics.load.approved_time``).
- ``posted_within_1h``: an invoice starts when plan2cash made it and is done when the ERP took
  it (``metrics.load.invoice_deliveries``).
- ``crm_within_24h``: a payment starts when the ERP recorded it (its ``payment.received``
  business event) and is done at the first ``receivable.written`` event of the invoice's
  customer at or after it (the customer's CRM account then shows it).
"""

from __future__ import annotations

import polars as pl

UTC_TIME = pl.Datetime("us", "UTC")
EVENTS = {"start": UTC_TIME, "done": UTC_TIME}


def billable(approved_time: pl.DataFrame) -> pl.DataFrame:
    return approved_time.select(
        pl.col("approved_at").cast(UTC_TIME).alias("start"),
        pl.col("event_created_at").cast(UTC_TIME).alias("done"),
    )


def posted(invoices: pl.DataFrame) -> pl.DataFrame:
    return invoices.select(
        pl.col("created_at").cast(UTC_TIME).alias("start"),
        pl.col("posted_at").cast(UTC_TIME).alias("done"),
    )


def reflected(events: pl.DataFrame, invoices: pl.DataFrame) -> pl.DataFrame:
    """``events``: business events (name, entity_id, occurred_at) of ``payment.received``
    (entity: the invoice) and ``receivable.written`` (entity: the customer); ``invoices``:
    invoice_id, customer_id."""
    customer_of = invoices.select(pl.col("invoice_id").alias("entity_id"), "customer_id")
    payments = (
        events.filter(pl.col("name") == "payment.received")
        .join(customer_of, on="entity_id", how="inner")
        .select("customer_id", pl.col("occurred_at").cast(UTC_TIME).alias("start"))
        .sort("start")
    )
    writes = (
        events.filter(pl.col("name") == "receivable.written")
        .select(
            pl.col("entity_id").alias("customer_id"),
            pl.col("occurred_at").cast(UTC_TIME).alias("done"),
        )
        .sort("done")
    )
    if payments.is_empty():
        return pl.DataFrame(schema=EVENTS)
    return payments.join_asof(
        writes,
        left_on="start",
        right_on="done",
        by="customer_id",
        strategy="forward",
        check_sortedness=False,  # both sorted whole, so within each customer too
    ).select("start", "done")
