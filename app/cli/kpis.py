"""``plan2cash kpis``: the executive KPIs from the store, as the dashboard shows them."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any

import typer
from rich.table import Table

from app.cli.common import ConfigOption, console, err, load_config, open_store


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
    from metrics import DIMENSIONS, executive_kpis

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
    with open_store(load_config(config)).connect() as connection:
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
