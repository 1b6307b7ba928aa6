"""``kpi`` rules: a threshold on a headline KPI, one alert per slice value (and currency).

The value comes from the report's ``headline`` frame, or, for one aging ``bucket``, from the WIP
or unapproved-time frame summed per slice. Shares are compared in percent.
"""

from __future__ import annotations

from decimal import Decimal

import polars as pl

import metrics
from alerts.inputs import Inputs, kpi_query
from alerts.instances import Context, Measured, alert, beyond
from alerts.model import Alert
from alerts.rule_kinds import KpiRule

UNITS = {"share": "%", "money": "", "hours": "h", "days": "days"}
BILLING_VIEW = ("wip", "wip_hours")  # shown on the Billing page; the rest on the Overview


def values(rule: KpiRule, report: metrics.KpiReport) -> pl.DataFrame:
    """``currency``, the ``by`` column (when sliced) and ``value`` for the rule's KPI."""
    keys = ["currency", *([rule.by] if rule.by else [])]
    if rule.bucket is None:
        frame = report.headline.filter(pl.col("kpi") == rule.kpi).select(*keys, "value")
    else:
        source = report.unapproved if rule.kpi == "unapproved_hours" else report.wip
        column = "amount" if rule.kpi == "wip" else "hours"
        if "currency" not in source.columns:
            source = source.with_columns(pl.lit(None, pl.String).alias("currency"))
        frame = (
            source.filter(pl.col("bucket").cast(pl.String) == rule.bucket)
            .group_by(keys)
            .agg(pl.col(column).cast(pl.Float64).sum().alias("value"))
        )
    if rule.currency is not None:
        frame = frame.filter(pl.col("currency") == rule.currency)
    if metrics.KPIS[rule.kpi] == "share":
        frame = frame.with_columns(pl.col("value") * 100)
    return frame.with_columns(pl.col("value").round(2)).sort(keys, nulls_last=True)


def evaluate(rule: KpiRule, inputs: Inputs, ctx: Context) -> list[Alert]:
    report = inputs.kpis.get(kpi_query(rule))
    if report is None:
        raise LookupError(f"the KPIs for {kpi_query(rule)} were not read")
    unit = metrics.KPIS[rule.kpi]
    path = "billing" if rule.kpi in BILLING_VIEW else ""
    found = []
    for row in values(rule, report).iter_rows(named=True):
        if not beyond(row["value"], above=rule.above, below=rule.below):
            continue
        currency = row["currency"] or ""
        slice_labels: dict[str, str] = {
            "kpi": rule.kpi,
            **{str(k): v for k, v in rule.where.items()},
            **({"bucket": rule.bucket} if rule.bucket else {}),
        }
        if rule.by:
            slice_labels[rule.by] = str(row[rule.by] or "")
        money = Decimal(str(round(row["value"], 2))) if unit == "money" else None
        found.append(
            alert(
                rule,
                Measured(
                    labels=slice_labels,
                    value=float(row["value"]),
                    threshold=rule.threshold,
                    unit=UNITS[unit],
                    link=ctx.link(path, {"grain": rule.grain.capitalize()}),
                    value_at_risk=money,
                    currency=currency,
                    fields={"period": f"{report.period[0]:%d %b} – {report.period[1]:%d %b %Y}"},
                ),
                ctx,
            )
        )
    return found
