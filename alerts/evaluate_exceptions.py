"""``exceptions`` rules: open exceptions above a count or a value at risk, or a surge of new
ones, per slice (flow and/or category); the top categories are the causes."""

from __future__ import annotations

from decimal import Decimal

import polars as pl

from alerts.inputs import Inputs
from alerts.instances import Context, Measured, alert, shown
from alerts.model import Alert, Cause
from alerts.rule_kinds import ExceptionsRule
from sync.store import OPEN_STATUSES

TOP_CAUSES = 3


def _scoped(rule: ExceptionsRule, exceptions: pl.DataFrame) -> pl.DataFrame:
    out = exceptions
    if rule.flow is not None:
        out = out.filter(pl.col("flow") == rule.flow)
    if rule.category is not None:
        out = out.filter(pl.col("category") == rule.category)
    return out


def _causes(rows: pl.DataFrame, ctx: Context, flow: str | None) -> tuple[Cause, ...]:
    """The categories with the most open exceptions, their counts and money."""
    top = (
        rows.group_by("category", "currency")
        .agg(pl.len().alias("count"), pl.col("value_at_risk").cast(pl.Float64).sum().alias("money"))
        .sort(["count", "money"], descending=True, nulls_last=True)
        .head(TOP_CAUSES)
    )
    return tuple(
        Cause(
            label=row["category"],
            detail=f"{row['count']} open"
            + (f" · {row['currency']} {shown(row['money'])}" if row["currency"] else ""),
            link=ctx.link(
                "exceptions", {"category": row["category"], "flow": flow, "status": "open"}
            ),
        )
        for row in top.iter_rows(named=True)
    )


def _measure(rule: ExceptionsRule, rows: pl.DataFrame, now: object) -> float:
    if rule.measure == "count_above":
        return float(rows.filter(pl.col("status").is_in(OPEN_STATUSES)).height)
    if rule.measure == "value_at_risk_above":
        open_rows = rows.filter(pl.col("status").is_in(OPEN_STATUSES))
        return float(open_rows["value_at_risk"].cast(pl.Float64).fill_null(0).sum())
    window, baseline = rule.window, rule.baseline
    recent = rows.filter(pl.col("first_seen") > now - window).height  # type: ignore[operator]
    before = rows.filter(
        (pl.col("first_seen") > now - window - baseline)  # type: ignore[operator]
        & (pl.col("first_seen") <= now - window)  # type: ignore[operator]
    ).height
    if recent < rule.min_new:
        return 0.0
    expected = before * (window / baseline)
    return recent / expected if expected > 0 else float(recent)  # no baseline: all of it is new


def evaluate(rule: ExceptionsRule, inputs: Inputs, ctx: Context) -> list[Alert]:
    if inputs.exceptions is None:
        raise LookupError("the exceptions were not read")
    rows = _scoped(rule, inputs.exceptions)
    keys = list(rule.by) + (["currency"] if rule.measure == "value_at_risk_above" else [])
    groups = rows.partition_by(keys, as_dict=True) if keys else {(): rows}
    threshold = float(getattr(rule, rule.measure))
    unit = {"count_above": "open exceptions", "value_at_risk_above": "at risk", "surge": "×"}
    found = []
    for key, part in sorted(groups.items(), key=lambda kv: tuple(str(k) for k in kv[0])):
        slice_labels = {k: str(v) for k, v in zip(keys, key, strict=True) if v is not None}
        value = _measure(rule, part, ctx.now)
        if value <= threshold:
            continue
        flow = slice_labels.get("flow", rule.flow)
        category = slice_labels.get("category", rule.category)
        opened = part.filter(pl.col("status").is_in(OPEN_STATUSES))
        risk = opened.group_by("currency").agg(pl.col("value_at_risk").cast(pl.Float64).sum())
        money = risk.drop_nulls("currency")
        single = money.height == 1
        found.append(
            alert(
                rule,
                Measured(
                    labels={"flow": flow or "", "category": category or "", **slice_labels},
                    value=value,
                    threshold=threshold,
                    unit=unit[rule.measure],
                    link=ctx.link(
                        "exceptions", {"category": category, "flow": flow, "status": "open"}
                    ),
                    value_at_risk=Decimal(str(round(money.item(0, 1) or 0, 2))) if single else None,
                    currency=str(money.item(0, 0)) if single else "",
                    causes=_causes(opened, ctx, flow),
                ),
                ctx,
            )
        )
    return found
