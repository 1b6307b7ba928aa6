"""``plan2cash exceptions``: records that could not flow — list, show, replay, resolve, ignore."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from app.cli.common import ConfigOption, console, err, load_config, open_store

app = typer.Typer(help="Records that could not flow.", no_args_is_help=True)

IdsArgument = Annotated[list[int] | None, typer.Argument(help="Exception ids")]
FlowOption = Annotated[str | None, typer.Option(help="Only this flow")]
CategoryOption = Annotated[str | None, typer.Option(help="Only this category")]
AgeOption = Annotated[float | None, typer.Option(help="Only exceptions older than this")]
ReasonOption = Annotated[str, typer.Option(help="Why (for the audit log)")]


@app.command("list")
def exceptions_list(
    status: Annotated[str, typer.Option(help="open, retrying, resolved, ignored or all")] = "open",
    limit: int = 50,
    config: ConfigOption = None,
) -> None:
    """List exceptions, newest first."""
    from sync.store import session_factory, triage

    settings = load_config(config)
    sessions = session_factory(open_store(settings))
    table = Table(title=f"Exceptions ({status})")
    for column in ("id", "flow", "category", "record", "value at risk", "attempts", "reason"):
        table.add_column(column, overflow="fold")
    with sessions() as session:
        for row in triage.latest(session, limit, status=None if status == "all" else status):
            risk = f"{row.value_at_risk:,.2f} {row.currency}" if row.value_at_risk else "—"
            table.add_row(
                str(row.id),
                escape(row.flow),
                escape(row.category),
                escape(row.record_key),
                risk,
                str(row.attempts),
                escape(row.reason),
            )
    console.print(table)


@app.command("show")
def exceptions_show(exception_id: int, config: ConfigOption = None) -> None:
    """One exception in full: reason, payload as received, history."""
    from sync.store import ExceptionRow, journeys, session_factory, triage

    sessions = session_factory(open_store(load_config(config)))
    with sessions() as session:
        row = session.get(ExceptionRow, exception_id)
        if row is None:
            err.print(f"No exception {exception_id}.")
            raise typer.Exit(1)
        history = triage.audit_history(session, exception_id)
        edits = journeys.exception_edits(session, row)
    risk = f"{row.value_at_risk:,.2f} {row.currency}" if row.value_at_risk else "—"
    console.print(
        f"[bold]#{row.id}[/bold] {escape(row.flow)} · {escape(row.category)} · "
        f"[bold]{row.status}[/bold]\n{escape(row.reason)}\nrecord {escape(row.record_key)} · "
        f"value at risk {risk} · "
        f"attempts {row.attempts} · first seen {row.first_seen:%Y-%m-%d %H:%M} UTC · "
        f"last seen {row.last_seen:%Y-%m-%d %H:%M} UTC · trace {row.trace_id or '—'}"
    )
    console.print_json(json.dumps(row.payload, default=str))
    for entry in history:
        console.print(
            f"{entry.at:%Y-%m-%d %H:%M} " + escape(f"{entry.actor}: {entry.action} {entry.detail}")
        )
    for edit in edits:
        console.print(
            f"{edit.at:%Y-%m-%d %H:%M} "
            + escape(f"{journeys.EDITED} {edit.billing_event_id} {edit.summary}")
        )


@app.command("replay")
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
    from sync.edit_input import parse_edit
    from sync.engine import Engine
    from sync.replay import replay

    which = _filter(ids, flow, category, older_than_days)
    try:
        changes = parse_edit(edit) if edit else None
    except ValueError as exc:
        err.print(f"[red]--edit:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from exc
    settings = load_config(config)
    engine = Engine(settings, open_store(settings))
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
            err.print(f"[red]{escape(str(exc))}[/red]")
            raise typer.Exit(2) from exc
    table = Table(title="Replay (dry run: nothing was changed)" if dry_run else "Replay")
    for column in ("id", "record", "result", "detail"):
        table.add_column(column, overflow="fold")
    for o in report.outcomes:
        table.add_row(str(o.exception_id), escape(o.record_key), o.result, escape(o.detail))
    console.print(table)
    if any(o.result == "queued" for o in report.outcomes) and not dry_run:
        console.print(
            "Queued deliveries go out on the next outbox run "
            "(`plan2cash sync --once --flow outbox`)."
        )


def _status_command(status: str, doc: str) -> Callable[..., None]:
    """The command that marks the chosen exceptions ``status``, with who and why."""

    def command(
        ids: IdsArgument = None,
        flow: FlowOption = None,
        category: CategoryOption = None,
        older_than_days: AgeOption = None,
        reason: ReasonOption = f"{status} from the CLI",
        config: ConfigOption = None,
    ) -> None:
        _set_status(status, ids, flow, category, older_than_days, reason, config)

    command.__doc__ = doc
    return command


app.command("resolve")(
    _status_command("resolved", "Mark exceptions resolved (fixed elsewhere), with who and why.")
)
app.command("ignore")(
    _status_command(
        "ignored",
        "Mark exceptions ignored (they will not be retried or reopened), with who and why.",
    )
)


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
    from sync.store import ExceptionStatus, session_factory, transaction

    which = _filter(ids, flow, category, older_than_days)
    with transaction(session_factory(open_store(load_config(config)))) as session:
        count = set_status(
            session, which, ExceptionStatus(status), actor=cli_identity(), reason=reason
        )
    console.print(f"{count} exception(s) marked {status}.")
