"""``slo`` rules: the burn-rate conditions of the rule's severity over the SLI's judged events.

One alert per rule when any of its conditions holds (the fastest-burning long window is the
value); the causes say each window's burn rate and the error budget left."""

from __future__ import annotations

from datetime import datetime

import polars as pl

from alerts import slo
from alerts.inputs import Inputs
from alerts.instances import Context, Measured, alert, shown
from alerts.model import Alert, Cause
from alerts.rule_base import duration_text
from alerts.rule_kinds import SloRule


def live_since(inputs: Inputs, sli: slo.Sli) -> datetime | None:
    """When the SLI's fulfilling flow first ran (events before it are not counted)."""
    if inputs.last_runs is None:
        return None
    row = inputs.last_runs.filter(pl.col("flow") == sli.flow.value)
    return row.item(0, "first_started_at") if row.height else None


def judged(rule: SloRule, inputs: Inputs, now: datetime) -> pl.DataFrame:
    events = inputs.sli_events.get(rule.sli)
    if events is None:
        raise LookupError(f"the events of SLI {rule.sli} were not read")
    sli = slo.SLIS[rule.sli]
    return slo.judge(events, deadline=sli.deadline, now=now, live_since=live_since(inputs, sli))


def evaluate(rule: SloRule, inputs: Inputs, ctx: Context) -> list[Alert]:
    decided = judged(rule, inputs, ctx.now)
    found = slo.breaches(
        decided,
        objective=rule.target,
        now=ctx.now,
        severity=rule.severity,
        min_events=rule.min_events,
    )
    if not found:
        return []
    worst = max(found, key=lambda b: b.long.burn_rate or 0)
    left = slo.budget_remaining(decided, objective=rule.target, now=ctx.now)
    windows = [
        Cause(
            label=f"{duration_text(b.condition.long)} / {duration_text(b.condition.short)}",
            detail=f"burn {shown(b.long.burn_rate)}× and {shown(b.short.burn_rate)}× "
            f"(≥ {shown(b.condition.burn_rate)}×): {b.long.bad} of {b.long.events} late",
        )
        for b in found
    ]
    budget = Cause(label="error budget", detail=f"{shown((left or 0) * 100)} % left of 30 days")
    causes = (*windows, budget)
    sli = slo.SLIS[rule.sli]
    return [
        alert(
            rule,
            Measured(
                labels={"sli": rule.sli, "window": duration_text(worst.condition.long)},
                value=round(worst.long.burn_rate or 0, 2),
                threshold=worst.condition.burn_rate,
                unit="×",
                link=ctx.link(sli.view),
                causes=causes,
            ),
            ctx,
        )
    ]
