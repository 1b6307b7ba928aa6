"""What each time entry is worth: the assignment's negotiated rate, else the contract's rate
card for the assignment's role on the day the work was done."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import polars as pl

from sandbox.world.model import Assignment, Contract, Project, RateCard

CENT = Decimal("0.01")
RATE = pl.Decimal(12, 2)


def line_amount(hours: Decimal, rate: Decimal) -> Decimal:
    """One invoice line, rounded half-up to the cent as the engine and the ERP round it."""
    return (hours * rate).quantize(CENT, rounding=ROUND_HALF_UP)


def priced(
    entries: pl.DataFrame,
    projects: Iterable[Project],
    contracts: Iterable[Contract],
    assignments: Iterable[Assignment],
    cards: Iterable[RateCard],
) -> pl.DataFrame:
    """``entries`` with ``contract_id``, ``customer_id``, ``role`` and ``rate`` (null when the
    project is unknown, nobody assigned the person, or the card has no rate for the role)."""
    card_of = {c.id: c.rate_card_id for c in contracts}
    project_frame = pl.DataFrame(
        [(p.id, p.contract_id, p.customer_id, card_of[p.contract_id]) for p in projects],
        schema={
            "project_id": pl.Int64,
            "contract_id": pl.Int64,
            "customer_id": pl.Int64,
            "rate_card_id": pl.Int64,
        },
        orient="row",
    )
    assignment_frame = pl.DataFrame(
        [(a.employee_id, a.project_id, a.role, a.rate_override) for a in assignments],
        schema={
            "employee_id": pl.Int64,
            "project_id": pl.Int64,
            "role": pl.String,
            "rate_override": RATE,
        },
        orient="row",
    ).unique(subset=["employee_id", "project_id"], keep="first")
    versions = pl.DataFrame(
        [
            (card.id, role, v.effective_from, v.effective_to or date.max, rate)
            for card in cards
            for v in card.versions
            for role, rate in v.rates.items()
        ],
        schema={
            "rate_card_id": pl.Int64,
            "role": pl.String,
            "effective_from": pl.Date,
            "effective_to": pl.Date,
            "card_rate": RATE,
        },
        orient="row",
    ).sort("effective_from")
    joined = (
        entries.join(project_frame, on="project_id", how="left")
        .join(assignment_frame, on=["employee_id", "project_id"], how="left")
        .sort("spent_date")
        .join_asof(
            versions,
            left_on="spent_date",
            right_on="effective_from",
            by=["rate_card_id", "role"],
            strategy="backward",
            check_sortedness=False,
        )
    )
    in_force = pl.col("spent_date") <= pl.col("effective_to")
    return joined.with_columns(
        rate=pl.coalesce(pl.col("rate_override"), pl.when(in_force).then(pl.col("card_rate")))
    ).drop("effective_from", "effective_to", "card_rate", "rate_card_id")
