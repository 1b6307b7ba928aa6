"""What every command shares: the consoles, the ``--config`` option, settings and the store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from sync.settings import Settings, load_settings

console = Console()
err = Console(stderr=True)

ConfigOption = Annotated[
    Path | None, typer.Option("--config", "-c", help="TOML configuration file")
]


def load_config(config: Path | None) -> Settings:
    """The configuration from ``config`` (or the default file) and the environment."""
    return load_settings(config)  # a ConfigurationError reads as one (app.cli.failures)


def open_store(settings: Settings) -> Any:
    """The store's SQLAlchemy engine, migrated to the latest schema."""
    from sync.store import make_engine, upgrade

    engine = make_engine(settings.database_url)
    upgrade(engine)
    return engine
