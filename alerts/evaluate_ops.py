"""``staleness`` and ``vendor`` rules: the engine's own health, from its runs and vendor calls."""

from __future__ import annotations

import polars as pl

from alerts.inputs import Inputs
from alerts.instances import Context, Measured, alert
from alerts.model import Alert, Cause
from alerts.rule_kinds import StalenessRule, VendorRule
from metrics import health


def staleness(rule: StalenessRule, inputs: Inputs, ctx: Context) -> list[Alert]:
    """A flow whose last success (or, never having succeeded, its first start) is older than
    ``multiple`` × its interval."""
    if inputs.last_runs is None:
        raise LookupError("the flow runs were not read")
    wanted = rule.flows or tuple(inputs.intervals)
    found = []
    for row in (
        inputs.last_runs.filter(pl.col("flow").is_in(wanted)).sort("flow").iter_rows(named=True)
    ):
        interval = inputs.intervals.get(row["flow"])
        since = row["last_ok"] or row["first_started_at"]
        if interval is None or since is None:
            continue
        minutes = (ctx.now - since).total_seconds() / 60
        limit = rule.multiple * interval / 60
        if minutes <= limit:
            continue
        detail = (
            "never succeeded"
            if row["last_ok"] is None
            else f"last success {row['last_ok']:%d %b %H:%M} UTC"
        )
        found.append(
            alert(
                rule,
                Measured(
                    labels={"flow": row["flow"]},
                    value=round(minutes, 1),
                    threshold=round(limit, 1),
                    unit="minutes",
                    link=ctx.link("health"),
                    causes=(Cause(label=row["flow"], detail=detail),),
                ),
                ctx,
            )
        )
    return found


UNITS = {"error_rate": "%", "throttled_share": "%", "p95_latency_ms": " ms"}


def vendor(rule: VendorRule, inputs: Inputs, ctx: Context) -> list[Alert]:
    """Each vendor's calls started within ``window`` before now, with at least ``min_calls``."""
    if inputs.spans is None:
        raise LookupError("the vendor calls were not read")
    # spans were read over the longest window of the vendor rules; keep this rule's
    recent = inputs.spans.filter(pl.col("start_time") >= inputs.now - rule.window)
    calls = health.vendor_calls(recent)
    if rule.vendor is not None:
        calls = calls.filter(pl.col("vendor") == rule.vendor)
    measured = calls.with_columns(
        (pl.col("errors") / pl.col("calls") * 100).alias("error_rate"),
        (pl.col("throttled") / pl.col("calls") * 100).alias("throttled_share"),
        pl.col("p95_ms").alias("p95_latency_ms"),
    )
    found = []
    for row in measured.iter_rows(named=True):
        value = row[rule.metric]
        if row["calls"] < rule.min_calls or value is None or value <= rule.above:
            continue
        detail = f"{row['calls']} calls · {row['errors']} errors · {row['throttled']} × 429"
        found.append(
            alert(
                rule,
                Measured(
                    labels={"vendor": row["vendor"] or "", "metric": rule.metric},
                    value=round(float(value), 2),
                    threshold=rule.above,
                    unit=UNITS[rule.metric],
                    link=ctx.link("health"),
                    causes=(Cause(label=row["vendor"] or "unknown", detail=detail),),
                ),
                ctx,
            )
        )
    return found
