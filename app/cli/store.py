"""``plan2cash db``: the store's schema."""

from __future__ import annotations

import typer

from app.cli.common import ConfigOption, console, load_config, open_store

app = typer.Typer(help="The store's schema.", no_args_is_help=True)


@app.command("upgrade")
def db_upgrade(config: ConfigOption = None) -> None:
    """Create or migrate the store to the latest schema."""
    from sync.store import current

    engine = open_store(load_config(config))
    console.print(
        f"Store at {engine.url.render_as_string(hide_password=True)} is at "
        f"revision [bold]{', '.join(sorted(current(engine)))}[/bold]."
    )
