"""``plan2cash sync``, ``run`` and ``worker``: the engine, once, on its schedule, or as workers.

The alert evaluation runs beside the flows every ``alerts.evaluate_seconds``: a job of the
scheduler on SQLite, a periodic task of the work queue on PostgreSQL (once per tick across every
worker). ``sync`` knows nothing of alerts, so the job is added here.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import UTC, datetime
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
    workers: Annotated[
        int, typer.Option(help="PostgreSQL: also run flow runs here, up to N at once")
    ] = 0,
    config: ConfigOption = None,
) -> None:
    """Run every flow on its schedule until interrupted.

    On SQLite this process runs the flows itself. On PostgreSQL it defers flow runs on the
    schedule (procrastinate periodic tasks: any number of processes may defer, each tick is
    deferred once) for `plan2cash worker` processes to run; --workers N also runs up to N flow
    runs at once in this process."""
    from sync.engine import Engine
    from sync.queue import add_periodic, build_app, defer_on_schedule, run_workers
    from sync.scheduler import build_scheduler
    from sync.telemetry import install

    settings = load_config(config)
    store = open_store(settings)
    install(store, otlp_endpoint=settings.telemetry.otlp_endpoint)
    evaluation = alert_evaluation(settings, store)
    if store.dialect.name != "postgresql":
        scheduler = build_scheduler(
            Engine(settings, store), settings.schedule, blocking=True, extra_jobs=[evaluation]
        )
        console.print("Engine running (SQLite: one process runs every flow); Ctrl-C stops it.")
        with contextlib.suppress(KeyboardInterrupt, SystemExit):
            scheduler.start()
        return
    if workers < 1:
        console.print(
            "Deferring flow runs on the schedule (PostgreSQL: `plan2cash worker` processes "
            "run them); Ctrl-C stops."
        )
        deferring = build_app(store, schedule=settings.schedule)
        add_periodic(deferring, evaluation.id, evaluation.seconds, evaluation.run)
        with contextlib.suppress(KeyboardInterrupt):
            defer_on_schedule(deferring)
        return
    engine = Engine(settings, store)
    app = build_app(store, schedule=settings.schedule, run_flow=engine.run_flow)
    add_periodic(app, evaluation.id, evaluation.seconds, evaluation.run)
    console.print(
        f"Deferring flow runs on the schedule and running up to {workers} at once here; "
        "Ctrl-C stops (running flows finish first)."
    )
    with contextlib.suppress(KeyboardInterrupt):
        run_workers(app, concurrency=workers)


def worker(
    idle_seconds: Annotated[
        float, typer.Option(help="Longest pause between looks at the queue")
    ] = 1.0,
    concurrency: Annotated[int, typer.Option(help="Flow runs at once in this process")] = 1,
    config: ConfigOption = None,
) -> None:
    """Run queued flow runs (PostgreSQL; a procrastinate worker). Start as many as you like:
    a flow never runs twice at once, and a stopped worker's run is retried by another."""
    settings = load_config(config)
    store = open_store(settings)
    if store.dialect.name != "postgresql":
        err.print(
            "Workers need PostgreSQL (set database_url); on SQLite `plan2cash run` "
            "runs every flow in one process."
        )
        raise typer.Exit(2)
    from sync.engine import Engine
    from sync.queue import add_periodic, build_app, run_workers
    from sync.telemetry import install

    install(store, otlp_endpoint=settings.telemetry.otlp_endpoint)
    evaluation = alert_evaluation(settings, store)
    engine = Engine(settings, store)
    app = build_app(store, schedule=settings.schedule, run_flow=engine.run_flow)
    add_periodic(app, evaluation.id, evaluation.seconds, evaluation.run)
    console.print("Worker waiting for flow runs; Ctrl-C stops it (running flows finish first).")
    with contextlib.suppress(KeyboardInterrupt):
        run_workers(app, concurrency=max(1, concurrency), idle_seconds=idle_seconds)


def alert_evaluation(
    settings: Settings, store: Any, clock: Callable[[], datetime] | None = None
) -> Any:
    """The alert evaluation as a :class:`sync.scheduler.ScheduledJob` at ``clock()`` (the wall
    clock by default); a bad rule or route exits here, naming it, before anything starts."""
    import alerts
    from sync.scheduler import ScheduledJob

    check_alerts(settings)
    job = alerts.evaluation_job(store, settings, clock or (lambda: datetime.now(UTC)))
    return ScheduledJob("alerts", "alert evaluation", settings.alerts.evaluate_seconds, job.tick)


def check_alerts(settings: Settings) -> Any:
    """The rules in force; one line naming the rule or key at fault, exit 2, when one is bad."""
    import alerts

    try:
        return alerts.check(settings)
    except (alerts.RuleError, alerts.AlertsConfigError) as exc:
        err.print(f"[red]Alerts:[/red] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(2) from exc
