"""Backfill benchmark: N approved time entries through flow 3 (time to billable), engine time only.

The Harvest emulator's pages are recorded once, then replayed from memory while the engine runs,
so the figure is the engine's own cost (decode, map, rules, store, events), not the emulator's.
Beside it, in the same run and the same SQLite file: the raw insert rate of the same rows (one
driver-level ``executemany`` into a copy of the table). The ratio is the figure to watch.

    python -m bench.backfill [--entries 100000] [--db var/bench/backfill.db]
"""

from __future__ import annotations

import argparse
import time
from datetime import date
from pathlib import Path
from typing import cast

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import Engine, MetaData, select
from sqlalchemy import Table as SqlTable

from sandbox.server import Sandbox
from sync.engine import Engine as SyncEngine
from sync.settings import Settings
from sync.store.db import make_engine
from sync.store.migrate import upgrade
from sync.store.tables import TimeEntryRow

console = Console()


class Recording(httpx.BaseTransport):
    """Passes requests through and keeps every response body by URL."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.bodies: dict[str, tuple[int, dict[str, str], bytes]] = {}

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        self.bodies[str(request.url)] = (
            response.status_code,
            dict(response.headers),
            response.read(),
        )
        return response


class Replaying(httpx.BaseTransport):
    """Answers from recorded bodies: a vendor that costs nothing."""

    def __init__(self, bodies: dict[str, tuple[int, dict[str, str], bytes]]) -> None:
        self.bodies = bodies

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        status, headers, body = self.bodies[str(request.url)]
        return httpx.Response(status, headers=headers, content=body)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
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
        report(run(box, store))
    finally:
        box.stop()


def run(box: Sandbox, store: Engine) -> dict[str, float]:
    recording = Recording(box.transports()["harvest"])
    engine = SyncEngine(
        Settings(database_url=str(store.url)),
        store,
        transports={"harvest": recording, "xero": box.transports()["xero"]},
    )
    engine.run_flow("reference")
    total = len(box.harvest.entries())
    started = time.perf_counter()
    with engine.context.harvest.client() as client, _progress() as progress:
        task = progress.add_task("recording Harvest pages", total=total)
        for page in engine.context.harvest.pages(client, "time_entries"):
            progress.advance(task, len(page))
    paging = time.perf_counter() - started
    engine.context.harvest._transport = Replaying(recording.bodies)
    started = time.perf_counter()
    with console.status("Backfilling through flow 3 (rules, billing events, exceptions)…"):
        result = engine.run_flow("billable")
    flow = time.perf_counter() - started
    assert result.status == "succeeded", result.error
    raw, rows = raw_insert_seconds(store)
    return {
        "entries": float(result.result.records_in),
        "flow_s": flow,
        "paging_s": paging,
        "raw_s": raw,
        "raw_rows": float(rows),
        "events": float(result.result.records_out),
    }


def raw_insert_seconds(store: Engine) -> tuple[float, int]:
    """Insert the stored time entry rows again, plainly, into a copy of their table."""
    source = cast(SqlTable, TimeEntryRow.__table__)
    copy = source.to_metadata(MetaData(), name="time_entries_raw")
    copy.create(store, checkfirst=True)
    with store.connect() as conn:
        rows = [tuple(r) for r in conn.exec_driver_sql(f"SELECT * FROM {source.name}")]
    columns = [c.name for c in select(source).selected_columns]
    sql = (
        f"INSERT INTO {copy.name} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"
    )
    started = time.perf_counter()
    with store.begin() as conn:
        conn.exec_driver_sql(sql, rows)
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
    table.add_row(
        "through flow 3 (engine time)", f"{flow_rate:,.0f} entries/s ({f['flow_s']:.2f} s)"
    )
    table.add_row("emulator serving pages", f"{f['entries'] / f['paging_s']:,.0f} entries/s")
    table.add_row("raw insert of the same rows", f"{raw_rate:,.0f} rows/s ({f['raw_s']:.2f} s)")
    table.add_row("flow ÷ raw insert", f"{flow_rate / raw_rate:.1%}")
    console.print(table)


if __name__ == "__main__":
    main()
