"""KPI benchmark: every executive KPI for the ``medium`` and ``large`` firms, from the rollups and
from raw records, in the same run and the same SQLite store.

The firm is written straight into the store tables from the sandbox world with bulk inserts (a
benchmark fixture: the engine's own speed is measured by ``bench/backfill.py``): customers,
contracts, projects, people, time off, holidays, every time entry, a billing event for each
approved billable entry priced as the world prices it, one invoice per contract and closed month
posted on the 1st of the next month, and payments as each customer tends to pay. Then the rollups
are built (a full rebuild), one incremental refresh after 0.1 % of the entries change is timed,
and ``executive_kpis`` is timed from the rollups and from raw records (best of three; the whole
set: utilization, realization, WIP, cycle time, DSO, approvals, unapproved time, margin, flow
health and open exceptions, for the period and the previous one). Then each drilldown
(``metrics.drill.records``) is timed against the first version, which loaded every row and
filtered in polars (``tests/metrics/drill_reference.py``), and revenue leakage is timed.

    python -m bench.kpis [--sizes medium large] [--dir var/bench]

Target: all executive KPIs for ``large`` in under one second from the rollups.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import polars as pl
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, func, select, update

from metrics import drill
from metrics.report import executive_kpis, revenue_leakage
from sandbox.world import World, build_world
from sandbox.world.pricing import priced
from sync.flows import rollups
from sync.store.db import insert_frame, make_engine, session_factory, transaction
from sync.store.migrate import upgrade
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
    RollupBillingRow,
    RollupCapacityRow,
    RollupCycleRow,
    RollupReceivableRow,
    RollupTimeRow,
    TimeEntryRow,
    TimeOffRow,
)
from tests.metrics import drill_reference

TODAY = date(2026, 11, 25)
UTC_TIME = pl.Datetime("us", "UTC")
console = Console()
T = TypeVar("T")


def timed(action: Callable[[], T]) -> tuple[T, float]:
    start = time.perf_counter()
    result = action()
    return result, time.perf_counter() - start


def best_of(runs: int, action: Callable[[], Any]) -> float:
    return min(timed(action)[1] for _ in range(runs))


# --- the fixture: the world's records as store rows ------------------------------------------


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


# --- the measurements --------------------------------------------------------------------------


def change_entries(store: Engine, share: float) -> int:
    """Edit ``share`` of the time entries (hours and stamp), as a sync would store them."""
    with transaction(session_factory(store)) as session:
        total = session.scalar(select(func.count()).select_from(TimeEntryRow)) or 0
        step = max(1, round(1 / share))
        ids = session.scalars(
            select(TimeEntryRow.id).where(TimeEntryRow.id.like("te_%")).order_by(TimeEntryRow.id)
        ).all()[::step]
        moment = datetime(2026, 11, 25, 12, tzinfo=UTC)
        for start in range(0, len(ids), 500):
            session.execute(
                update(TimeEntryRow)
                .where(TimeEntryRow.id.in_(ids[start : start + 500]))
                .values(hours=TimeEntryRow.hours + 1, updated_at=moment)
            )
        set_cursor(session, "harvest", "time_entries", moment.isoformat())
    return len(ids) if total else 0


def measure(size: str, folder: Path) -> dict[str, Any]:
    path = folder / f"kpis-{size}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    store = make_engine(f"sqlite:///{path}")
    upgrade(store)
    with console.status(f"{size}: generating the firm…"):
        world, build_s = timed(lambda: build_world(seed=7, size=size, today=TODAY))
    with console.status(f"{size}: loading {world.time_entries.height:,} time entries…"):
        rows, load_s = timed(lambda: load_firm(store, world))
    sessions = session_factory(store)

    def refresh() -> rollups.FlowResult:
        with transaction(sessions) as session:
            return rollups.refresh(session, today=TODAY)

    with console.status(f"{size}: building the rollups…"):
        _, rebuild_s = timed(refresh)
    changed = change_entries(store, 0.001)
    with console.status(f"{size}: refreshing after {changed:,} entries changed…"):
        incremental, refresh_s = timed(refresh)
    with store.connect() as connection:
        facts = {
            t.__tablename__: connection.scalar(select(func.count()).select_from(t)) or 0
            for t in (
                RollupTimeRow,
                RollupBillingRow,
                RollupCapacityRow,
                RollupCycleRow,
                RollupReceivableRow,
            )
        }
        raw = {
            t.__tablename__: connection.scalar(select(func.count()).select_from(t)) or 0
            for t in (TimeEntryRow, BillingEventRow, InvoiceRow, PaymentRow, TimeOffRow)
        }

        def run(source: str, by: str | None = None) -> Any:
            return executive_kpis(connection, as_of=TODAY, source=source, by=by)  # type: ignore[arg-type]

        with console.status(f"{size}: computing the KPIs…"):
            timings = {
                "rollups": best_of(3, lambda: run("rollups")),
                "rollups by region": best_of(3, lambda: run("rollups", "region")),
                "rollups by person": best_of(3, lambda: run("rollups", "person")),
                "raw": best_of(1, lambda: run("raw")),
                "raw by region": best_of(1, lambda: run("raw", "region")),
            }
        headline = run("rollups").headline
        with console.status(f"{size}: drilling down…"):
            drills = drilldowns(connection)
            leakage_s = best_of(3, lambda: revenue_leakage(connection, as_of=TODAY))
    store.dispose()
    return {
        "size": size,
        "entries": world.time_entries.height,
        "rows": rows,
        "build_s": build_s,
        "load_s": load_s,
        "rebuild_s": rebuild_s,
        "changed": changed,
        "refresh_s": refresh_s,
        "refresh_cells": incremental.records_out,
        "facts": facts,
        "raw": raw,
        "timings": timings,
        "headline": headline,
        "drills": drills,
        "leakage_s": leakage_s,
    }


DRILLS: tuple[tuple[drill.Kpi, dict[str, Any]], ...] = (
    ("wip", {}),
    ("wip", {"bucket": "0–30"}),
    ("cycle_time", {}),
    ("utilization", {}),
    ("approvals", {}),
    ("unapproved", {}),
    ("realization", {}),
    ("dso", {}),
)


def drilldowns(connection: Any) -> dict[str, tuple[float, float, int]]:
    """Per cell: seconds with the filters in SQL, seconds loading every row, rows."""
    out = {}
    for kpi, cell in DRILLS:
        pushed_read = partial(drill.records, connection, kpi, as_of=TODAY, **cell)
        rows = pushed_read()
        pushed = best_of(3, pushed_read)
        loaded = best_of(1, partial(drill_reference.records, connection, kpi, as_of=TODAY, **cell))
        label = kpi + (f" {cell['bucket']}" if "bucket" in cell else "")
        out[label] = (pushed, loaded, rows.height)
    return out


def report(results: list[dict[str, Any]]) -> None:
    table = Table(title=f"Executive KPIs as of {TODAY} (SQLite, one process, best of 3)")
    table.add_column("measure")
    for r in results:
        table.add_column(r["size"], justify="right")

    def row(label: str, render: Callable[[dict[str, Any]], str]) -> None:
        table.add_row(label, *(render(r) for r in results))

    row("time entries", lambda r: f"{r['entries']:,}")
    row("raw rows the KPIs read", lambda r: f"{sum(r['raw'].values()):,} rows")
    row("rollup rows", lambda r: f"{sum(r['facts'].values()):,} rows")
    row("store loaded (fixture)", lambda r: f"{r['load_s']:.1f} s ({r['rows']:,} rows)")
    row("rollups built (full rebuild)", lambda r: f"{r['rebuild_s']:.1f} s")
    row(
        "incremental refresh, 0.1 % entries edited",
        lambda r: (
            f"{r['refresh_s']:.2f} s ({r['changed']:,} entries, {r['refresh_cells']:,} cells)"
        ),
    )
    for name in results[0]["timings"]:
        row(
            f"all executive KPIs from {name}", lambda r, n=name: f"{r['timings'][n] * 1000:,.0f} ms"
        )
    row(
        "raw ÷ rollups",
        lambda r: f"{r['timings']['raw'] / r['timings']['rollups']:,.1f}×",
    )
    row(
        "target: large < 1 s from rollups",
        lambda r: (
            ("met" if r["timings"]["rollups"] < 1 else "MISSED") if r["size"] == "large" else "—"
        ),
    )
    row("revenue leakage (raw, 400 days)", lambda r: f"{r['leakage_s'] * 1000:,.0f} ms")
    console.print(table)
    drills = Table(title=f"Drilldown as of {TODAY}: filters in SQL vs every row loaded")
    drills.add_column("cell")
    for r in results:
        drills.add_column(r["size"], justify="right")
    for cell in results[0]["drills"]:
        drills.add_row(
            cell,
            *(
                "{:,.0f} ms vs {:,.0f} ms ({:,} rows)".format(
                    r["drills"][cell][0] * 1000, r["drills"][cell][1] * 1000, r["drills"][cell][2]
                )
                for r in results
            ),
        )
    console.print(drills)
    for r in results:
        console.print(f"[bold]{r['size']}[/bold] rollup rows: {r['facts']}")
        headline = r["headline"].filter(
            pl.col("currency").is_null() | (pl.col("currency") == "USD")
        )
        console.print(headline)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["medium", "large"])
    parser.add_argument("--dir", type=Path, default=Path("var/bench"))
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    report([measure(size, args.dir) for size in args.sizes])


if __name__ == "__main__":
    main()
