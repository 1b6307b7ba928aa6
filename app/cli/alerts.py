"""``plan2cash alerts``: the rules in force, the alerts firing, one pass now, a sample to a
channel, silences and the notification log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from app.cli.common import ConfigOption, console, err, load_config, open_store
from app.cli.engine import check_alerts

app = typer.Typer(help="Alert rules, firing alerts, silences and notifications.",
                  no_args_is_help=True)  # fmt: skip
silence_app = typer.Typer(help="Silence alerts for a while, list and expire silences.",
                          no_args_is_help=True)  # fmt: skip
app.add_typer(silence_app, name="silence")


def _now() -> datetime:
    return datetime.now(UTC)


def _table(title: str, *columns: str) -> Table:
    table = Table(title=title)
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


@app.command("rules")
def alerts_rules(config: ConfigOption = None) -> None:
    """The rules in force, as loaded (a bad rule: named, exit 2)."""
    import alerts

    settings = load_config(config)
    rules = check_alerts(settings)
    source = "[[alerts.rules]]" if settings.alerts.rules is not None else "the default rules"
    table = _table(f"Alert rules in force ({len(rules)}, from {source})",
                   "name", "kind", "severity", "for", "parameters", "summary")  # fmt: skip
    for rule in rules:
        shared = {"name", "kind", "severity", "hold_for", "labels", "summary", "group_by"}
        params = rule.model_dump(exclude=shared, exclude_defaults=True, mode="json")
        table.add_row(
            escape(rule.name),
            rule.kind,
            str(rule.severity),
            alerts.duration_text(rule.hold_for) if rule.hold_for else "—",
            escape(", ".join(f"{k}={v}" for k, v in params.items())),
            escape(rule.template),
        )
    console.print(table)


@app.command("list")
def alerts_list(
    resolved_hours: Annotated[float, typer.Option(help="Show alerts resolved this recently")] = 24,
    config: ConfigOption = None,
) -> None:
    """Alerts firing, and those resolved recently."""
    import alerts
    from sync.store import session_factory

    settings = load_config(config)
    store = open_store(settings)
    pipeline = alerts.PipelineConfig.from_settings(settings.alerts)
    with session_factory(store)() as session:
        frame = alerts.views.alert_list(
            session, pipeline, _now(), resolved_within=timedelta(hours=resolved_hours)
        )
    table = _table("Alerts", "state", "rule", "severity", "labels", "value", "threshold",
                   "value at risk", "since", "link")  # fmt: skip
    for row in frame.iter_rows(named=True):
        state = row["state"] + (f" ({row['suppressed']})" if row["suppressed"] else "")
        colour = "red" if row["state"] == "firing" else "green"
        risk = row["value_at_risk"]
        table.add_row(
            f"[{colour}]{escape(state)}[/{colour}]",
            escape(row["rule"]),
            row["severity"],
            escape(row["labels"]),
            alerts.measure(row["value"], row["unit"]),
            alerts.measure(row["threshold"], row["unit"]),
            f"{risk:,.2f} {row['currency']}" if risk else "—",
            f"{row['since']:%Y-%m-%d %H:%M} UTC" if row["since"] else "—",
            escape(row["link"]),
        )
    console.print(table if frame.height else "No alert is firing or resolved recently.")


@app.command("evaluate")
def alerts_evaluate(config: ConfigOption = None) -> None:
    """One evaluation and notification pass now: what fired, was sent, silenced, muted."""
    import alerts

    settings = load_config(config)
    check_alerts(settings)
    store = open_store(settings)
    report = alerts.evaluate_and_notify(store, settings, _now())
    print_pass(report)
    if report.failed:
        raise typer.Exit(1)


def print_pass(report: Any) -> None:
    """What one pass did, one row per kind of outcome."""
    table = _table(f"Alert pass at {report.at:%Y-%m-%d %H:%M:%S} UTC", "outcome", "count",
                   "which")  # fmt: skip
    held = [f"{channel} {group} (muted by {mute})" for channel, group, mute in report.held]
    rows = [
        ("fired", report.fired),
        ("resolved", report.resolved),
        ("pending (waiting out 'for')", report.pending),
        ("rules not evaluated", report.kept),
        ("silenced", [f"{fp} by {sid}" for fp, sid in report.silenced.items()]),
        ("inhibited", report.inhibited),
        ("muted", held),
        ("sent", [f"{d.channel} {d.group_key}" for d in report.sent]),
        ("failed", [f"{d.channel} {d.group_key}: {d.error}" for d in report.failed]),
    ]
    for label, items in rows:
        table.add_row(label, str(len(items)), escape("\n".join(items)))
    console.print(table)


@app.command("test")
def alerts_test(
    channel: Annotated[str, typer.Option("--channel", help="email or slack")],
    config: ConfigOption = None,
) -> None:
    """Send a sample notification through one channel."""
    import alerts

    try:
        kind = alerts.ChannelKind(channel)
    except ValueError:
        err.print(f"[red]--channel:[/red] {escape(channel)}: choose email or slack")
        raise typer.Exit(2) from None
    settings = load_config(config)
    try:
        alerts.send_test(settings, kind, _now())
    except alerts.ChannelNotConfigured as exc:
        err.print(f"[red]{escape(str(exc))}[/red]", soft_wrap=True)
        raise typer.Exit(2) from exc
    except alerts.DeliveryError as exc:
        err.print(f"[red]alerts.{kind}: the sample was not delivered: {escape(str(exc))}[/red]",
                  soft_wrap=True)  # fmt: skip
        raise typer.Exit(1) from exc
    console.print(f"Sample notification sent through {kind}.")


@app.command("history")
def alerts_history(
    limit: Annotated[int, typer.Option(help="How many, newest first")] = 50,
    config: ConfigOption = None,
) -> None:
    """The notification log: what went where, and how delivery went."""
    import alerts
    from sync.store import session_factory

    with session_factory(open_store(load_config(config)))() as session:
        frame = alerts.views.history(session, limit=limit)
    table = _table("Notifications", "id", "at", "channel", "rule", "status", "delivery",
                   "attempts", "error")  # fmt: skip
    for row in frame.iter_rows(named=True):
        table.add_row(
            str(row["id"]),
            f"{row['created_at']:%Y-%m-%d %H:%M} UTC",
            row["channel"],
            escape(row["rule"]),
            row["status"],
            row["delivery"],
            str(row["attempts"]),
            escape(row["error"]),
        )
    console.print(table if frame.height else "No notification has been sent.")


def parse_for(text: str) -> timedelta:
    """``30m``, ``2h``, ``1d`` as a duration."""
    import alerts

    try:
        length = alerts.parse_duration(text.strip())
    except ValueError:
        length = timedelta(0)
    if length <= timedelta(0):
        raise typer.BadParameter(f"{text!r}: write a duration like 30m, 2h or 1d")
    return length


@silence_app.command("add")
def silence_add(
    match: Annotated[list[str], typer.Option("--match", help="A label matcher: vendor=xero")],
    for_: Annotated[str, typer.Option("--for", help="How long: 30m, 2h, 1d")],
    comment: Annotated[str, typer.Option(help="Why (kept in the audit log)")],
    config: ConfigOption = None,
) -> None:
    """Silence the alerts the matchers select, for a while."""
    import alerts
    from sync.access import cli_identity
    from sync.store import session_factory, transaction

    length = parse_for(for_)
    now = _now()
    store = open_store(load_config(config))
    try:
        with transaction(session_factory(store)) as session:
            made = alerts.silence_add(
                session, cli_identity(), match, ends_at=now + length, comment=comment, now=now
            )
    except alerts.SilenceError as exc:
        err.print(f"[red]{escape(str(exc))}[/red]", soft_wrap=True)
        raise typer.Exit(2) from exc
    matchers = ", ".join(str(m) for m in made.matchers)
    console.print(f"Silence {made.id}: {escape(matchers)} until {made.ends_at:%Y-%m-%d %H:%M} UTC.")


@silence_app.command("list")
def silence_list(
    all_: Annotated[bool, typer.Option("--all", help="Include expired silences")] = False,
    config: ConfigOption = None,
) -> None:
    """Silences in force or to come."""
    import alerts
    from sync.store import session_factory

    with session_factory(open_store(load_config(config)))() as session:
        frame = alerts.views.silences(session, _now(), include_expired=all_)
    table = _table("Silences", "id", "state", "matchers", "until", "by", "comment")
    for row in frame.iter_rows(named=True):
        table.add_row(row["id"], row["state"], escape(row["matchers"]),
                      f"{row['ends_at']:%Y-%m-%d %H:%M} UTC", escape(row["created_by"]),
                      escape(row["comment"]))  # fmt: skip
    console.print(table if frame.height else "No silence is in force.")


@silence_app.command("expire")
def silence_expire(
    silence_id: Annotated[str, typer.Argument(help="The silence's id")],
    config: ConfigOption = None,
) -> None:
    """End a silence now."""
    import alerts
    from sync.access import cli_identity
    from sync.store import session_factory, transaction

    store = open_store(load_config(config))
    try:
        with transaction(session_factory(store)) as session:
            alerts.silence_expire(session, cli_identity(), silence_id, now=_now())
    except alerts.SilenceError as exc:
        err.print(f"[red]{escape(str(exc))}[/red]", soft_wrap=True)
        raise typer.Exit(2) from exc
    console.print(f"Silence {escape(silence_id)} expired.")


__all__ = ["app", "parse_for", "print_pass"]
