"""``plan2cash sandbox``: the simulated firm and its vendor APIs on loopback."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import time
from collections.abc import Mapping
from typing import Annotated, Any
from urllib.parse import urlsplit

import typer

from app.cli.common import ConfigOption, err, load_config
from sync.settings import Settings
from sync.settings_checks import section_model
from sync.settings_erp import ErpSettings
from sync.store import ErpSystem

app = typer.Typer(help="The simulated firm and its vendor APIs.", no_args_is_help=True)


@app.command("serve")
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
    """Serve the sandbox firm's vendor APIs (its ERPs among them) on loopback until interrupted,
    on the ports plan2cash's configuration points at. Options default to the [sandbox]
    configuration."""
    from sandbox.__main__ import describe

    settings = load_config(config)
    box = sandbox(settings, seed=seed, size=size, scenario=scenario, speed=speed)
    box.serve(**sandbox_ports(settings))
    describe(box, as_json=as_json)
    wait_forever()
    box.stop()


def sandbox(settings: Settings, **given: Any) -> Any:
    """The sandbox the configuration describes, with any options given on the command line."""
    from sandbox.server import Sandbox

    options = settings.sandbox.model_dump() | {k: v for k, v in given.items() if v is not None}
    try:
        return Sandbox(**options)
    except ValueError as exc:
        err.print(f"[red]Sandbox:[/red] {exc}")
        raise typer.Exit(2) from exc


def sandbox_ports(settings: Settings) -> dict[str, int]:
    """Each vendor's loopback port, from the URL configured for it (an ERP left unconfigured
    is served on the sandbox's own port for it)."""
    ports = {
        "harvest_port": _port(settings.harvest.base_url),
        "xero_port": _port(settings.xero.base_url),
        "salesforce_port": _port(settings.salesforce.login_url),
        "kantata_port": _port(settings.kantata.base_url),
        "bamboohr_port": _port(settings.bamboohr.base_url),
    }
    for erp in ErpSystem:
        section = getattr(settings, erp.value)
        if section is not None:
            ports[f"{erp.value}_port"] = _port(section.base_url)
    return ports


def adopt_books(settings: Settings, connections: Mapping[str, Mapping[str, Any]]) -> None:
    """The legal entities keep their books where the sandbox firm keeps them, unless the
    configuration says otherwise: ``[erp] entities`` from the sandbox when none are configured,
    and the section of every ERP in use that is not configured, from the sandbox's connections
    (NetSuite's key is made when the sandbox starts, so it can only come from there)."""
    if not settings.erp.entities:
        settings.erp = ErpSettings.model_validate(connections["erp"])
    for erp in settings.erp.in_use():
        if getattr(settings, erp.value) is None:
            model = section_model(Settings.model_fields[erp.value].annotation)
            assert model is not None, f"Settings.{erp.value} holds no section"
            setattr(settings, erp.value, model.model_validate(connections[erp.value]))


def _port(url: str) -> int:
    port = urlsplit(url).port
    if port is None:
        raise typer.BadParameter(f"{url} names no port; the demo serves the sandbox on loopback")
    return port


def wait_forever(child: subprocess.Popen[bytes] | None = None) -> None:
    """Block until Ctrl-C, SIGTERM or (when given) ``child`` exits."""
    signal.signal(signal.SIGTERM, _interrupt)
    with contextlib.suppress(KeyboardInterrupt):
        while child is None or child.poll() is None:
            time.sleep(0.5)


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt
