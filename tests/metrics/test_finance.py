from __future__ import annotations

from decimal import Decimal

import polars as pl

from metrics.finance import billable_backlog, disputes_and_write_offs, project_margin, realization

D = pl.Decimal(18, 2)


def test_realization_against_standard_rates() -> None:
    work = pl.DataFrame(
        {
            "project_id": ["p", "p", "q"],
            "currency": ["USD"] * 3,
            "hours": [10, 5, 0],
            "standard_rate": [200, 200, 100],
            "billed_amount": [1800, 1000, 0],
        },
        schema_overrides={"hours": D, "standard_rate": D, "billed_amount": D},
    )
    out = realization(work, by=["project_id"])
    assert dict(zip(out["project_id"], out["realization"], strict=True)) == {
        "p": 2800 / 3000,
        "q": None,
    }


def test_margin_with_costs_and_expenses_and_zero_revenue() -> None:
    revenue = pl.DataFrame(
        {"project_id": ["p", "z"], "currency": ["USD", "USD"], "amount": [10_000, 0]},
        schema_overrides={"amount": D},
    )
    labour = pl.DataFrame(
        {"project_id": ["p", "p"], "hours": [40, 20], "cost_rate": [100, 50]},
        schema_overrides={"hours": D, "cost_rate": D},
    )
    expenses = pl.DataFrame({"project_id": ["p"], "amount": [500]}, schema_overrides={"amount": D})
    out = project_margin(revenue, labour, expenses)
    p = out.filter(pl.col("project_id") == "p").row(0, named=True)
    assert p["margin"] == Decimal(4500) and p["margin_share"] == 0.45
    assert out.filter(pl.col("project_id") == "z")["margin_share"].to_list() == [None]


def test_dispute_rate_and_write_offs_per_currency() -> None:
    invoices = pl.DataFrame(
        {
            "invoice_id": ["a", "b", "c", "d"],
            "total": [1000, 2000, 500, 800],
            "currency": ["USD", "USD", "USD", "GBP"],
        },
        schema_overrides={"total": D},
    )
    credits = pl.DataFrame(
        {
            "invoice_id": ["a", "a", "c"],
            "amount": [100, 150, 50],
            "reason": ["dispute", "write_off", "write_off"],
        },
        schema_overrides={"amount": D},
    )
    out = disputes_and_write_offs(invoices, credits)
    usd = out.filter(pl.col("currency") == "USD").row(0, named=True)
    assert (usd["issued"], usd["disputed"]) == (3, 1)
    assert usd["dispute_rate"] == 1 / 3 and usd["write_off_share"] == 200 / 3500
    assert out.filter(pl.col("currency") == "GBP")["dispute_rate"].to_list() == [0.0]


def test_backlog_never_negative() -> None:
    contracts = pl.DataFrame(
        {"contract_id": ["a", "b"], "currency": ["USD", "USD"], "contract_value": [10_000, 1_000]},
        schema_overrides={"contract_value": D},
    )
    billed = pl.DataFrame(
        {"contract_id": ["a", "b", "b"], "amount": [2500, 900, 300]}, schema_overrides={"amount": D}
    )
    out = billable_backlog(contracts, billed)
    assert out["backlog"].to_list() == [Decimal(7500), Decimal(0)]
