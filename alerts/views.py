"""What people see of alerting, as polars frames: the alerts firing and recently resolved, the
silences, the notification log, and each SLO's error budget and burn rate over time. The CLI
(``plan2cash alerts …``) and the dashboard's Alerts page read these; nothing here writes.

Session (or connection) first; the caller owns the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import polars as pl
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from alerts import evaluate_slo, slo
from alerts.inputs import Inputs, read_inputs
from alerts.policy import PipelineConfig
from alerts.rule_base import duration_text
from alerts.rule_kinds import SloRule
from alerts.rules import RuleSet
from alerts.silences import active_silences, silence_list
from alerts.suppress import Suppression, alert_labels
from sync import Settings
from sync.store import AlertRow, AlertState, alerting

UTC_TIME = pl.Datetime("us", "UTC")
ALERTS: dict[str, Any] = {
    "fingerprint": pl.String,
    "state": pl.String,  # firing, resolved
    "rule": pl.String,
    "severity": pl.String,
    "labels": pl.String,  # k=v, k=v (the slice; rule and severity left out)
    "summary": pl.String,
    "value": pl.Float64,
    "threshold": pl.Float64,
    "unit": pl.String,
    "value_at_risk": pl.Float64,
    "currency": pl.String,
    "since": UTC_TIME,  # firing since
    "resolved_at": UTC_TIME,
    "suppressed": pl.String,  # "silenced by <id>", "inhibited" or ""
    "link": pl.String,
    "matchers": pl.List(pl.String),  # label matchers selecting just this alert (for a silence)
}
SILENCES: dict[str, Any] = {
    "id": pl.String,
    "matchers": pl.String,
    "starts_at": UTC_TIME,
    "ends_at": UTC_TIME,
    "created_by": pl.String,
    "comment": pl.String,
    "state": pl.String,  # active, pending, expired
    "expired_by": pl.String,
}
HISTORY: dict[str, Any] = {
    "id": pl.Int64,
    "created_at": UTC_TIME,
    "channel": pl.String,
    "rule": pl.String,
    "severity": pl.String,
    "status": pl.String,
    "group_key": pl.String,
    "delivery": pl.String,
    "attempts": pl.Int64,
    "sent_at": UTC_TIME,
    "error": pl.String,
    "message": pl.String,
}
RECENT = timedelta(days=1)
SLICE_HIDDEN = ("rule", "severity")


def slice_text(labels: dict[str, str]) -> str:
    """An alert's slice as ``practice=audit, currency=USD`` (rule and severity left out)."""
    return ", ".join(f"{k}={v}" for k, v in sorted(labels.items()) if k not in SLICE_HIDDEN)


def alert_list(
    session: Session, config: PipelineConfig, now: datetime, *, resolved_within: timedelta = RECENT
) -> pl.DataFrame:
    """The firing alerts, then those resolved within ``resolved_within`` (newest first); with
    whether a silence or an inhibition keeps each from being notified."""
    rows = alerting.alert_rows(session, states=(AlertState.FIRING, AlertState.RESOLVED))
    shown = [
        r
        for r in rows
        if r.state is AlertState.FIRING
        or (r.resolved_at is not None and now - r.resolved_at <= resolved_within)
    ]
    suppression = Suppression.of(shown, active_silences(session, now), config, now)
    records = [_alert_record(r, suppression) for r in shown]
    frame = pl.DataFrame(records, schema=ALERTS, orient="row") if records else _empty(ALERTS)
    return frame.sort(
        pl.col("state") != "firing",
        pl.col("resolved_at").fill_null(pl.col("since")),
        descending=[False, True],
    )


def _alert_record(row: AlertRow, suppression: Suppression) -> tuple[object, ...]:
    labels = alert_labels(row)
    silence = suppression.silenced.get(row.fingerprint)
    suppressed = (
        f"silenced by {silence}"
        if silence
        else ("inhibited" if row.fingerprint in suppression.inhibited else "")
    )
    risk = float(row.value_at_risk) if row.value_at_risk is not None else None
    matchers = [f'{k}="{v}"' for k, v in sorted(labels.items()) if k != "severity"]
    return (
        row.fingerprint,
        str(row.state),
        row.rule,
        row.severity,
        slice_text(labels),
        row.summary,
        row.value,
        row.threshold,
        row.unit,
        risk,
        row.currency,
        row.active_since or row.pending_since,
        row.resolved_at,
        suppressed,
        row.link,
        matchers,
    )


def silences(session: Session, now: datetime, *, include_expired: bool = False) -> pl.DataFrame:
    """Silences in force or still to come (every one with ``include_expired``), newest first."""
    records = [
        (
            s.id,
            ", ".join(str(m) for m in s.matchers),
            s.starts_at,
            s.ends_at,
            s.created_by,
            s.comment,
            "active"
            if s.active(now)
            else ("pending" if s.expired_at is None and s.starts_at > now else "expired"),
            s.expired_by or "",
        )
        for s in silence_list(session, now, include_expired=include_expired)
    ]
    return pl.DataFrame(records, schema=SILENCES, orient="row") if records else _empty(SILENCES)


def history(session: Session, *, limit: int = 200) -> pl.DataFrame:
    """The notification log, newest first: what went where, how delivery went, the message."""
    records = [
        (
            r.id,
            r.created_at,
            r.channel,
            r.rule,
            r.severity,
            str(r.status),
            r.group_key,
            str(r.delivery),
            r.attempts,
            r.sent_at,
            r.error or "",
            r.message,
        )
        for r in alerting.notification_log(session, limit=limit)
    ]
    return pl.DataFrame(records, schema=HISTORY, orient="row") if records else _empty(HISTORY)


@dataclass(frozen=True)
class SloStatus:
    """One SLO as of ``at``: its objective, the share of its 30-day error budget left (None: no
    event judged yet), and its burn rate over time (``at``, ``window`` = 1h | 6h | 3d,
    ``burn_rate``), with the burn rates its windows alert at."""

    rule: str
    sli: str
    description: str
    objective: float  # percent
    budget_remaining: float | None  # a fraction; negative once overspent
    events: int  # judged in the last 30 days
    bad: int
    burn: pl.DataFrame
    thresholds: dict[str, float]  # window → burn rate (1h: 14.4, 6h: 6, 3d: 1)


def slo_status(
    connection: Connection,
    settings: Settings,
    rules: RuleSet,
    now: datetime,
    *,
    span: timedelta = timedelta(days=3),
    step: timedelta = timedelta(minutes=15),
) -> list[SloStatus]:
    """Each SLI the ``slo`` rules watch (once per SLI, its page rule first), over ``span``."""
    chosen: dict[str, SloRule] = {}
    for rule in rules.of_kind("slo"):
        if isinstance(rule, SloRule):
            chosen.setdefault(rule.sli, rule)
    if not chosen:
        return []
    inputs = read_inputs(connection, settings, now, RuleSet(tuple(chosen.values())))
    return [
        _status(rule, inputs, now, span, step)
        for rule in chosen.values()
        if rule.sli in inputs.sli_events
    ]


def _status(
    rule: SloRule, inputs: Inputs, now: datetime, span: timedelta, step: timedelta
) -> SloStatus:
    judged = evaluate_slo.judged(rule, inputs, now)
    whole = slo.window(judged, objective=rule.target, now=now, length=slo.SLO_WINDOW)
    series = [
        slo.burn_series(
            judged, objective=rule.target, start=now - span, end=now, step=step, length=c.long
        ).with_columns(pl.lit(duration_text(c.long)).alias("window"))
        for c in slo.CONDITIONS
    ]
    sli = slo.SLIS[rule.sli]
    return SloStatus(
        rule=rule.name,
        sli=rule.sli,
        description=sli.description,
        objective=rule.target * 100,
        budget_remaining=slo.budget_remaining(judged, objective=rule.target, now=now),
        events=whole.events,
        bad=whole.bad,
        burn=pl.concat(series).select("at", "window", "burn_rate"),
        thresholds={duration_text(c.long): c.burn_rate for c in slo.CONDITIONS},
    )


def _empty(schema: dict[str, Any]) -> pl.DataFrame:
    return pl.DataFrame(schema=schema)
