"""``plan2cash sync``, ``run`` and ``worker``: the engine, once, on its schedule, or as workers."""

from __future__ import annotations

import contextlib
import threading
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from app.cli.common import ConfigOption, console, err, load_config, open_store
from app.cli.failures import SANDBOX_HINT, VENDOR_HINT
from sync.settings import Mode, Settings


def sync(
    once: Annotated[bool, typer.Option("--once", help="Run every flow once and exit.")] = False,
    flow: Annotated[list[str] | None, typer.Option(help="Only these flows.")] = None,
    config: ConfigOption = None,
) -> None:
    """Run the sync flows once (use `plan2cash run` for the schedule)."""
    from sync.engine import FLOWS, Engine
    from sync.telemetry import flush, install

    if not once:
        err.print(
            "Use [bold]--once[/bold] to run every flow once, or `plan2cash run` to run "
            "them on the schedule."
        )
        raise typer.Exit(2)
    settings = load_config(config)
    store = open_store(settings)
    install(store, otlp_endpoint=settings.telemetry.otlp_endpoint)
    engine = Engine(settings, store)
    unknown = set(flow or []) - set(FLOWS)
    if unknown:
        err.print(
            f"[red]Unknown flow(s):[/red] {', '.join(sorted(unknown))}; "
            f"choose from {', '.join(FLOWS)}."
        )
        raise typer.Exit(2)
    reports = [engine.run_flow(name) for name in (flow or list(FLOWS))]
    flush()
    print_reports(reports)
    if any(r.status == "failed" for r in reports):
        if any("ConnectError" in (r.error or "") for r in reports):
            err.print(f"A vendor could not be reached. {_unreachable_hint(settings)}")
        raise typer.Exit(1)


def _unreachable_hint(settings: Settings) -> str:
    return SANDBOX_HINT if settings.mode is Mode.SANDBOX else VENDOR_HINT


def print_reports(reports: list[Any]) -> None:
    """One table row per flow run: status, records in and out, exceptions, what failed."""
    table = Table(title="Sync run")
    for column in ("flow", "status", "records in", "records out", "exceptions", "detail"):
        table.add_column(column)
    for r in reports:
        colour = {"succeeded": "green", "failed": "red"}.get(r.status, "yellow")
        table.add_row(
            r.flow,
            f"[{colour}]{r.status}[/{colour}]",
            str(r.result.records_in),
            str(r.result.records_out),
            str(r.result.exceptions),
            escape(r.error or ""),
        )
    console.print(table)


def run(
    workers: Annotated[int, typer.Option(help="PostgreSQL: also run N workers here")] = 0,
    config: ConfigOption = None,
) -> None:
    """Run every flow on its schedule until interrupted.

    On SQLite this process runs the flows itself. On PostgreSQL it is the scheduler: it takes
    the leader lock (a second scheduler waits for it) and enqueues flow runs that
    `plan2cash worker` processes pick up; --workers N also runs N workers in this process."""
    from sync.engine import Engine
    from sync.scheduler import build_enqueuer, build_scheduler
    from sync.store.db import session_factory
    from sync.telemetry import install
    from sync.workqueue import leadership

    settings = load_config(config)
    store = open_store(settings)
    install(store, otlp_endpoint=settings.telemetry.otlp_endpoint)
    if store.dialect.name != "postgresql":
        scheduler = build_scheduler(Engine(settings, store), settings.schedule, blocking=True)
        console.print("Engine running (SQLite: one process runs every flow); Ctrl-C stops it.")
        with contextlib.suppress(KeyboardInterrupt, SystemExit):
            scheduler.start()
        return
    stop = start_workers(settings, store, workers)
    console.print("Waiting to become the scheduler (leader)…")
    try:
        with leadership(store) as leading:
            if leading:
                console.print(f"Scheduler running with {workers} local worker(s); Ctrl-C stops.")
                enqueuer = build_enqueuer(session_factory(store), settings.schedule, blocking=True)
                with contextlib.suppress(KeyboardInterrupt, SystemExit):
                    enqueuer.start()
    finally:
        stop.set()


def worker(
    idle_seconds: Annotated[float, typer.Option(help="Pause when the queue is empty")] = 1.0,
    config: ConfigOption = None,
) -> None:
    """Claim and run queued flow runs (PostgreSQL). Start as many as you like."""
    settings = load_config(config)
    store = open_store(settings)
    if store.dialect.name != "postgresql":
        err.print(
            "Workers need PostgreSQL (set database_url); on SQLite `plan2cash run` "
            "runs every flow in one process."
        )
        raise typer.Exit(2)
    from sync.engine import Engine
    from sync.store.db import session_factory
    from sync.telemetry import install
    from sync.workqueue import work

    install(store, otlp_endpoint=settings.telemetry.otlp_endpoint)
    engine = Engine(settings, store)
    console.print("Worker waiting for flow runs; Ctrl-C stops it.")
    with contextlib.suppress(KeyboardInterrupt):
        work(session_factory(store), engine.run_flow, idle_seconds=idle_seconds)


def start_workers(settings: Settings, store: Any, count: int) -> threading.Event:
    """``count`` worker threads on ``store``; setting the returned event stops them."""
    from sync.engine import Engine
    from sync.store.db import session_factory
    from sync.workqueue import work

    stop = threading.Event()
    for _ in range(count):
        engine = Engine(settings, store)
        threading.Thread(
            target=work,
            args=(session_factory(store), engine.run_flow),
            kwargs={"stop": stop},
            daemon=True,
        ).start()
    return stop
