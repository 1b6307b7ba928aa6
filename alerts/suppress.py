"""What keeps a firing alert quiet: silences and inhibitions (per alert), mute timings (per
group, at the moment of a flush).

An alert's labels as matchers see them are its own with ``rule`` and ``severity`` added when it
does not carry them. A silenced or inhibited alert still fires; it only stays out of
notifications. An inhibiting alert must be firing; silencing it does not stop it inhibiting.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from alerts.matchers import match_all
from alerts.model import Severity
from alerts.policy import InhibitRule, PipelineConfig
from alerts.silences import Silence
from sync.store import AlertRow, AlertState


def alert_labels(row: AlertRow) -> dict[str, str]:
    return {"rule": row.rule, "severity": row.severity} | {
        str(k): str(v) for k, v in row.labels.items()
    }


@dataclass
class Suppression:
    """Which firing alerts are silenced (by which silence) or inhibited, as of one pass."""

    silenced: dict[str, str] = field(default_factory=dict)  # fingerprint → silence id
    inhibited: set[str] = field(default_factory=set)

    @staticmethod
    def labels(row: AlertRow) -> dict[str, str]:
        return alert_labels(row)

    def suppressed(self, fingerprint: str) -> bool:
        return fingerprint in self.silenced or fingerprint in self.inhibited

    @classmethod
    def of(
        cls,
        rows: Sequence[AlertRow],
        silences: Sequence[Silence],
        config: PipelineConfig,
        now: datetime,
    ) -> Suppression:
        firing = [r for r in rows if r.state is AlertState.FIRING]
        suppression = cls()
        for row in firing:
            labels = alert_labels(row)
            hit = next((s for s in silences if s.silences(labels, now)), None)
            if hit is not None:
                suppression.silenced[row.fingerprint] = hit.id
        for rule in config.inhibit:
            suppression.inhibited |= _inhibited(rule, firing, config.flow_vendors)
        return suppression


def _inhibited(
    rule: InhibitRule, firing: Sequence[AlertRow], flow_vendors: Mapping[str, frozenset[str]]
) -> set[str]:
    labelled = [(r.fingerprint, alert_labels(r)) for r in firing]
    sources = [(fp, labels) for fp, labels in labelled if match_all(rule.source, labels)]
    muted: set[str] = set()
    for fp, target in labelled:
        if not match_all(rule.target, target):
            continue
        for source_fp, source in sources:
            if source_fp != fp and _related(rule, source, target, flow_vendors):
                muted.add(fp)
                break
    return muted


def _related(
    rule: InhibitRule,
    source: Mapping[str, str],
    target: Mapping[str, str],
    flow_vendors: Mapping[str, frozenset[str]],
) -> bool:
    if any(source.get(name, "") != target.get(name, "") for name in rule.equal):
        return False
    if rule.flow_on_vendor:
        return source.get("vendor", "") in flow_vendors.get(target.get("flow", ""), frozenset())
    return True


def common_labels(rows: Iterable[AlertRow]) -> dict[str, str]:
    """The labels every one of ``rows`` carries with the same value."""
    labelled = [alert_labels(r) for r in rows]
    if not labelled:
        return {}
    first = labelled[0]
    return {k: v for k, v in first.items() if all(other.get(k) == v for other in labelled[1:])}


def muted_by(
    config: PipelineConfig, labels: Mapping[str, str], severity: Severity, now: datetime
) -> str | None:
    """The name of the mute timing that holds back a group's notifications now, if any."""
    local = now.astimezone(config.timezone)
    for timing in config.mute_timings:
        if timing.mutes(labels, severity, local):
            return timing.name
    return None
