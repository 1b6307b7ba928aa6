"""Flow 3 benchmark (issue 5): backfill throughput, and the cost of an incremental run.

For the sandbox's ``medium`` firm (~200,000 Harvest time entries, seed 7), on SQLite:

1. **Backfill**: every time entry through flow 3 (time to billable: decode, map, rules against
   reference data and history, time entries, billing events, exceptions, business events) on an
   empty store — entries per second, engine time only. The Harvest emulator's pages are recorded
   once and replayed from memory, so the emulator's cost is excluded. The backfill runs
   ``--runs`` times, each on a fresh copy of the store as the reference data left it, and the
   median run is reported (a shared machine's other load moves a single run by ±10%). Beside
   it, in the same process and SQLite file: the raw insert rate of the same rows (one
   driver-level ``executemany`` per table, in one transaction, into copies of the tables with
   their indexes).
2. **Incremental**: 1% of the entries change in Harvest (half get their hours edited, half are
   approved or, when already approved, edited), the changed pages are recorded and replayed, and
   flow 3 runs again from its cursor: seconds, and the share of the backfill's time.

    python -m bench.backfill [--size medium] [--runs 3] [--change 0.01] [--db var/bench/backfill.db]

Figures only, no pass/fail; the machine's other load shows in wall time, so CPU seconds are
printed beside it. ``python -m bench.workers`` measures one vs two workers on PostgreSQL.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import cast

import httpx
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, MetaData
from sqlalchemy import Table as SqlTable
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import quoted_name

from collectors import harvest
from collectors.harvest.connector import MAX_PER_PAGE
from collectors.pacing import Pacer
from sandbox.server import Sandbox
from sync.engine import Engine as SyncEngine
from sync.engine import RunReport
from sync.settings import Settings
from sync.store.db import make_engine
from sync.store.migrate import upgrade
from sync.store.repo import get_cursor
from sync.store.tables import BillingEventRow, BusinessEventRow, TimeEntryRow

console = Console(width=110)
TODAY = date(2026, 11, 25)
Bodies = dict[str, tuple[int, dict[str, str], bytes]]


class Recording(httpx.BaseTransport):
    """Passes requests through and keeps every response body by URL."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.bodies: Bodies = {}

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        self.bodies[str(request.url)] = (
            response.status_code,
            dict(response.headers),
            response.read(),
        )
        return response


class Replaying(httpx.BaseTransport):
    """Answers from recorded bodies: a vendor that costs nothing. A request that was not recorded
    fails the benchmark (it would otherwise measure the emulator)."""

    def __init__(self, bodies: Bodies) -> None:
        self.bodies = bodies

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        status, headers, body = self.bodies[str(request.url)]
        return httpx.Response(status, headers=headers, content=body)


@dataclass(frozen=True)
class Timed:
    """One flow run: its report, wall seconds and this process's CPU seconds."""

    report: RunReport
    wall: float
    cpu: float

    @property
    def entries(self) -> int:
        return self.report.result.records_in


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--size", default="medium", choices=["tiny", "small", "medium", "large"])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--runs", type=int, default=3, help="backfills, the median reported")
    parser.add_argument("--change", type=float, default=0.01, help="share of entries changed")
    parser.add_argument("--db", type=Path, default=Path("var/bench/backfill.db"))
    args = parser.parse_args()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{args.db}{suffix}").unlink(missing_ok=True)
    store = make_engine(f"sqlite:///{args.db}")
    upgrade(store)
    with console.status(f"Generating the {args.size} firm…"):
        box = Sandbox(seed=args.seed, today=TODAY, size=args.size)
    try:
        engine = engine_for(box, store)
        with console.status("Reference data (flow 2's part that flow 3 needs)…"):
            engine.run_flow("reference")
        backfills, paging, engine, store = backfill_runs(engine, store, box, args.db, args.runs)
        raw_seconds, raw_rows = raw_insert_seconds(store)
        changed = change_entries(box, args.change, seed=args.seed)
        incremental = incremental_run(engine, store)
    finally:
        box.stop()
    report(args.size, backfills, paging, raw_seconds, raw_rows, changed, incremental)


def engine_for(box: Sandbox, store: Engine) -> SyncEngine:
    transports = box.transports()
    return SyncEngine(
        Settings(database_url=str(store.url)),
        store,
        transports={"harvest": transports["harvest"], "xero": transports["xero"]},
    )


def record(engine: SyncEngine, live: httpx.BaseTransport, since: str | None) -> tuple[Bodies, int]:
    """Read the pages flow 3 will ask for (``since`` = its cursor less the lag) from the live
    emulator once, keeping the bodies; returns them and the number of entries."""
    recording = Recording(live)
    connector = engine.context.harvest
    connector._transport = recording
    parsed = harvest.parse_datetime(since)
    lag = timedelta(seconds=engine.context.settings.billing.cursor_lag_seconds)
    entries = 0
    with connector.client() as client:
        for page in connector.time_entry_pages(client, parsed - lag if parsed else None):
            entries += len(page)
    connector._transport = Replaying(recording.bodies)
    # the replay is engine time only: Harvest's request limit paces the real vendor, not the
    # engine (recording just spent the window's budget, so the live pacer would make the timed
    # run wait seconds for nothing); ``harvest_ceiling`` reports what the limit allows live
    connector.pacer = Pacer()
    return recording.bodies, entries


def timed_flow(engine: SyncEngine) -> Timed:
    wall, cpu = time.perf_counter(), time.process_time()
    report = engine.run_flow("billable")
    timed = Timed(report, time.perf_counter() - wall, time.process_time() - cpu)
    assert report.status == "succeeded", report.error
    return timed


def backfill_runs(
    engine: SyncEngine, store: Engine, box: Sandbox, db: Path, runs: int
) -> tuple[list[Timed], float, SyncEngine, Engine]:
    """The backfill ``runs`` times over the same recorded pages, each on a fresh copy of the
    store as the reference data left it; returns the runs, the seconds the emulator took to
    serve the pages, and the engine and store of the last run (which hold the backfill)."""
    live = cast(httpx.BaseTransport, engine.context.harvest._transport)
    template = db.with_name(f"{db.stem}-reference{db.suffix}")
    _copy_store(store, db, template)
    started = time.perf_counter()
    with console.status("Recording the Harvest emulator's pages…"):
        bodies, _ = record(engine, live, None)
    paging = time.perf_counter() - started
    timed: list[Timed] = []
    for n in range(max(1, runs)):
        if n:
            store.dispose()
            _copy_store(None, template, db)
            store = make_engine(f"sqlite:///{db}")
            engine = engine_for(box, store)
            engine.context.harvest._transport = Replaying(bodies)
            engine.context.harvest.pacer = Pacer()
        with console.status(f"Backfill through flow 3 (run {n + 1} of {runs})…"):
            timed.append(timed_flow(engine))
    engine.context.harvest._transport = live
    template.unlink()
    return timed, paging, engine, store


def _copy_store(store: Engine | None, source: Path, target: Path) -> None:
    """Copy a SQLite store file (its WAL folded in first when ``store`` is open on it)."""
    if store is not None:
        with store.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    for suffix in ("-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(source, target)


def harvest_ceiling(settings: Settings) -> float:
    """Entries per second Harvest's published limit allows a live backfill: full pages at the
    limit's pace."""
    return settings.harvest.requests_per_15s * min(settings.harvest.per_page, MAX_PER_PAGE) / 15


def change_entries(box: Sandbox, share: float, *, seed: int) -> int:
    """Change ``share`` of the entries in Harvest: hours edited on half, approval on the rest
    (an entry already approved gets its hours edited instead)."""
    emulator = box.harvest
    entries = emulator.entries()
    picked = random.Random(seed).sample(entries, max(1, round(len(entries) * share)))
    for n, entry in enumerate(picked):
        if n % 2 == 0 or entry.get("is_closed"):
            emulator.edit_entry(entry["id"], hours=float(entry["hours"]) + 0.25)
        else:
            emulator.approve_entry(entry["id"])
    return len(picked)


def incremental_run(engine: SyncEngine, store: Engine) -> Timed:
    live = cast(httpx.BaseTransport, engine.context.harvest._transport)
    with Session(store) as session:
        cursor = get_cursor(session, "harvest", "time_entries")
    with console.status("Recording the changed pages…"):
        record(engine, live, cursor)
    with console.status("Incremental run of flow 3…"):
        return timed_flow(engine)


RAW_TABLES = (TimeEntryRow, BillingEventRow, BusinessEventRow)


def raw_insert_seconds(store: Engine) -> tuple[dict[str, float], dict[str, int]]:
    """Insert the rows flow 3 stored again, plainly, into copies of their tables (same columns,
    same indexes), one ``executemany`` per table in one transaction; seconds and rows by table."""
    seconds: dict[str, float] = {}
    counts: dict[str, int] = {}
    for row_type in RAW_TABLES:
        source = cast(SqlTable, row_type.__table__)
        copy = _copy_of(source)
        copy.create(store)
        with store.connect() as conn:
            rows = [tuple(r) for r in conn.exec_driver_sql(f"SELECT * FROM {source.name}")]
        columns = ", ".join(c.name for c in source.columns)
        markers = ", ".join("?" for _ in source.columns)
        sql = f"INSERT INTO {copy.name} ({columns}) VALUES ({markers})"
        started = time.perf_counter()
        with store.begin() as conn:
            conn.exec_driver_sql(sql, rows)
        seconds[source.name] = time.perf_counter() - started
        counts[source.name] = len(rows)
        copy.drop(store)
    return seconds, counts


def _copy_of(source: SqlTable) -> SqlTable:
    name = f"{source.name}_raw"
    copy = source.to_metadata(MetaData(), name=name)
    for constraint in copy.foreign_key_constraints:  # a raw insert checks no other table
        copy.constraints.discard(constraint)
    for column in copy.columns:
        column.foreign_keys.clear()
    for index in copy.indexes:
        index.name = quoted_name(f"{index.name}_raw", None)
    return copy


def report(
    size: str,
    backfills: list[Timed],
    paging: float,
    raw_seconds: dict[str, float],
    raw_rows: dict[str, int],
    changed: int,
    incremental: Timed,
) -> None:
    backfill = sorted(backfills, key=lambda run: run.wall)[len(backfills) // 2]  # the median
    entries = backfill.entries
    rate = entries / backfill.wall
    raw_entries = raw_rows["time_entries"] / raw_seconds["time_entries"]
    all_raw = sum(raw_seconds.values())
    rows = [
        ("time entries backfilled", f"{entries:,}"),
        ("billing events created", f"{backfill.report.result.records_out:,}"),
        ("exceptions opened", f"{backfill.report.result.exceptions:,}"),
        (
            "backfill through flow 3",
            f"{rate:,.0f} entries/s ({backfill.wall:.2f} s wall, {backfill.cpu:.2f} s CPU)",
        ),
        ("  by CPU time", f"{entries / backfill.cpu:,.0f} entries/s"),
        (
            f"  every run ({len(backfills)}, median above)",
            ", ".join(f"{entries / run.wall:,.0f}" for run in backfills)
            + f" entries/s (spread {_spread(backfills):.0%})",
        ),
        (
            "raw insert of the same time entry rows",
            f"{raw_entries:,.0f} rows/s ({raw_seconds['time_entries']:.2f} s)",
        ),
        (
            "raw insert of every row flow 3 wrote",
            f"{sum(raw_rows.values()):,} rows in {all_raw:.2f} s "
            f"= {entries / all_raw:,.0f} entries/s",
        ),
        ("flow ÷ raw insert (time entry rows)", f"{rate / raw_entries:.1%}"),
        ("emulator serving the pages (excluded)", f"{entries / paging:,.0f} entries/s"),
        (
            "Harvest's rate limit, live (excluded)",
            f"{harvest_ceiling(Settings()):,.0f} entries/s at most",
        ),
        ("entries changed in Harvest", f"{changed:,} ({changed / entries:.1%})"),
        (
            "incremental run",
            f"{incremental.entries:,} entries read, {incremental.wall:.2f} s wall, "
            f"{incremental.cpu:.2f} s CPU",
        ),
        (
            "incremental ÷ backfill",
            f"{incremental.wall / backfill.wall:.1%} of the time for "
            f"{changed / entries:.1%} of the entries",
        ),
    ]
    table = Table(title=f"Flow 3 on SQLite — the {size} firm (engine time; emulator replayed)")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for measure, value in rows:
        table.add_row(measure, value)
    console.print(table)


def _spread(runs: list[Timed]) -> float:
    walls = [run.wall for run in runs]
    return (max(walls) - min(walls)) / statistics.median(walls)


if __name__ == "__main__":
    main()
