"""The front door of alerting: one evaluation and notification pass, the job that runs it on a
schedule, the check of the rules and routes a process starts with, and a sample sent to one
channel.

:func:`evaluate_and_notify` loads the rules in force, reads what they need from the store, evaluates
them and runs the pipeline's pass with the channels ``[alerts]`` configures. A pass over the rules
of the settings is a *full* pass: the alerts of a rule no longer in force resolve. The scheduled
job (:func:`evaluation_job`) never raises: a failing pass is logged, with its cause, and the next
tick tries again; the engine's flows go on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from alerts.channels import channels_from, sample_notification
from alerts.delivery import Pacer
from alerts.evaluate import evaluate
from alerts.inputs import read_inputs
from alerts.model import Channel, ChannelKind, DeliveryError
from alerts.pipeline import PassReport, run_pass
from alerts.policy import AlertsConfigError, PipelineConfig
from alerts.rules import RuleError, RuleSet, load_rules
from sync import Settings

log = logging.getLogger("plan2cash.alerts")
Clock = Callable[[], datetime]


class ChannelNotConfigured(ValueError):
    """A channel asked for that ``[alerts]`` does not configure; the message names the key."""


def rules_in_force(settings: Settings) -> RuleSet:
    """The rules of ``[[alerts.rules]]`` (or the defaults); :class:`RuleError` names a bad one."""
    return load_rules(settings.alerts.rules)


def check(settings: Settings) -> RuleSet:
    """The rules in force, after checking them and the routes, inhibitions and mute timings;
    raises :class:`RuleError` or :class:`AlertsConfigError`, each naming the rule or key."""
    rules = rules_in_force(settings)
    PipelineConfig.from_settings(settings.alerts)
    return rules


def evaluate_and_notify(
    store: Engine,
    settings: Settings,
    now: datetime,
    *,
    rules: RuleSet | None = None,
    channels: Iterable[Channel] | None = None,
    pacer: Pacer | None = None,
) -> PassReport:
    """One pass at ``now``: evaluate ``rules`` (default: those in force, a full pass) over the
    store and notify through ``channels`` (default: those ``[alerts]`` configures)."""
    full = rules is None
    ruleset = rules if rules is not None else rules_in_force(settings)
    config = PipelineConfig.from_settings(settings.alerts)
    with store.connect() as connection:
        inputs = read_inputs(connection, settings, now, ruleset)
    evaluations = evaluate(ruleset, inputs, now, config.dashboard_url)
    return run_pass(
        store,
        evaluations,
        list(channels) if channels is not None else channels_from(settings.alerts),
        config,
        now,
        pacer=pacer,
        in_force=[rule.name for rule in ruleset] if full else None,
    )


def describe(report: PassReport) -> str:
    """A pass in one line, for the engine's log."""
    return (
        f"{len(report.fired)} fired, {len(report.resolved)} resolved, "
        f"{len(report.pending)} pending, {len(report.silenced)} silenced, "
        f"{len(report.inhibited)} inhibited, {len(report.held)} muted, "
        f"{len(report.sent)} sent, {len(report.failed)} failed"
        + (f"; rules not evaluated: {', '.join(report.kept)}" if report.kept else "")
    )


@dataclass
class EvaluationJob:
    """The scheduled pass: ``run()`` evaluates and notifies at ``clock()`` and never raises."""

    store: Engine
    settings: Settings
    clock: Clock
    last: PassReport | None = None
    last_error: str | None = None

    def run(self) -> PassReport | None:
        now = self.clock()
        try:
            report = evaluate_and_notify(self.store, self.settings, now)
        except Exception as error:  # a failing pass never stops the engine; the next tick retries
            self.last_error = f"{type(error).__name__}: {error}"
            log.exception("alerts: the evaluation at %s failed: %s", now.isoformat(), error)
            return None
        self.last, self.last_error = report, None
        level = logging.WARNING if report.failed or report.kept else logging.INFO
        log.log(level, "alerts: evaluated at %s: %s", now.isoformat(), describe(report))
        return report

    def tick(self) -> str:
        """One scheduled run, said in a line (what a scheduler or work queue records)."""
        report = self.run()
        return describe(report) if report is not None else f"failed: {self.last_error}"


def evaluation_job(store: Engine, settings: Settings, clock: Clock) -> EvaluationJob:
    """The job ``plan2cash run`` (and a worker's periodic task) runs every
    ``alerts.evaluate_seconds``."""
    return EvaluationJob(store, settings, clock)


def channel(settings: Settings, kind: ChannelKind) -> Channel:
    """The configured channel ``kind``; :class:`ChannelNotConfigured` names the missing key."""
    for configured in channels_from(settings.alerts):
        if configured.kind is kind:
            return configured
    needs = "host, from_addr and to" if kind is ChannelKind.EMAIL else "webhook_url"
    raise ChannelNotConfigured(f"alerts.{kind} is not configured: add [alerts.{kind}] with {needs}")


def send_test(settings: Settings, kind: ChannelKind, now: datetime) -> str:
    """Send the sample notification through ``kind``; returns the message as rendered. Raises
    :class:`ChannelNotConfigured` or :class:`~alerts.model.DeliveryError`."""
    target = channel(settings, kind)
    notification = sample_notification(settings.alerts.dashboard_url, now)
    target.send(notification)
    return target.render(notification)


__all__ = [
    "AlertsConfigError",
    "ChannelNotConfigured",
    "DeliveryError",
    "EvaluationJob",
    "RuleError",
    "channel",
    "check",
    "describe",
    "evaluate_and_notify",
    "evaluation_job",
    "rules_in_force",
    "send_test",
]
