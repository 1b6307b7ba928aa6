"""The KPI benchmark's firm: the sandbox world's records written straight into the store tables
with bulk inserts (a benchmark fixture: the engine's own speed is measured by
``bench/backfill.py``).

Customers, contracts, projects, people, time off, holidays, every time entry, a billing event for
each approved billable entry priced as the world prices it, one invoice per contract and closed
month posted on the 1st of the next month, and payments as each customer tends to pay;
``bench/kpis.py`` measures the KPIs over it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import polars as pl
from sqlalchemy import Engine

from sandbox.world import World
from sandbox.world.pricing import priced
from sync.store.db import insert_frame, session_factory, transaction
from sync.store.repo import set_cursor
from sync.store.tables import (
    BillingEventRow,
    ContractRow,
    CustomerRow,
    HolidayRow,
    InvoiceRow,
    PaymentRow,
    ProjectRow,
    ResourceRow,
    TimeEntryRow,
    TimeOffRow,
)

TODAY = date(2026, 11, 25)
UTC_TIME = pl.Datetime("us", "UTC")


def reference_frames(world: World, stamp: datetime) -> dict[Any, pl.DataFrame]:
    entity = {e.id: e.name for e in world.legal_entities}
    region = {r.id: r.name for r in world.regions}
    practice = {p.id: p.name for p in world.practices}
    sourced = {"source": "sandbox", "updated_at": stamp, "schema_version": 1}

    def rows(items: list[dict[str, Any]]) -> pl.DataFrame:
        return pl.DataFrame(items, infer_schema_length=None).with_columns(
            pl.col("updated_at").cast(UTC_TIME)
        )

    return {
        CustomerRow: rows(
            [
                {
                    **sourced,
                    "id": f"cus_{c.id}",
                    "source_id": str(c.id),
                    "name": c.name,
                    "currency": c.currency,
                    "legal_entity": entity[c.legal_entity_id],
                    "payment_terms_days": c.payment_terms_days,
                    "region": region[c.region_id],
                    "active": True,
                }
                for c in world.customers
            ]
        ),
        ContractRow: rows(
            [
                {
                    **sourced,
                    "id": f"con_{c.id}",
                    "source_id": str(c.id),
                    "customer_id": f"cus_{c.customer_id}",
                    "name": c.name,
                    "billing_model": c.billing_model,
                    "currency": c.currency,
                    "status": c.status,
                }
                for c in world.contracts
            ]
        ),
        ProjectRow: rows(
            [
                {
                    **sourced,
                    "id": f"pro_{p.id}",
                    "source_id": str(p.id),
                    "contract_id": f"con_{p.contract_id}",
                    "customer_id": f"cus_{p.customer_id}",
                    "code": p.code,
                    "name": p.name,
                    "status": p.status,
                    "practice": practice[p.practice_id],
                    "region": region[p.region_id],
                    "legal_entity": entity[p.legal_entity_id],
                    "currency": p.currency,
                }
                for p in world.projects
            ]
        ),
        ResourceRow: rows(
            [
                {
                    **sourced,
                    "id": f"res_{e.id}",
                    "source_id": str(e.id),
                    "name": e.name,
                    "role": e.role,
                    "practice": practice[e.practice_id],
                    "region": region[e.region_id],
                    "cost_rate": float(e.cost_rate),
                    "weekly_capacity_hours": float(e.weekly_capacity_hours),
                    "employment_status": "terminated" if e.termination_date else "active",
                    "hire_date": e.hire_date,
                    "termination_date": e.termination_date,
                }
                for e in world.employees
            ]
        ),
        HolidayRow: pl.DataFrame(
            [
                {
                    "id": f"{h.region_id}:{h.day}",
                    "region": region[h.region_id],
                    "day": h.day,
                    "name": h.name,
                    "source": "sandbox",
                    "updated_at": stamp,
                }
                for h in world.holidays
            ]
        ).with_columns(pl.col("updated_at").cast(UTC_TIME)),
        TimeOffRow: pl.DataFrame(
            [
                {
                    "id": f"off_{t.id}:{t.start + timedelta(days=d)}",
                    "request_id": f"off_{t.id}",
                    "resource_id": f"res_{t.employee_id}",
                    "day": t.start + timedelta(days=d),
                    "hours": float(t.hours_per_day),
                    "kind": t.kind,
                    "status": t.status,
                    "source": "sandbox",
                    "updated_at": stamp,
                }
                for t in world.time_off
                for d in range((t.end - t.start).days + 1)
                if (t.start + timedelta(days=d)).weekday() < 5
            ]
        ).with_columns(pl.col("updated_at").cast(UTC_TIME)),
    }


def money(column: str) -> pl.Expr:
    return pl.col(column).cast(pl.Float64)


def activity_frames(world: World) -> dict[Any, pl.DataFrame]:
    entries = priced(
        world.time_entries,
        world.projects,
        world.contracts,
        world.assignments,
        world.rate_cards,
    )
    currency = pl.DataFrame(
        {
            "project_id": [p.id for p in world.projects],
            "currency": [p.currency for p in world.projects],
        }
    )
    entries = entries.join(currency, on="project_id", how="left")
    time_rows = entries.select(
        pl.format("te_{}", "id").alias("id"),
        pl.col("id").cast(pl.String).alias("source_id"),
        pl.format("res_{}", "employee_id").alias("resource_id"),
        pl.format("pro_{}", "project_id").alias("project_id"),
        "task",
        "spent_date",
        money("hours").alias("hours"),
        "billable",
        "status",
        "notes",
        money("rate").alias("vendor_rate"),
        "submitted_at",
        "approved_at",
        pl.col("invoice_id").is_not_null().alias("is_billed"),
        pl.col("updated_at"),
        pl.lit("harvest").alias("source"),
        pl.lit(1).alias("schema_version"),
    )
    billable = entries.filter(
        (pl.col("status") == "approved")
        & pl.col("billable")
        & pl.col("rate").is_not_null()
        & pl.col("contract_id").is_not_null()
        & (pl.col("hours") > 0)
    )
    open_month = TODAY.replace(day=1)
    month = pl.col("spent_date").dt.truncate("1mo")
    events = billable.with_columns(
        pl.when(month < open_month)
        .then(pl.format("inv_{}_{}_{}", "contract_id", month.dt.strftime("%Y%m"), "currency"))
        .alias("invoice_id"),
        (pl.col("approved_at") + pl.duration(minutes=5)).alias("created_at"),
    )
    event_rows = events.select(
        pl.format("be_{}", "id").alias("id"),
        pl.format("con_{}", "contract_id").alias("contract_id"),
        pl.format("pro_{}", "project_id").alias("project_id"),
        pl.format("cus_{}", "customer_id").alias("customer_id"),
        pl.format("res_{}", "employee_id").alias("resource_id"),
        pl.lit("time").alias("kind"),
        pl.format("te_{}", "id").alias("source_record_id"),
        pl.col("spent_date").alias("occurred_on"),
        money("hours").alias("quantity"),
        money("rate").alias("rate"),
        (money("hours") * money("rate")).round(2).alias("amount"),
        "currency",
        pl.lit("Services").alias("description"),
        "approved_at",
        "created_at",
        pl.col("created_at").alias("updated_at"),
        "invoice_id",
    )
    invoices = _invoices(event_rows, world)
    return {
        TimeEntryRow: time_rows,
        BillingEventRow: event_rows,
        InvoiceRow: invoices,
        PaymentRow: _payments(invoices, world),
    }


def _invoices(events: pl.DataFrame, world: World) -> pl.DataFrame:
    issued = (
        events.filter(pl.col("invoice_id").is_not_null())
        .group_by("invoice_id")
        .agg(
            pl.col("contract_id", "customer_id", "currency").first(),
            pl.col("amount").sum().round(2).alias("total"),
            pl.col("occurred_on").min().dt.truncate("1mo").alias("period_start"),
        )
    )
    issue = pl.col("period_start").dt.offset_by("1mo")
    created = issue.cast(UTC_TIME) + pl.duration(hours=6)
    return issued.select(
        pl.col("invoice_id").alias("id"),
        pl.col("invoice_id").alias("number"),
        "customer_id",
        "contract_id",
        "currency",
        "period_start",
        pl.col("period_start").dt.month_end().alias("period_end"),
        pl.lit(1).alias("sequence"),
        issue.alias("issue_date"),
        (issue + pl.duration(days=30)).alias("due_date"),
        "total",
        pl.col("total").alias("amount_due"),
        pl.lit("posted").alias("status"),
        pl.lit("[]").alias("lines"),
        created.alias("created_at"),
        (created + pl.duration(hours=2)).alias("posted_at"),
        (created + pl.duration(hours=2)).alias("updated_at"),
    )


def _payments(invoices: pl.DataFrame, world: World) -> pl.DataFrame:
    lateness = pl.DataFrame(
        {
            "customer_id": [f"cus_{c.id}" for c in world.customers],
            "days": [round(c.payment_terms_days + c.days_to_pay_mean) for c in world.customers],
        }
    )
    return (
        invoices.join(lateness, on="customer_id")
        .with_columns(
            (pl.col("issue_date") + pl.duration(days=pl.col("days"))).alias("received_on")
        )
        .filter(pl.col("received_on") <= TODAY)
        .select(
            pl.format("pay_{}", "id").alias("id"),
            pl.format("pay_{}", "id").alias("source_id"),
            pl.col("id").alias("invoice_id"),
            "received_on",
            pl.col("total").alias("amount"),
            "currency",
            pl.col("received_on").cast(UTC_TIME).alias("updated_at"),
            pl.lit("xero").alias("source"),
            pl.lit(1).alias("schema_version"),
        )
    )


def load_firm(store: Engine, world: World) -> int:
    stamp = datetime(2026, 5, 1, tzinfo=UTC)
    frames = reference_frames(world, stamp) | activity_frames(world)
    count = 0
    with transaction(session_factory(store)) as session:
        for table, frame in frames.items():
            for start in range(0, frame.height, 100_000):
                insert_frame(
                    session,
                    table,
                    frame.slice(start, 100_000),
                    json_columns=("lines",) if table is InvoiceRow else (),
                )
            count += frame.height
        newest = frames[TimeEntryRow]["updated_at"].max()
        set_cursor(session, "harvest", "time_entries", newest.isoformat())  # type: ignore[union-attr]
    return count
