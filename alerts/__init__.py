"""Alerting: rules as data, evaluated over the store, notified by email and Slack without noise.

The front door other packages use (the CLI, the dashboard, the engine's scheduler): one pass
(:func:`evaluate_and_notify`), the scheduled job, the configuration check, a sample sent to a
channel, silences, and the read side (:mod:`alerts.views`). Everything else is the package's own.
"""

from __future__ import annotations

from alerts import views
from alerts.channels.phrasing import measure
from alerts.matchers import MatcherError
from alerts.model import AlertStatus, ChannelKind, DeliveryError, Severity
from alerts.pipeline import PassReport
from alerts.policy import AlertsConfigError, PipelineConfig
from alerts.rule_base import duration_text, parse_duration
from alerts.rules import KINDS, Rule, RuleError, RuleSet, load_rules
from alerts.service import (
    ChannelNotConfigured,
    EvaluationJob,
    channel,
    check,
    describe,
    evaluate_and_notify,
    evaluation_job,
    rules_in_force,
    send_test,
)
from alerts.silences import Silence, SilenceError, silence_add, silence_expire, silence_list

__all__ = [
    "KINDS",
    "AlertStatus",
    "AlertsConfigError",
    "ChannelKind",
    "ChannelNotConfigured",
    "DeliveryError",
    "EvaluationJob",
    "MatcherError",
    "PassReport",
    "PipelineConfig",
    "Rule",
    "RuleError",
    "RuleSet",
    "Severity",
    "Silence",
    "SilenceError",
    "channel",
    "check",
    "describe",
    "duration_text",
    "evaluate_and_notify",
    "evaluation_job",
    "load_rules",
    "measure",
    "parse_duration",
    "rules_in_force",
    "send_test",
    "silence_add",
    "silence_expire",
    "silence_list",
    "views",
]
