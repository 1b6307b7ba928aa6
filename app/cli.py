"""The ``plan2cash`` command line: the store, the engine, the sandbox and the demo."""

from __future__ import annotations

import contextlib
import json
import logging
import signal
import subprocess
import threading
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from sync.settings import Settings, load_settings

app = typer.Typer(
    help="plan2cash: keep planning-to-cash in sync and in view.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
db_app = typer.Typer(help="The store's schema.", no_args_is_help=True)
exceptions_app = typer.Typer(help="Records that could not flow.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(exceptions_app, name="exceptions")
sandbox_app = typer.Typer(help="The simulated firm and its vendor APIs.", no_args_is_help=True)
app.add_typer(sandbox_app, name="sandbox")
console = Console()
err = Console(stderr=True)

ConfigOption = Annotated[
    Path | None, typer.Option("--config", "-c", help="TOML configuration file")
]


def _settings(config: Path | None) -> Settings:
    try:
        return load_settings(config)
    except (FileNotFoundError, ValueError) as exc:
        err.print(f"[red]Configuration error:[/red] {exc}")
        raise typer.Exit(2) from exc


def _store(settings: Settings):  # type: ignore[no-untyped-def]
    from sync.store.db import make_engine
    from sync.store.migrate import upgrade

    engine = make_engine(settings.database_url)
    upgrade(engine)
    return engine


@db_app.command("upgrade")
def db_upgrade(config: ConfigOption = None) -> None:
    """Create or migrate the store to the latest schema."""
    from sync.store.migrate import current

    settings = _settings(config)
    engine = _store(settings)
    console.print(
        f"Store at {engine.url.render_as_string(hide_password=True)} is at "
        f"revision [bold]{', '.join(sorted(current(engine)))}[/bold]."
    )


@app.command()
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
    settings = _settings(config)
    store = _store(settings)
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
    _print_reports(reports)
    if any(r.status == "failed" for r in reports):
        raise typer.Exit(1)


def _print_reports(reports) -> None:  # type: ignore[no-untyped-def]
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
            r.error or "",
        )
    console.print(table)


@app.command()
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

    settings = _settings(config)
    store = _store(settings)
    install(store, otlp_endpoint=settings.telemetry.otlp_endpoint)
    if store.dialect.name != "postgresql":
        scheduler = build_scheduler(Engine(settings, store), settings.schedule, blocking=True)
        console.print("Engine running (SQLite: one process runs every flow); Ctrl-C stops it.")
        with contextlib.suppress(KeyboardInterrupt, SystemExit):
            scheduler.start()
        return
    stop = _start_workers(settings, store, workers)
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


@app.command()
def worker(
    idle_seconds: Annotated[float, typer.Option(help="Pause when the queue is empty")] = 1.0,
    config: ConfigOption = None,
) -> None:
    """Claim and run queued flow runs (PostgreSQL). Start as many as you like."""
    settings = _settings(config)
    store = _store(settings)
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


def _start_workers(settings: Settings, store: Any, count: int) -> threading.Event:
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


@sandbox_app.command("serve")
def sandbox_serve(
    seed: Annotated[int | None, typer.Option(help="Default: [sandbox] seed")] = None,
    size: Annotated[str | None, typer.Option(help="tiny, small, medium or large")] = None,
    scenario: Annotated[str | None, typer.Option(help="calm, flaky, storm, outage:xero:2h …")] = (
        None
    ),
    speed: Annotated[float | None, typer.Option(help="simulated seconds per second")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print connections as JSON")] = False,
    config: ConfigOption = None,
) -> None:
    """Serve the sandbox firm's five vendor APIs on loopback until interrupted, on the ports
    plan2cash's configuration points at. Options default to the [sandbox] configuration."""
    from sandbox.__main__ import describe

    settings = _settings(config)
    box = _sandbox(settings, seed=seed, size=size, scenario=scenario, speed=speed)
    box.serve(**_sandbox_ports(settings))
    describe(box, as_json=as_json)
    _wait_forever()
    box.stop()


def _sandbox(settings: Settings, **given: Any) -> Any:
    """The sandbox the configuration describes, with any options given on the command line."""
    from sandbox.server import Sandbox

    options = settings.sandbox.model_dump() | {k: v for k, v in given.items() if v is not None}
    try:
        return Sandbox(**options)
    except ValueError as exc:
        err.print(f"[red]Sandbox:[/red] {exc}")
        raise typer.Exit(2) from exc


def _sandbox_ports(settings: Settings) -> dict[str, int]:
    """Each vendor's loopback port, from the URL configured for it."""
    return {
        "harvest_port": _port(settings.harvest.base_url),
        "xero_port": _port(settings.xero.base_url),
        "salesforce_port": _port(settings.salesforce.login_url),
        "kantata_port": _port(settings.kantata.base_url),
        "bamboohr_port": _port(settings.bamboohr.base_url),
    }


@app.command()
def demo(
    seed: Annotated[int | None, typer.Option(help="Default: [sandbox] seed")] = None,
    scenario: Annotated[str | None, typer.Option(help="API faults: calm, flaky, storm …")] = None,
    port: int = 8501,
    config: ConfigOption = None,
) -> None:
    """Start the sandbox firm, the engine on its schedule, and the dashboard."""
    from sync.engine import Engine
    from sync.scheduler import build_scheduler
    from sync.telemetry import install

    settings = _settings(config)
    dashboard = _dashboard(settings, port, config)  # refused here, before anything starts
    box = _sandbox(settings, seed=seed, scenario=scenario)
    if settings.billing.closed_through is None:  # the firm's books are closed where it closed them
        settings.billing.closed_through = box.world.period_lock
    if not settings.bamboohr.location_countries:  # whose public holidays each office observes
        settings.bamboohr.location_countries = {r.name: r.country for r in box.world.regions}
    box.serve(**_sandbox_ports(settings))
    store = _store(settings)
    install(store, otlp_endpoint=settings.telemetry.otlp_endpoint)
    # the engine lives on the sandbox's clock, so an accelerated firm closes months for it too
    scheduler = build_scheduler(
        Engine(settings, store, clock=box.now), settings.schedule, blocking=False
    )
    speed = settings.sandbox.speed
    scheduler.add_job(
        _advance_firm,
        "interval",
        args=[box],
        id="sandbox-clock",
        name="the firm lives on",
        seconds=max(2.0, 3600 / speed) if speed else 60.0,
        coalesce=True,
        max_instances=1,
    )
    scheduler.start()
    process = dashboard.start()
    console.print(
        f"Sandbox firm: {', '.join(f'{v} {box.base_url(v)}' for v in box.emulators)}\n"
        f"Dashboard: [bold]http://{settings.dashboard_address}:{port}[/bold]"
        "  (Ctrl-C stops everything)"
    )
    try:
        _wait_forever(process)
    finally:
        dashboard.stop()
        scheduler.shutdown(wait=False)
        box.stop()


def _dashboard(settings: Settings, port: int, config: Path | None) -> Any:
    """The dashboard's launch (:mod:`app.dashboard`) on the engine's store, not yet started;
    exits with one clear line when the configuration cannot serve it safely."""
    from rich.markup import escape

    from app.dashboard import launch

    try:
        return launch(settings, port=port, store_url=settings.database_url, config=config)
    except ValueError as exc:
        err.print(f"[red]Configuration error:[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from exc


def _advance_firm(box: Any) -> None:
    """The sandbox firm logs, approves and pays up to the sandbox clock's today."""
    added = box.advance(box.now().date())
    if added:
        logging.getLogger("plan2cash.demo").info("the sandbox firm logged %s new entries", added)


def _port(url: str) -> int:
    from urllib.parse import urlsplit

    port = urlsplit(url).port
    if port is None:
        raise typer.BadParameter(f"{url} names no port; the demo serves the sandbox on loopback")
    return port


def _wait_forever(child: subprocess.Popen[bytes] | None = None) -> None:
    signal.signal(signal.SIGTERM, _interrupt)
    with contextlib.suppress(KeyboardInterrupt):
        while child is None or child.poll() is None:
            time.sleep(0.5)


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


@exceptions_app.command("list")
def exceptions_list(
    status: Annotated[str, typer.Option(help="open, retrying, resolved, ignored or all")] = "open",
    limit: int = 50,
    config: ConfigOption = None,
) -> None:
    """List exceptions, newest first."""
    from sync.store.db import session_factory
    from sync.store.tables import ExceptionRow

    settings = _settings(config)
    sessions = session_factory(_store(settings))
    query = select(ExceptionRow).order_by(ExceptionRow.last_seen.desc()).limit(limit)
    if status != "all":
        query = query.where(ExceptionRow.status == status)
    table = Table(title=f"Exceptions ({status})")
    for column in ("id", "flow", "category", "record", "value at risk", "attempts", "reason"):
        table.add_column(column, overflow="fold")
    with sessions() as session:
        for row in session.scalars(query):
            risk = f"{row.value_at_risk:,.2f} {row.currency}" if row.value_at_risk else "—"
            table.add_row(
                str(row.id),
                row.flow,
                row.category,
                row.record_key,
                risk,
                str(row.attempts),
                row.reason,
            )
    console.print(table)


@app.command()
def kpis(
    as_of: Annotated[str | None, typer.Option(help="Date (YYYY-MM-DD); default today")] = None,
    grain: Annotated[str, typer.Option(help="Period: day, week, month or quarter")] = "month",
    by: Annotated[
        str | None,
        typer.Option(help="Slice by: region, practice, legal_entity, customer, project, person"),
    ] = None,
    where: Annotated[
        list[str] | None, typer.Option(help="Keep one slice value, e.g. region=Europe (repeatable)")
    ] = None,
    source: Annotated[str, typer.Option(help="rollups (default) or raw records")] = "rollups",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
    config: ConfigOption = None,
) -> None:
    """The executive KPIs from the store, as the dashboard shows them, with the previous period."""
    from metrics.report import executive_kpis
    from metrics.slices import DIMENSIONS

    day = _as_of(as_of)
    if grain not in ("day", "week", "month", "quarter"):
        err.print(f"[red]Unknown period[/red] {grain!r}: use day, week, month or quarter.")
        raise typer.Exit(2)
    if source not in ("rollups", "raw"):
        err.print(f"[red]Unknown source[/red] {source!r}: use rollups or raw.")
        raise typer.Exit(2)
    filters = dict(item.partition("=")[::2] for item in where or [])
    unknown = {d for d in [by, *filters] if d is not None} - set(DIMENSIONS)
    if unknown or any(not v for v in filters.values()):
        err.print(
            f"[red]Cannot slice by[/red] {sorted(unknown) or where}; choose from "
            f"{', '.join(DIMENSIONS)} (and give --where as dimension=value)."
        )
        raise typer.Exit(2)
    with _store(_settings(config)).connect() as connection:
        report = executive_kpis(
            connection,
            as_of=day,
            grain=grain,  # type: ignore[arg-type]
            by=by,  # type: ignore[arg-type]
            where=filters,  # type: ignore[arg-type]
            source=source,  # type: ignore[arg-type]
        )
    if as_json:
        print(json.dumps(report.to_dict(), indent=2))
        return
    start, end = report.period
    before = report.previous_period
    console.print(
        f"[bold]KPIs as of {day}[/bold] ({grain} {start} – {end}, against {before[0]} – "
        f"{before[1]}; from {source})"
    )
    for title, frame in (
        ("Headline (share = 0–1, money per currency, days, hours)", report.headline),
        ("Billable utilization (hours; share)", report.utilization),
        ("Realization (billed ÷ standard value of the period's work)", report.realization),
        ("WIP (unbilled approved work) by age in days, per currency", report.wip),
        ("Billing cycle time, days (invoices posted in period)", report.cycle_time),
        ("DSO, days (3 months)", report.dso),
        ("Approved before close (hours; share)", report.approvals),
        ("Unapproved time by age in days (hours)", report.unapproved),
        ("Flow health (runs in period)", report.flows),
        ("Open exceptions", report.exceptions),
    ):
        console.print(_table(title, frame))
    for note in report.notes:
        console.print(f"[dim]Note: {note}[/dim]")


def _as_of(text: str | None) -> date:
    if text is None:
        return datetime.now(UTC).date()
    try:
        return date.fromisoformat(text)
    except ValueError:
        err.print(f"[red]--as-of[/red] {text!r} is not a date; use YYYY-MM-DD.")
        raise typer.Exit(2) from None


def _table(title: str, frame: Any) -> Table:
    table = Table(title=title, title_justify="left")
    for column in frame.columns:
        table.add_column(column, justify="right" if frame[column].dtype.is_numeric() else "left")
    if frame.height == 0:
        table.caption = "no data for this period"
    for row in frame.iter_rows():
        table.add_row(*(_cell(v) for v in row))
    return table


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M}"
    return str(value)


def _filter(
    ids: list[int] | None, flow: str | None, category: str | None, older_than_days: float | None
) -> Any:
    from sync.replay import ExceptionFilter

    if not (ids or flow or category or older_than_days is not None):
        err.print("Say which exceptions: ids, or --flow / --category / --older-than-days.")
        raise typer.Exit(2)
    return ExceptionFilter(
        ids=ids or (), flow=flow, category=category, older_than_days=older_than_days
    )


IdsArgument = Annotated[list[int] | None, typer.Argument(help="Exception ids")]
FlowOption = Annotated[str | None, typer.Option(help="Only this flow")]
CategoryOption = Annotated[str | None, typer.Option(help="Only this category")]
AgeOption = Annotated[float | None, typer.Option(help="Only exceptions older than this")]
ReasonOption = Annotated[str, typer.Option(help="Why (for the audit log)")]


@exceptions_app.command("show")
def exceptions_show(exception_id: int, config: ConfigOption = None) -> None:
    """One exception in full: reason, payload as received, history."""
    from sync.store.db import session_factory
    from sync.store.tables import AuditRow, ExceptionRow

    sessions = session_factory(_store(_settings(config)))
    with sessions() as session:
        row = session.get(ExceptionRow, exception_id)
        if row is None:
            err.print(f"No exception {exception_id}.")
            raise typer.Exit(1)
        history = session.scalars(
            select(AuditRow)
            .where(AuditRow.target == f"exception:{exception_id}")
            .order_by(AuditRow.at)
        ).all()
    risk = f"{row.value_at_risk:,.2f} {row.currency}" if row.value_at_risk else "—"
    console.print(
        f"[bold]#{row.id}[/bold] {row.flow} · {row.category} · [bold]{row.status}[/bold]"
        f"\n{row.reason}\nrecord {row.record_key} · value at risk {risk} · "
        f"attempts {row.attempts} · first seen {row.first_seen:%Y-%m-%d %H:%M} UTC · "
        f"last seen {row.last_seen:%Y-%m-%d %H:%M} UTC · trace {row.trace_id or '—'}"
    )
    console.print_json(json.dumps(row.payload, default=str))
    for entry in history:
        console.print(f"{entry.at:%Y-%m-%d %H:%M} {entry.actor}: {entry.action} {entry.detail}")


@exceptions_app.command("replay")
def exceptions_replay(
    ids: IdsArgument = None,
    flow: FlowOption = None,
    category: CategoryOption = None,
    older_than_days: AgeOption = None,
    edit: Annotated[
        str | None, typer.Option(help='JSON fields to change first, e.g. {"hours": 2}')
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would happen")] = False,
    reason: ReasonOption = "replayed from the CLI",
    config: ConfigOption = None,
) -> None:
    """Replay exceptions through the same idempotent path as the flows."""
    from rich.progress import Progress

    from sync.access import cli_identity
    from sync.engine import Engine
    from sync.replay import replay

    which = _filter(ids, flow, category, older_than_days)
    changes = _json_object(edit) if edit else None
    settings = _settings(config)
    engine = Engine(settings, _store(settings))
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task("Replaying", total=None)
        try:
            report = replay(
                engine.context,
                which,
                actor=cli_identity(),
                reason=reason,
                dry_run=dry_run,
                edit=changes,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
        except ValueError as exc:
            err.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from exc
    table = Table(title="Replay (dry run: nothing was changed)" if dry_run else "Replay")
    for column in ("id", "record", "result", "detail"):
        table.add_column(column, overflow="fold")
    for o in report.outcomes:
        table.add_row(str(o.exception_id), o.record_key, o.result, o.detail)
    console.print(table)
    if any(o.result == "queued" for o in report.outcomes) and not dry_run:
        console.print(
            "Queued deliveries go out on the next outbox run "
            "(`plan2cash sync --once --flow outbox`)."
        )


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        err.print(f"[red]--edit is not valid JSON:[/red] {exc}")
        raise typer.Exit(2) from exc
    if not isinstance(value, dict):
        err.print("[red]--edit must be a JSON object[/red], e.g. '{\"hours\": 2}'.")
        raise typer.Exit(2)
    return value


def _set_status(
    status: str,
    ids: list[int] | None,
    flow: str | None,
    category: str | None,
    older_than_days: float | None,
    reason: str,
    config: Path | None,
) -> None:
    from sync.access import cli_identity
    from sync.replay import set_status
    from sync.store.db import session_factory, transaction

    which = _filter(ids, flow, category, older_than_days)
    with transaction(session_factory(_store(_settings(config)))) as session:
        count = set_status(session, which, status, actor=cli_identity(), reason=reason)  # type: ignore[arg-type]
    console.print(f"{count} exception(s) marked {status}.")


@exceptions_app.command("resolve")
def exceptions_resolve(
    ids: IdsArgument = None,
    flow: FlowOption = None,
    category: CategoryOption = None,
    older_than_days: AgeOption = None,
    reason: ReasonOption = "resolved from the CLI",
    config: ConfigOption = None,
) -> None:
    """Mark exceptions resolved (fixed elsewhere), with who and why."""
    _set_status("resolved", ids, flow, category, older_than_days, reason, config)


@exceptions_app.command("ignore")
def exceptions_ignore(
    ids: IdsArgument = None,
    flow: FlowOption = None,
    category: CategoryOption = None,
    older_than_days: AgeOption = None,
    reason: ReasonOption = "ignored from the CLI",
    config: ConfigOption = None,
) -> None:
    """Mark exceptions ignored (they will not be retried or reopened), with who and why."""
    _set_status("ignored", ids, flow, category, older_than_days, reason, config)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    app()


if __name__ == "__main__":
    main()
