"""KPI benchmark: every executive KPI for the ``medium`` and ``large`` firms, from the rollups and
from raw records, in the same run and the same SQLite store.

The firm is written straight into the store tables from the sandbox world with bulk inserts
(``bench/kpis_firm.py``: customers, contracts, projects, people, time off, holidays, every time
entry, a billing event for each approved billable entry priced as the world prices it, one
invoice per contract and closed month posted on the 1st of the next month, and payments as each
customer tends to pay). Then the rollups are built (a full rebuild), one incremental refresh
after 0.1 % of the entries change is timed, and ``executive_kpis`` is timed from the rollups and
from raw records (best of three; the whole set: utilization, realization, WIP, cycle time, DSO,
approvals, unapproved time, margin, flow health and open exceptions, for the period and the
previous one). Then each drilldown
(``metrics.drill.records``) is timed against the first version, which loaded every row and
filtered in polars (``tests/metrics/drill_reference.py``), and revenue leakage is timed.

    python -m bench.kpis [--sizes medium large] [--dir var/bench]

Target: all executive KPIs for ``large`` in under one second from the rollups.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import polars as pl
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, func, select, update

from bench.kpis_firm import TODAY, load_firm
from metrics import drill
from metrics.report import executive_kpis, revenue_leakage
from sandbox.world import build_world
from sync.flows import rollups
from sync.store.db import make_engine, session_factory, transaction
from sync.store.migrate import upgrade
from sync.store.repo import set_cursor
from sync.store.tables import (
    BillingEventRow,
    InvoiceRow,
    PaymentRow,
    RollupBillingRow,
    RollupCapacityRow,
    RollupCycleRow,
    RollupReceivableRow,
    RollupTimeRow,
    TimeEntryRow,
    TimeOffRow,
)
from tests.metrics import drill_reference

console = Console()
T = TypeVar("T")


def timed(action: Callable[[], T]) -> tuple[T, float]:
    start = time.perf_counter()
    result = action()
    return result, time.perf_counter() - start


def best_of(runs: int, action: Callable[[], Any]) -> float:
    return min(timed(action)[1] for _ in range(runs))


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
