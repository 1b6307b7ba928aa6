"""How a failure reads on the command line: the cause and the fix in a line or two.

:class:`Plan2cashGroup` is the one place that catches what a command raises. A failure a person
can act on (configuration, database URL, an unreachable database or vendor, a missing optional
package) prints its cause and its fix and exits non-zero; anything else prints one line and asks
for ``--debug``, which lets every failure through with its traceback.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass

import httpx
import typer
from pydantic import ValidationError
from rich.markup import escape
from sqlalchemy import exc as sa
from typer.core import TyperGroup

from app.cli.common import err
from collectors.errors import ConnectorError
from sync.settings import Settings
from sync.settings_checks import ConfigurationError, describe, is_loopback_url

# an optional package (module prefix) → the extra that installs it, and what it is for
EXTRAS = {
    "psycopg": ("postgres", "the PostgreSQL driver"),
    "opentelemetry.exporter": ("otlp", "OTLP span export (telemetry.otlp_endpoint)"),
}
SANDBOX_HINT = "Is the sandbox running? `plan2cash sandbox serve` starts it."
VENDOR_HINT = "Check the vendor's URL (`plan2cash config check`) and this machine's network."
USAGE, FAILURE = 2, 1


@dataclass(frozen=True)
class Failure:
    """What to tell a person: the cause, the fix (may be empty) and the exit code."""

    cause: str
    fix: str
    code: int


def explain(error: Exception) -> Failure:
    """The cause and the fix of ``error``, as a person running plan2cash can act on them."""
    if isinstance(error, ConfigurationError):
        return Failure(f"Configuration error: {error}", _CHECK, USAGE)
    if isinstance(error, ValidationError):  # settings built in code, not by load_settings
        return Failure(f"Configuration error: {describe(error, Settings)}", _CHECK, USAGE)
    if isinstance(error, sa.ArgumentError):  # includes NoSuchModuleError (an unknown dialect)
        return Failure(
            f"The database URL is not one plan2cash can use: {_first_line(error)}",
            "Set database_url, e.g. sqlite:///var/plan2cash.db or "
            "postgresql+psycopg://user@host:5432/plan2cash.",
            USAGE,
        )
    if isinstance(error, sa.OperationalError | sa.InterfaceError):
        return Failure(
            f"The database cannot be reached: {_first_line(error.orig or error)}",
            "Is it running, and is database_url right? `plan2cash config check` shows it.",
            FAILURE,
        )
    if isinstance(error, ModuleNotFoundError):
        return _missing(error)
    if isinstance(error, httpx.TransportError | ConnectorError):
        return _vendor(error)
    return Failure(
        f"plan2cash failed: {type(error).__name__}: {_first_line(error)}",
        "Run it again with --debug for the traceback.",
        FAILURE,
    )


_CHECK = "Fix it, then `plan2cash config check` shows what plan2cash reads."


def _missing(error: ModuleNotFoundError) -> Failure:
    name = error.name or ""
    for module, (extra, purpose) in EXTRAS.items():
        if name == module or name.startswith(f"{module}."):
            return Failure(
                f"{purpose[0].upper()}{purpose[1:]} is not installed (no module {name}).",
                f"Install it with: pip install 'plan2cash[{extra}]'",
                FAILURE,
            )
    return Failure(
        f"A package plan2cash needs is not installed (no module {name}).",
        "Reinstall plan2cash: `make` or pip install -c constraints.txt -e .",
        FAILURE,
    )


def _vendor(error: Exception) -> Failure:
    cause = error.__cause__ if isinstance(error, ConnectorError) else error
    url = _url(cause) if isinstance(cause, httpx.TransportError) else None
    hint = SANDBOX_HINT if url is None or is_loopback_url(url) else VENDOR_HINT
    return Failure(f"A vendor could not be reached: {_first_line(error)}", hint, FAILURE)


def _url(error: httpx.TransportError) -> str | None:
    try:
        return str(error.request.url)
    except RuntimeError:  # an error raised outside a request has none
        return None


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


class Plan2cashGroup(TyperGroup):
    """The command group that turns a command's failure into its cause and fix."""

    def invoke(self, ctx: typing.Any) -> typing.Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):  # typer's own: usage, exit codes
            raise
        except Exception as error:
            if ctx.params.get("debug"):
                raise
            failure = explain(error)
            err.print(f"[red]{escape(failure.cause)}[/red]", soft_wrap=True)
            if failure.fix:
                err.print(escape(failure.fix), soft_wrap=True)
            raise typer.Exit(failure.code) from error
