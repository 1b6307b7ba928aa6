"""Backfill benchmark: N approved time entries through the whole time-to-billable flow.

Prints entries per second through the flow (Harvest emulator pages → decode → polars rules →
store) next to the raw insert rate of the same rows into the same SQLite file, measured in the
same run; the ratio is the figure to watch. Also prints the rate of paging alone, so the cost of
the emulator (which a real Harvest would not charge us) is visible.

    python -m bench.backfill [--entries 100000] [--db var/bench/backfill.db]
"""

from __future__ import annotations

import argparse
import time
from datetime import date
from pathlib import Path
from typing import cast

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import Engine, MetaData, delete, insert, select
from sqlalchemy import Table as SqlTable

from sandbox.server import Sandbox
from sync.engine import Engine as SyncEngine
from sync.settings import Settings
from sync.store.db import make_engine
from sync.store.migrate import upgrade
from sync.store.tables import TimeEntryRow

console = Console()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--db", type=Path, default=Path("var/bench/backfill.db"))
    args = parser.parse_args()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{args.db}{suffix}").unlink(missing_ok=True)
    store = make_engine(f"sqlite:///{args.db}")
    upgrade(store)
    with console.status(f"Generating a firm with {args.entries:,} extra approved entries…"):
        box = Sandbox(seed=7, today=date(2026, 11, 25), extra_entries=args.entries)
    try:
        figures = run(box, store)
    finally:
        box.stop()
    report(figures)


def run(box: Sandbox, store: Engine) -> dict[str, float]:
    engine = SyncEngine(Settings(database_url=str(store.url)), store, transports=box.transports())
    total = len(box.harvest.entries())
    engine.run_flow("reference")
    started = time.perf_counter()
    with engine.context.harvest.client() as client, _progress() as progress:
        task = progress.add_task("paging only", total=total)
        for page in engine.context.harvest.pages(client, "time_entries"):
            progress.advance(task, len(page))
    paging = time.perf_counter() - started
    started = time.perf_counter()
    with console.status("Backfilling through the flow (rules, billing events, exceptions)…"):
        report = engine.run_flow("billable")
    flow = time.perf_counter() - started
    assert report.status == "succeeded", report.error
    raw, rows = raw_insert_seconds(store)
    return {
        "entries": float(report.result.records_in),
        "flow_s": flow,
        "paging_s": paging,
        "raw_s": raw,
        "raw_rows": float(rows),
        "events": float(report.result.records_out),
    }


def raw_insert_seconds(store: Engine) -> tuple[float, int]:
    """Insert the stored time entry rows again, plainly, into a copy of their table."""
    copy = cast(SqlTable, TimeEntryRow.__table__).to_metadata(MetaData(), name="time_entries_raw")
    copy.create(store, checkfirst=True)
    with store.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(select(TimeEntryRow.__table__))]
    started = time.perf_counter()
    with store.begin() as conn:
        conn.execute(delete(copy))
        conn.execute(insert(copy), rows)
    seconds = time.perf_counter() - started
    copy.drop(store)
    return seconds, len(rows)


def _progress() -> Progress:
    return Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


def report(f: dict[str, float]) -> None:
    flow_rate = f["entries"] / f["flow_s"]
    raw_rate = f["raw_rows"] / f["raw_s"]
    table = Table(title="Backfill: approved time → billing events (SQLite, one process)")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("time entries backfilled", f"{f['entries']:,.0f}")
    table.add_row("billing events created", f"{f['events']:,.0f}")
    table.add_row("through the flow", f"{flow_rate:,.0f} entries/s ({f['flow_s']:.2f} s)")
    table.add_row("paging the emulator only", f"{f['entries'] / f['paging_s']:,.0f} entries/s")
    table.add_row("raw insert of the same rows", f"{raw_rate:,.0f} rows/s ({f['raw_s']:.2f} s)")
    table.add_row("flow ÷ raw insert", f"{flow_rate / raw_rate:.1%}")
    console.print(table)


if __name__ == "__main__":
    main()
