"""The ``plan2cash`` command line: the store, the engine, the sandbox and the demo.

One module per command group; :mod:`app.cli.common` holds what they share.
"""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from app.cli import alerts, config, demo, engine, exceptions, kpis, sandbox, store
from app.cli.failures import Plan2cashGroup

app = typer.Typer(
    cls=Plan2cashGroup,
    help="plan2cash: keep planning-to-cash in sync and in view.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)


@app.callback()
def options(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the traceback of a failure.")
    ] = False,
) -> None:
    """plan2cash: keep planning-to-cash in sync and in view."""
    # ``debug`` is read by Plan2cashGroup when a command fails


app.add_typer(store.app, name="db")
app.add_typer(exceptions.app, name="exceptions")
app.add_typer(alerts.app, name="alerts")
app.add_typer(sandbox.app, name="sandbox")
app.add_typer(config.app, name="config")
app.command()(engine.sync)
app.command()(engine.run)
app.command()(engine.worker)
app.command()(demo.demo)
app.command()(kpis.kpis)


def main() -> None:
    """The ``plan2cash`` entry point."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    app()


__all__ = ["app", "main"]
