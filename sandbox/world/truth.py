"""Ground truth: what plan2cash should compute from the world, for tests to compare against.

``expected_invoices`` is what the current engine should invoice: for each project (a Harvest
project is the contract the engine bills) and each calendar month that has ended, on or after
go-live, the approved billable time that is not planted bad and not already invoiced by the
firm's earlier process, priced by ``sandbox.world.pricing`` with one line per person and rate.
A project whose time passes its not-to-exceed cap (``over_cap``) is billed only up to the cap.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import polars as pl

from sandbox.world.model import World
from sandbox.world.pricing import line_amount, priced


def month_end(first: date) -> date:
    following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return following - timedelta(days=1)


def faulty_entry_ids(world: World) -> set[int]:
    return {key for (kind, key) in world.faults if kind == "time_entry"}


def billable_entries(world: World) -> pl.DataFrame:
    """Approved, billable, valid, un-invoiced time on known projects since go-live, priced."""
    open_month = world.today.replace(day=1)
    entries = world.time_entries.filter(
        (pl.col("status") == "approved")
        & pl.col("billable")
        & pl.col("invoice_id").is_null()
        & (pl.col("spent_date") >= world.go_live)
        & (pl.col("spent_date") < open_month)
        & ~pl.col("id").is_in(sorted(faulty_entry_ids(world)))
    )
    known = {p.id for p in world.projects}
    entries = entries.filter(pl.col("project_id").is_in(sorted(known)))
    return priced(
        entries, world.projects, world.contracts, world.assignments, world.rate_cards
    ).with_columns(period_start=pl.col("spent_date").dt.truncate("1mo"))


def expected_invoices(world: World) -> list[dict[str, Any]]:
    """One row per (project, ended month): code, customer, currency, hours, total, lines."""
    frame = billable_entries(world)
    unpriced = frame.filter(pl.col("rate").is_null())["id"]
    if not unpriced.is_empty():  # the world contradicts itself: such time must carry a fault label
        raise ValueError(
            f"time entries without a rate and not labelled as faults: {unpriced[:10].to_list()}"
        )
    lines = (
        frame.group_by("project_id", "period_start", "employee_id", "rate")
        .agg(pl.col("hours").sum())
        .sort("project_id", "period_start", "employee_id", "rate")
    )
    projects = {p.id: p for p in world.projects}
    customers = {c.id: c for c in world.customers}
    totals: dict[tuple[int, date], dict[str, Any]] = {}
    for row in lines.iter_rows(named=True):
        key = (row["project_id"], row["period_start"])
        project = projects[row["project_id"]]
        invoice = totals.setdefault(key, _invoice(project, customers, row["period_start"]))
        hours, rate = Decimal(row["hours"]), Decimal(row["rate"])
        invoice["hours"] += hours
        invoice["total"] += line_amount(hours, rate)
        invoice["lines"].append((row["employee_id"], rate, hours))
    return sorted(totals.values(), key=lambda r: (r["period_start"], r["project_code"]))


def _invoice(project: Any, customers: dict[int, Any], period_start: date) -> dict[str, Any]:
    customer = customers[project.customer_id]
    return {
        "project_id": project.id,
        "contract_id": project.contract_id,
        "project_code": project.code,
        "client_name": customer.name,
        "currency": project.currency,
        "legal_entity_id": project.legal_entity_id,
        "period_start": period_start,
        "hours": Decimal(0),
        "total": Decimal("0.00"),
        "lines": [],
    }


def caps(world: World) -> dict[int, Decimal]:
    """Each contract's not-to-exceed cap: its ``not_to_exceed`` (the CRM's), else a fixed-fee
    contract's fee (the most it can bill; Harvest shows it as the project's fee)."""
    out = {}
    for contract in world.contracts:
        fixed = contract.fee if contract.billing_model == "fixed-fee" else None
        cap = contract.not_to_exceed if contract.not_to_exceed is not None else fixed
        if cap is not None:
            out[contract.id] = cap
    return out


def over_cap(world: World) -> dict[int, tuple[Decimal, Decimal]]:
    """Contracts whose expected billing passes their cap: contract id → (cap, expected total).

    The engine bills such a contract up to its cap in the order it meets the time (Harvest serves
    the newest first) and holds the entry that crosses it and what follows (``over_cap``), so
    its invoices are not ``expected_invoices``: they stay within the cap instead."""
    totals: dict[int, Decimal] = defaultdict(Decimal)
    for invoice in expected_invoices(world):
        totals[invoice["contract_id"]] += invoice["total"]
    return {
        contract: (cap, totals[contract])
        for contract, cap in caps(world).items()
        if totals.get(contract, Decimal(0)) > cap
    }


def hours_by_month(world: World) -> dict[date, Decimal]:
    """Approved hours per month (an input to utilization)."""
    frame = world.time_entries.filter(pl.col("status") == "approved")
    grouped = frame.group_by(pl.col("spent_date").dt.truncate("1mo")).agg(pl.col("hours").sum())
    out: dict[date, Decimal] = defaultdict(Decimal)
    for month, hours in grouped.iter_rows():
        out[month] = Decimal(hours)
    return dict(out)


def accounts_receivable(world: World, as_of: date) -> dict[int, Decimal]:
    """Open balance per historical invoice on ``as_of`` (an input to DSO)."""
    paid: dict[int, Decimal] = defaultdict(Decimal)
    for p in world.payments:
        if p.paid_on <= as_of:
            paid[p.invoice_id] += p.amount
    for c in world.credit_notes:
        if c.issued_on <= as_of:
            paid[c.invoice_id] += c.amount
    return {i.id: i.total - paid[i.id] for i in world.invoices if i.issue_date <= as_of}
