"""Alert instances from evaluations: pending until held for the rule's ``for``, then firing;
resolved when a firing alert is absent from its rule's next evaluation.

On a full pass (``in_force`` given: the names of every rule in force) the alerts of a rule no
longer in force (removed or renamed in the configuration) resolve too, and its pending ones are
forgotten; a partial pass (``in_force`` None) touches only the rules it evaluated.

Instances are deduplicated by fingerprint (the rule and the labels): the same condition seen
again is the same instance. A rule whose evaluation failed (``Evaluation.error``) keeps its
instances as they were; an instance whose condition stops holding before it fired is forgotten.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from alerts.codec import causes_to_json
from alerts.model import Alert, Evaluation, RulePolicy
from sync.store import AlertRow, AlertState, alerting


@dataclass
class StateChanges:
    """What one pass changed, by fingerprint."""

    fired: list[str] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    forgotten: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # rules not evaluated: their alerts kept as were


def group_of(policy: RulePolicy, labels: Mapping[str, str]) -> tuple[str, dict[str, str]]:
    """The group an alert of ``policy`` belongs to: its key (the rule and the group_by labels,
    ``xero-posting{vendor="xero"}``) and those labels."""
    chosen = {name: labels.get(name, "") for name in policy.group_by}
    inside = ",".join(f'{name}="{value}"' for name, value in chosen.items())
    return f"{policy.name}{{{inside}}}", chosen


def apply_evaluations(
    session: Session,
    evaluations: Sequence[Evaluation],
    now: datetime,
    *,
    in_force: Collection[str] | None = None,
) -> StateChanges:
    """Bring the stored instances of the evaluated rules up to date as of ``now``; with
    ``in_force``, retire the alerts of every rule not in it."""
    changes = StateChanges()
    if in_force is not None:
        _retire(session, set(in_force), now, changes)
    judged = [e for e in evaluations if e.error is None]
    changes.kept = sorted({e.policy.name for e in evaluations if e.error is not None})
    stored = {r.fingerprint: r for r in alerting.alert_rows(session, rules=_names(judged))}
    for evaluation in judged:
        present = {a.fingerprint: a for a in evaluation.alerts}  # the last of one label set wins
        for fp, alert in present.items():
            stored[fp] = _observe(session, stored.get(fp), evaluation.policy, alert, now, changes)
        for row in [r for r in stored.values() if r.rule == evaluation.policy.name]:
            if row.fingerprint not in present:
                _absent(row, now, changes)
    alerting.drop_alerts(session, changes.forgotten)
    return changes


def _retire(session: Session, in_force: set[str], now: datetime, changes: StateChanges) -> None:
    """Resolve (or forget, when pending) the alerts of rules no longer in force."""
    for row in alerting.alert_rows(session, states=(AlertState.PENDING, AlertState.FIRING)):
        if row.rule not in in_force:
            _absent(row, now, changes)


def _names(evaluations: Sequence[Evaluation]) -> list[str]:
    return sorted({e.policy.name for e in evaluations})


def _observe(
    session: Session,
    row: AlertRow | None,
    policy: RulePolicy,
    alert: Alert,
    now: datetime,
    changes: StateChanges,
) -> AlertRow:
    if row is None:
        row = alerting.add_alert(session, fingerprint=alert.fingerprint, state=AlertState.PENDING)
        row.pending_since = now
    elif row.state is AlertState.RESOLVED:
        row.state, row.pending_since = AlertState.PENDING, now
        row.active_since = row.resolved_at = None
    _describe(row, policy, alert, now)
    if row.state is AlertState.PENDING:
        if now - (row.pending_since or now) >= policy.hold_for:
            row.state, row.active_since = AlertState.FIRING, now
            changes.fired.append(row.fingerprint)
        else:
            changes.pending.append(row.fingerprint)
    return row


def _describe(row: AlertRow, policy: RulePolicy, alert: Alert, now: datetime) -> None:
    """What the latest evaluation says of the alert."""
    row.rule = policy.name
    row.group_key, row.group_labels = group_of(policy, alert.labels)
    row.labels = dict(alert.labels)
    row.severity = alert.severity
    row.evaluated_at = now
    row.value, row.threshold, row.unit = alert.value, alert.threshold, alert.unit
    row.value_at_risk, row.currency = alert.value_at_risk, alert.currency
    row.summary, row.link = alert.summary, alert.link
    row.causes = causes_to_json(alert.causes)


def _absent(row: AlertRow, now: datetime, changes: StateChanges) -> None:
    if row.state is AlertState.PENDING:
        changes.forgotten.append(row.fingerprint)
    elif row.state is AlertState.FIRING:
        row.state, row.resolved_at = AlertState.RESOLVED, now
        changes.resolved.append(row.fingerprint)
