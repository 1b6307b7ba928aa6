"""One pass of the alert pipeline: evaluations in, notifications out, every decision from the
store.

:func:`run_pass` takes the rules' evaluations at ``now`` and

1. brings the alert instances up to date (pending → firing after ``for``; dedup by fingerprint;
   resolved when absent from their rule's evaluation, kept when the evaluation failed);
2. works out which firing alerts are silenced or inhibited;
3. flushes every group whose time has come, for each channel its routes reach (``group_wait``,
   ``group_interval``, ``repeat_interval``, mute timings, resolved notices), logging each
   notification ``pending`` — steps 1 to 3 are one transaction;
4. sends the due notifications (new ones and retries), outside any transaction, each outcome
   recorded on its own.

A restart between passes, or in the middle of one, loses nothing and decides nothing twice: the
state of every alert, group and notification is in the store. Passes run one at a time (the
scheduler's job; on PostgreSQL a periodic task of the work queue).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from alerts.delivery import Delivery, Pacer, deliver_due
from alerts.flush import Logged, flush_groups
from alerts.model import Channel, ChannelKind, Evaluation
from alerts.policy import PipelineConfig
from alerts.silences import active_silences
from alerts.state import apply_evaluations
from alerts.suppress import Suppression
from sync.store import AlertState, DeliveryStatus, alerting, session_factory, transaction


@dataclass
class PassReport:
    """What one pass did (``alerts evaluate`` prints it; the scheduler logs it)."""

    at: datetime
    fired: list[str] = field(default_factory=list)  # fingerprints that began to fire
    resolved: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # rules whose evaluation failed
    silenced: dict[str, str] = field(default_factory=dict)  # fingerprint → silence id
    inhibited: list[str] = field(default_factory=list)
    held: list[tuple[ChannelKind, str, str]] = field(default_factory=list)  # channel, group, mute
    logged: list[Logged] = field(default_factory=list)  # notifications decided on this pass
    deliveries: list[Delivery] = field(default_factory=list)
    deferred: list[int] = field(default_factory=list)

    @property
    def sent(self) -> list[Delivery]:
        return [d for d in self.deliveries if d.outcome is DeliveryStatus.SENT]

    @property
    def failed(self) -> list[Delivery]:
        return [d for d in self.deliveries if d.outcome is not DeliveryStatus.SENT]


def run_pass(
    store: Engine | sessionmaker[Session],
    evaluations: Sequence[Evaluation],
    channels: Iterable[Channel] | Mapping[ChannelKind, Channel],
    config: PipelineConfig,
    now: datetime,
    *,
    pacer: Pacer | None = None,
    in_force: Collection[str] | None = None,
) -> PassReport:
    """One pass at ``now`` (timezone-aware). ``in_force``: the names of every rule in force,
    for a full pass (the alerts of other rules resolve); None for a pass over some rules only.
    Never raises for a channel's failure; a store failure raises (the pass is then redone whole
    on the next run)."""
    sessions = session_factory(store) if isinstance(store, Engine) else store
    by_kind = dict(channels) if isinstance(channels, Mapping) else {c.kind: c for c in channels}
    by_kind = {k: c for k, c in by_kind.items() if k in config.channels}
    report = PassReport(at=now)
    with transaction(sessions) as session:
        changes = apply_evaluations(session, evaluations, now, in_force=in_force)
        report.fired, report.resolved = changes.fired, changes.resolved
        report.pending, report.kept = changes.pending, changes.kept
        rows = alerting.alert_rows(session, states=(AlertState.FIRING,))
        suppression = Suppression.of(rows, active_silences(session, now), config, now)
        report.silenced, report.inhibited = suppression.silenced, sorted(suppression.inhibited)
        flushed = flush_groups(session, config, by_kind, suppression, now)
        report.logged, report.held = flushed.logged, flushed.held
    delivered = deliver_due(sessions, by_kind, config.delivery, now, pacer or Pacer())
    report.deliveries, report.deferred = delivered.deliveries, delivered.deferred
    return report
