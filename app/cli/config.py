"""``plan2cash config``: what plan2cash reads, and whether it will run with it."""

from __future__ import annotations

import typer
from rich.markup import escape
from rich.table import Table

from app.cli.common import ConfigOption, console, load_config

app = typer.Typer(help="The configuration.", no_args_is_help=True)


@app.command("check")
def config_check(config: ConfigOption = None) -> None:
    """Check the configuration and print every setting (secrets masked) and where its value
    came from: the file, the environment or the default. Exits 2 with the error when invalid."""
    from sync.settings_sources import Source, config_file, resolved

    settings = load_config(config)
    file = config_file(config)
    table = Table(
        title=f"plan2cash configuration: {settings.mode} mode",
        caption=f"file: {file or 'none'}; environment: PLAN2CASH__… variables",
        title_justify="left",
    )
    for column in ("setting", "value", "from"):
        table.add_column(column, overflow="fold")
    colours = {Source.ENVIRONMENT: "cyan", Source.FILE: "green", Source.DEFAULT: "dim"}
    for row in resolved(settings, config):
        colour = colours[row.source]
        table.add_row(row.key, escape(row.value), f"[{colour}]{row.source}[/{colour}]")
    console.print(table)
    console.print(f"[green]The configuration is valid[/green] ({settings.mode} mode).")
