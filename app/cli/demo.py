"""``plan2cash demo``: the sandbox firm, the engine on its schedule and the dashboard, together."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from app.cli.common import ConfigOption, console, err, load_config, open_store
from app.cli.sandbox import sandbox, sandbox_ports, wait_forever
from sync.settings import Settings


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

    settings = load_config(config)
    dashboard = _dashboard(settings, port, config)  # refused here, before anything starts
    box = sandbox(settings, seed=seed, scenario=scenario)
    if settings.billing.closed_through is None:  # the firm's books are closed where it closed them
        settings.billing.closed_through = box.world.period_lock
    if not settings.bamboohr.location_countries:  # whose public holidays each office observes
        settings.bamboohr.location_countries = {r.name: r.country for r in box.world.regions}
    box.serve(**sandbox_ports(settings))
    store = open_store(settings)
    install(store, otlp_endpoint=settings.telemetry.otlp_endpoint)
    # the engine lives on the sandbox's clock, so an accelerated firm closes months for it too
    scheduler = build_scheduler(
        Engine(settings, store, clock=box.now), settings.schedule, blocking=False
    )
    speed = settings.sandbox.speed
    scheduler.add_job(
        advance_firm,
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
        wait_forever(process)
    finally:
        dashboard.stop()
        scheduler.shutdown(wait=False)
        box.stop()


def _dashboard(settings: Settings, port: int, config: Path | None) -> Any:
    """The dashboard's launch (:mod:`app.dashboard`) on the engine's store, not yet started;
    exits with one clear line when the configuration cannot serve it safely."""
    from app.dashboard import launch

    try:
        return launch(settings, port=port, store_url=settings.database_url, config=config)
    except ValueError as exc:
        err.print(f"[red]Configuration error:[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from exc


def advance_firm(box: Any) -> None:
    """The sandbox firm logs, approves and pays up to the sandbox clock's today."""
    added = box.advance(box.now().date())
    if added:
        logging.getLogger("plan2cash.demo").info("the sandbox firm logged %s new entries", added)
