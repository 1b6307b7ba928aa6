"""What the alert pipeline's tests share: a fake channel, literal alerts and evaluations, a
configuration with both channels, and passes run at a given moment."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from alerts.delivery import Pacer
from alerts.model import (
    Alert,
    AlertStatus,
    ChannelKind,
    Evaluation,
    Notification,
    RulePolicy,
    Severity,
)
from alerts.pipeline import PassReport, run_pass
from alerts.policy import PipelineConfig
from sync.store import NotificationRow
from tests.sandbox.clock import SleepingClock

T0 = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)  # a Monday, 10:00 UTC


def at(seconds: float = 0, *, minutes: float = 0, hours: float = 0) -> datetime:
    return T0 + timedelta(seconds=seconds, minutes=minutes, hours=hours)


@dataclass
class FakeChannel:
    """Records what it is handed; fails with the next of ``failures`` while any remain."""

    kind: ChannelKind
    sent: list[Notification] = field(default_factory=list)
    failures: list[BaseException] = field(default_factory=list)
    attempts: int = 0

    def render(self, notification: Notification) -> str:
        names = ", ".join(a.labels.get("practice", a.rule) for a in notification.alerts)
        return f"[{notification.status}] {notification.rule}: {names}"

    def send(self, notification: Notification) -> None:
        self.attempts += 1
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(notification)


def policy(
    name: str = "utilization-low",
    severity: Severity = Severity.PAGE,
    *,
    hold_for: timedelta = timedelta(0),
    group_by: tuple[str, ...] = (),
) -> RulePolicy:
    return RulePolicy(name, severity, hold_for, group_by)


def alert(
    rule: str = "utilization-low", severity: Severity = Severity.PAGE, **labels: str
) -> Alert:
    return Alert(
        rule=rule,
        severity=severity,
        status=AlertStatus.FIRING,
        labels={"rule": rule, "severity": str(severity), **labels},
        summary=f"{rule} {labels}",
        link=f"http://dash/{rule}",
        starts_at=T0,
        value=50.0,
        threshold=65.0,
        unit="%",
    )


def evaluation(rule: RulePolicy, *alerts: Alert, when: datetime = T0) -> Evaluation:
    return Evaluation(rule, when, tuple(alerts))


def config(**overrides: object) -> PipelineConfig:
    base: dict[str, object] = {
        "channels": frozenset({ChannelKind.EMAIL, ChannelKind.SLACK}),
        "dashboard_url": "http://dash",
        "group_wait": timedelta(seconds=30),
        "group_interval": timedelta(minutes=5),
        "repeat_interval": timedelta(hours=4),
        "flow_vendors": {"outbox": frozenset({"xero"}), "rollups": frozenset()},
    }
    return PipelineConfig(**(base | overrides))  # type: ignore[arg-type]


@dataclass
class Harness:
    """Passes over one store with two fake channels."""

    store: Engine
    email: FakeChannel = field(default_factory=lambda: FakeChannel(ChannelKind.EMAIL))
    slack: FakeChannel = field(default_factory=lambda: FakeChannel(ChannelKind.SLACK))
    config: PipelineConfig = field(default_factory=config)
    sleeper: SleepingClock = field(default_factory=SleepingClock)

    def run(
        self, when: datetime, *evaluations: Evaluation, in_force: Sequence[str] | None = None
    ) -> PassReport:
        pacer = Pacer(self.sleeper, self.sleeper.sleep)
        channels = (self.email, self.slack)
        return run_pass(
            self.store, evaluations, channels, self.config, when, pacer=pacer, in_force=in_force
        )

    def log(self) -> list[NotificationRow]:
        with Session(self.store) as session:
            statement = select(NotificationRow).order_by(NotificationRow.id)
            return list(session.scalars(statement))


@pytest.fixture
def harness(store: Engine) -> Iterator[Harness]:
    yield Harness(store)


def practices(notification: Notification) -> list[str]:
    return sorted(a.labels["practice"] for a in notification.alerts)


def statuses(notifications: Sequence[Notification]) -> list[str]:
    return [str(n.status) for n in notifications]
