"""``plan2cash demo``: the sandbox firm, the engine on its schedule and the dashboard, together.

Alerts work with nothing to set up: a local mail sink and webhook sink (:mod:`sandbox.sinks`,
on loopback, keeping what they receive under ``var/sinks/``) stand in for ``[alerts.email]`` and
``[alerts.slack]`` when those are not configured, and the evaluation runs on the sandbox's clock
beside the flows. The sandbox firm's planted faults (rate cards missing, negative hours …) trip
the default rules within the first minutes; the Alerts page shows what was sent.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from app.cli.common import ConfigOption, console, err, load_config, open_store
from app.cli.engine import alert_evaluation
from app.cli.sandbox import adopt_books, sandbox, sandbox_ports, wait_forever
from sync.settings import Mode, Settings
from sync.settings_alerts import EmailChannel, SlackChannel

SINK_DIRECTORY = Path("var/sinks")
DEMO_FROM = "plan2cash@sandbox.example"
DEMO_TO = "finance-ops@sandbox.example"


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
    adopt_books(settings, box.connections())  # the served ports: after serving
    sinks = alert_sinks(settings, port)
    store = open_store(settings)
    # the dashboard reads the engine's store file and shows the channels the demo set up
    dashboard.env.update(demo_environment(settings, store_url=store.url, sinks=sinks))
    install(store, otlp_endpoint=settings.telemetry.otlp_endpoint)
    # the engine lives on the sandbox's clock, so an accelerated firm closes months for it too
    evaluation = alert_evaluation(settings, store, clock=box.now)
    scheduler = build_scheduler(
        Engine(settings, store, clock=box.now),
        settings.schedule,
        blocking=False,
        extra_jobs=[evaluation],
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
        + (
            f"Alerts: mail sink smtp://{sinks.smtp_host}:{sinks.smtp_port}, Slack sink "
            f"{sinks.webhook.host}:{sinks.webhook.port} (kept under {SINK_DIRECTORY}/)\n"
            if sinks
            else ""
        )
        + f"Dashboard: [bold]http://{settings.dashboard_address}:{port}[/bold]"
        "  (Ctrl-C stops everything)"
    )
    try:
        wait_forever(process)
    finally:
        dashboard.stop()
        scheduler.shutdown(wait=False)
        if sinks is not None:
            sinks.stop()
        box.stop()


def alert_sinks(settings: Settings, port: int, directory: Path | None = SINK_DIRECTORY) -> Any:
    """In sandbox mode, local sinks for the alert channels ``[alerts]`` leaves unconfigured (on
    their usual ports, or free ones when those are taken), and links into this dashboard; the
    running sinks, or ``None`` when both channels are configured or the mode is live."""
    from sandbox.sinks import serve_sinks

    alerts = settings.alerts
    if settings.mode is not Mode.SANDBOX or (alerts.email and alerts.slack):
        return None
    if "dashboard_url" not in alerts.model_fields_set:
        alerts.dashboard_url = f"http://{settings.dashboard_address}:{port}"
    try:
        sinks = serve_sinks(directory=directory)
    except OSError:  # another demo holds the usual ports
        sinks = serve_sinks(mail_port=0, webhook_port=0, directory=directory)
    if alerts.email is None:
        alerts.email = EmailChannel(
            host=sinks.smtp_host, port=sinks.smtp_port, from_addr=DEMO_FROM, to=[DEMO_TO]
        )
    if alerts.slack is None:
        alerts.slack = SlackChannel(webhook_url=sinks.webhook_url)
    return sinks


def demo_environment(settings: Settings, *, store_url: Any, sinks: Any) -> dict[str, str]:
    """The ``PLAN2CASH__…`` variables that give the dashboard what the demo decided at start: the
    store as the engine opened it (a SQLite path made absolute), and the alert channels the demo
    pointed at its local sinks, with the links into this dashboard."""
    alerts = settings.alerts
    env = {"PLAN2CASH__DATABASE_URL": store_url.render_as_string(hide_password=False)}
    if sinks is None:
        return env
    env["PLAN2CASH__ALERTS__DASHBOARD_URL"] = alerts.dashboard_url
    if alerts.email is not None and alerts.email.port == sinks.smtp_port:
        email = alerts.email
        env |= {
            "PLAN2CASH__ALERTS__EMAIL__HOST": email.host,
            "PLAN2CASH__ALERTS__EMAIL__PORT": str(email.port),
            "PLAN2CASH__ALERTS__EMAIL__FROM_ADDR": email.from_addr,
            "PLAN2CASH__ALERTS__EMAIL__TO": json.dumps(email.to),
        }
    webhook = alerts.slack.webhook_url.get_secret_value() if alerts.slack else None
    if webhook == sinks.webhook_url:
        env["PLAN2CASH__ALERTS__SLACK__WEBHOOK_URL"] = webhook
    return env


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
