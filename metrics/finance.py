"""Money KPIs over invoices, billing events and costs: realization, project margin, invoice
dispute rate, write-offs and billable backlog. Amounts are per currency; nothing here adds
different currencies together.
"""

from __future__ import annotations

import polars as pl


def _ratio(numerator: str, denominator: str, name: str) -> pl.Expr:
    return (
        pl.when(pl.col(denominator) != 0)
        .then(pl.col(numerator).cast(pl.Float64) / pl.col(denominator).cast(pl.Float64))
        .otherwise(None)
        .alias(name)
    )


def realization(work: pl.DataFrame, *, by: list[str]) -> pl.DataFrame:
    """Billed value ÷ (hours worked × standard rate). ``work``: hours, standard_rate,
    billed_amount (what was invoiced for that work, 0 if written down), currency + ``by``."""
    keys = ["currency", *by]
    return (
        work.group_by(keys, maintain_order=True)
        .agg(
            (pl.col("hours") * pl.col("standard_rate")).sum().alias("standard_value"),
            pl.col("billed_amount").sum().alias("billed_value"),
        )
        .with_columns(_ratio("billed_value", "standard_value", "realization"))
        .sort(keys)
    )


def project_margin(
    revenue: pl.DataFrame, labour: pl.DataFrame, expenses: pl.DataFrame
) -> pl.DataFrame:
    """(revenue − hours × cost rate − expenses) ÷ revenue per project and currency.
    ``revenue``: project_id, currency, amount; ``labour``: project_id, hours, cost_rate;
    ``expenses``: project_id, amount. Costs are taken in the project's currency."""
    rev = revenue.group_by("project_id", "currency").agg(pl.col("amount").sum().alias("revenue"))
    cost = labour.group_by("project_id").agg(
        (pl.col("hours") * pl.col("cost_rate")).sum().alias("labour_cost")
    )
    spent = expenses.group_by("project_id").agg(pl.col("amount").sum().alias("expenses"))
    return (
        rev.join(cost, on="project_id", how="left")
        .join(spent, on="project_id", how="left")
        .with_columns(pl.col("labour_cost", "expenses").fill_null(0))
        .with_columns(
            (pl.col("revenue") - pl.col("labour_cost") - pl.col("expenses")).alias("margin")
        )
        .with_columns(_ratio("margin", "revenue", "margin_share"))
        .sort("project_id")
    )


def disputes_and_write_offs(
    invoices: pl.DataFrame, credit_notes: pl.DataFrame, *, by: list[str] | None = None
) -> pl.DataFrame:
    """Dispute rate = invoices with a dispute ÷ invoices issued; write-off share = written-off
    value ÷ invoiced value. ``invoices``: invoice_id, total, currency (+ by);
    ``credit_notes``: invoice_id, amount, reason ("dispute" | "write_off")."""
    keys = ["currency", *(by or [])]
    flags = credit_notes.group_by("invoice_id").agg(
        (pl.col("reason") == "dispute").any().alias("disputed"),
        pl.col("amount").filter(pl.col("reason") == "write_off").sum().alias("written_off"),
    )
    return (
        invoices.join(flags, on="invoice_id", how="left")
        .with_columns(pl.col("disputed").fill_null(False), pl.col("written_off").fill_null(0))
        .group_by(keys, maintain_order=True)
        .agg(
            pl.len().alias("issued"),
            pl.col("disputed").sum().alias("disputed"),
            pl.col("total").sum().alias("invoiced"),
            pl.col("written_off").sum().alias("written_off"),
        )
        .with_columns(
            _ratio("disputed", "issued", "dispute_rate"),
            _ratio("written_off", "invoiced", "write_off_share"),
        )
        .sort(keys)
    )


def billable_backlog(contracts: pl.DataFrame, billed: pl.DataFrame) -> pl.DataFrame:
    """Contracted value not yet billed, per contract. ``contracts``: contract_id, currency,
    contract_value (fee, cap or expected value); ``billed``: contract_id, amount."""
    done = billed.group_by("contract_id").agg(pl.col("amount").sum().alias("billed"))
    return (
        contracts.join(done, on="contract_id", how="left")
        .with_columns(pl.col("billed").fill_null(0))
        .with_columns(
            (pl.col("contract_value") - pl.col("billed")).clip(lower_bound=0).alias("backlog")
        )
        .sort("contract_id")
    )
