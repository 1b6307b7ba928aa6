"""Evaluating rules: pure, frames in (:class:`~alerts.inputs.Inputs`), one
:class:`~alerts.model.Evaluation` per rule out. A rule that cannot be evaluated (its data not
read, a KPI undefined, a bug) yields an evaluation carrying ``error`` instead of raising."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from alerts import evaluate_close, evaluate_exceptions, evaluate_kpi, evaluate_ops, evaluate_slo
from alerts.inputs import Inputs
from alerts.instances import Context
from alerts.model import Alert, Evaluation
from alerts.rules import Rule

log = logging.getLogger(__name__)
Evaluator = Callable[[Any, Inputs, Context], list[Alert]]
KINDS: dict[str, Evaluator] = {
    "kpi": evaluate_kpi.evaluate,
    "exceptions": evaluate_exceptions.evaluate,
    "staleness": evaluate_ops.staleness,
    "vendor": evaluate_ops.vendor,
    "slo": evaluate_slo.evaluate,
    "close_risk": evaluate_close.evaluate,
}


def evaluate(
    rules: Iterable[Rule], inputs: Inputs, now: datetime, dashboard_url: str
) -> list[Evaluation]:
    """Each rule evaluated at ``now``; links point into ``dashboard_url``."""
    ctx = Context(now=now, dashboard_url=dashboard_url)
    return [_one(rule, inputs, ctx) for rule in rules]


def _one(rule: Rule, inputs: Inputs, ctx: Context) -> Evaluation:
    try:
        alerts = KINDS[rule.kind](rule, inputs, ctx)
    except Exception as error:  # one bad rule never stops the others
        read = "; ".join(inputs.errors.values())
        message = f"{type(error).__name__}: {error}" + (f" ({read})" if read else "")
        log.warning("alerts: rule %s could not be evaluated: %s", rule.name, message)
        return Evaluation(policy=rule.policy, at=ctx.now, alerts=(), error=message)
    return Evaluation(policy=rule.policy, at=ctx.now, alerts=tuple(alerts))
