"""``close_risk`` rules: from N days before the cut-off of the month at risk, what would miss
its close — unapproved hours, approved billable hours not yet billable, invoices not posted."""

from __future__ import annotations

import polars as pl

from alerts.inputs import ClosePeriod, Inputs
from alerts.instances import Context, Measured, alert
from alerts.model import Alert, Cause
from alerts.rule_kinds import CloseRiskRule

UNITS = {"unapproved_hours_above": "h unapproved", "unbillable_hours_above": "h not billable",
         "unposted_invoices_above": "invoices not posted"}  # fmt: skip


def at_risk(rule: CloseRiskRule, close: ClosePeriod) -> pl.DataFrame:
    """``value`` (and the ``by`` column) of the rule's measure for the month at risk."""
    if rule.measure == "unposted_invoices_above":
        waiting = close.invoices.filter(
            pl.col("posted_at").is_null() & (pl.col("status") != "voided")
        )
        return pl.DataFrame({"value": [float(waiting.height)]})
    time = close.time.with_columns(pl.col("hours").cast(pl.Float64))
    if rule.measure == "unapproved_hours_above":
        rows = time.filter(pl.col("approved_at").is_null())
    else:
        rows = time.filter(
            pl.col("billable")
            & pl.col("approved_at").is_not_null()
            & pl.col("event_created_at").is_null()
        )
    if rule.by is None:
        return rows.select(pl.col("hours").sum().alias("value"))
    column = {"customer": "customer_id", "project": "project_id"}.get(rule.by, rule.by)
    dims = close.projects.select("project_id", pl.col(column).alias(rule.by)).unique("project_id")
    return (
        rows.join(dims, on="project_id", how="left")
        .group_by(rule.by)
        .agg(pl.col("hours").sum().alias("value"))
        .sort(rule.by, nulls_last=True)
    )


def evaluate(rule: CloseRiskRule, inputs: Inputs, ctx: Context) -> list[Alert]:
    close = inputs.close
    if close is None:
        raise LookupError("the month at risk was not read")
    days_left = (close.cutoff - ctx.now.date()).days
    if days_left > rule.days_before or days_left < 0:
        return []
    period = f"{close.start:%B %Y}"
    found = []
    for row in at_risk(rule, close).iter_rows(named=True):
        if (row["value"] or 0) <= rule.threshold:
            continue
        slice_labels = {"period": period, "measure": rule.measure.removesuffix("_above")}
        if rule.by:
            slice_labels[rule.by] = str(row[rule.by] or "")
        found.append(
            alert(
                rule,
                Measured(
                    labels=slice_labels,
                    value=round(float(row["value"]), 2),
                    threshold=rule.threshold,
                    unit=UNITS[rule.measure],
                    link=ctx.link("billing" if rule.measure == "unposted_invoices_above" else ""),
                    causes=(
                        Cause(
                            label="cut-off",
                            detail=f"{close.cutoff:%d %b %Y}: {days_left} days left",
                        ),
                    ),
                ),
                ctx,
            )
        )
    return found
