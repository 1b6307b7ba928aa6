"""Billing rules: what an approved time entry must satisfy before it can be billed.

Each rule is a small named predicate over a page of entries joined with the reference data, with a
category and a reason a billing clerk understands. Rules run a whole page at a time in polars; the
first rule an entry breaks is the one reported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

MONEY = pl.Decimal(18, 4)


@dataclass(frozen=True)
class Rule:
    """An entry breaks the rule where ``broken`` is true; ``reason`` says why in plain words."""

    category: str
    broken: pl.Expr
    reason: pl.Expr
    billing_only: bool = True


RULES: list[Rule] = []


def rule(
    category: str, *, billing_only: bool = True
) -> Callable[[Callable[[], tuple[pl.Expr, pl.Expr]]], Callable[[], tuple[pl.Expr, pl.Expr]]]:
    """Register a rule: the decorated function returns ``(broken, reason)`` expressions."""

    def register(
        build: Callable[[], tuple[pl.Expr, pl.Expr]],
    ) -> Callable[[], tuple[pl.Expr, pl.Expr]]:
        broken, reason = build()
        RULES.append(Rule(category, broken.fill_null(False), reason, billing_only))
        return build

    return register


c = pl.col


def _hours() -> pl.Expr:
    return c("hours").cast(pl.Float64).round(2).cast(pl.String)


@rule("malformed", billing_only=False)
def readable() -> tuple[pl.Expr, pl.Expr]:
    """Every field the engine needs must be present and readable."""
    missing = pl.concat_str(
        [
            pl.when(c(name).is_null()).then(pl.lit(label))
            for name, label in (
                ("source_id", "id"),
                ("spent_date", "spent_date"),
                ("hours", "hours"),
                ("project_id", "project"),
                ("resource_id", "user"),
                ("billable", "billable"),
                ("updated_at", "updated_at"),
            )
        ],
        separator=", ",
        ignore_nulls=True,
    )
    broken = pl.any_horizontal(
        c(
            "source_id",
            "spent_date",
            "hours",
            "project_id",
            "resource_id",
            "billable",
            "updated_at",
        ).is_null()
    )
    reason = pl.format(
        "The time entry has missing or unreadable fields: {}. Fix it in Harvest.", missing
    )
    return broken, reason


@rule("negative_hours")
def hours_not_negative() -> tuple[pl.Expr, pl.Expr]:
    """Hours cannot be negative."""
    return c("hours") < 0, pl.format(
        "{} hours is negative; correct the entry in Harvest.", _hours()
    )


@rule("over_24h")
def hours_fit_in_a_day() -> tuple[pl.Expr, pl.Expr]:
    """One entry cannot hold more hours than a day has."""
    return c("hours") > 24, pl.format(
        "{} hours on {} is more than a day holds.", _hours(), c("spent_date")
    )


@rule("unknown_project")
def project_known() -> tuple[pl.Expr, pl.Expr]:
    """The project must be one the engine knows (synced from the time system)."""
    return c("contract_id").is_null(), pl.format(
        "Harvest project {} is not among the synced projects; sync projects or fix the entry.",
        c("project_source_id"),
    )


@rule("closed_project")
def project_open_on_date() -> tuple[pl.Expr, pl.Expr]:
    """Time cannot be billed to a project that had ended (or is closed) on that date."""
    ended = c("project_end").is_not_null() & (c("spent_date") > c("project_end"))
    closed = (c("project_status") == "closed") & c("project_end").is_null()
    return ended | closed, pl.format(
        "Project {} is closed (ended {}); time dated {} cannot be billed to it.",
        c("project_name"),
        c("project_end").cast(pl.String).fill_null("—"),
        c("spent_date"),
    )


@rule("inactive_contract")
def contract_active_on_date() -> tuple[pl.Expr, pl.Expr]:
    """The contract must have been in force on the date of the work: activated, and the date
    within its start and end. Work done before a contract closed stays billable."""
    outside = (c("contract_start").is_not_null() & (c("spent_date") < c("contract_start"))) | (
        c("contract_end").is_not_null() & (c("spent_date") > c("contract_end"))
    )
    never_active = c("contract_status") == "draft"
    closed_open_ended = (c("contract_status") == "closed") & c("contract_end").is_null()
    return never_active | closed_open_ended | outside, pl.format(
        "Contract {} ({}) was not in force on {}.",
        c("contract_name"),
        c("contract_status"),
        c("spent_date"),
    )


@rule("no_assignment")
def person_assigned() -> tuple[pl.Expr, pl.Expr]:
    """The person must be assigned to the project."""
    return c("assigned").is_null() | ~c("assigned"), pl.format(
        "{} is not assigned to project {}; add the assignment or move the time.",
        c("resource_name").fill_null(c("resource_id")),
        c("project_name"),
    )


@rule("rate_card_missing")
def rate_known() -> tuple[pl.Expr, pl.Expr]:
    """There must be a bill rate for the person on this project."""
    return c("rate").is_null(), pl.format(
        "No bill rate for {} ({}) on project {}; add it to the rate card.",
        c("resource_name").fill_null(c("resource_id")),
        c("role").fill_null("no role"),
        c("project_name"),
    )


def check(entries: pl.DataFrame, reference: Reference) -> pl.DataFrame:
    """``entries`` joined with the reference data, with ``category``/``reason`` of the first
    rule each entry breaks (null when billable) and ``amount`` = hours × rate to the cent."""
    frame = reference.join(entries)
    # time already invoiced in the time system (by the firm's earlier process) is never re-billed
    billing = (
        (c("status") == "approved")
        & c("billable").fill_null(False)
        & ~c("is_billed").fill_null(False)
    )
    category: pl.Expr = pl.lit(None, dtype=pl.String)
    reason: pl.Expr = pl.lit(None, dtype=pl.String)
    for r in reversed(RULES):
        applies = r.broken & billing if r.billing_only else r.broken
        category = pl.when(applies).then(pl.lit(r.category)).otherwise(category)
        reason = pl.when(applies).then(r.reason).otherwise(reason)
    amount = (c("hours") * c("rate")).round(2, mode="half_away_from_zero").cast(MONEY)
    return frame.with_columns(
        category=category, reason=reason, billing=billing.fill_null(False), amount=amount
    )


@dataclass(frozen=True)
class Reference:
    """The reference data a page of entries is checked against, loaded once per run."""

    projects: pl.DataFrame  # id, contract_id, customer_id, project_name, project_status, ...
    contracts: pl.DataFrame  # contract_id, contract_name, contract_status, contract_start/end
    resources: pl.DataFrame  # resource_id, resource_name, role
    assignments: pl.DataFrame  # project_id, resource_id, assigned, assignment_rate
    rate_cards: pl.DataFrame  # contract_id, role, card_rate, effective_from, effective_to

    def join(self, entries: pl.DataFrame) -> pl.DataFrame:
        joined = (
            entries.join(self.projects, on="project_id", how="left")
            .join(self.contracts, on="contract_id", how="left")
            .join(self.resources, on="resource_id", how="left")
            .join(self.assignments, on=["project_id", "resource_id"], how="left")
        )
        cards = self.rate_cards
        if cards.height:
            valid = (c("spent_date") >= c("effective_from")) & (
                c("effective_to").is_null() | (c("spent_date") <= c("effective_to"))
            )
            joined = (
                joined.join(cards, on=["contract_id", "role"], how="left")
                .with_columns(card_rate=pl.when(valid).then(c("card_rate")))
                .sort("row", c("card_rate").is_null())
                .unique(subset="row", keep="first", maintain_order=True)
                .drop("effective_from", "effective_to")
            )
        else:
            joined = joined.with_columns(card_rate=pl.lit(None, dtype=MONEY))
        return joined.with_columns(rate=pl.coalesce(c("assignment_rate"), c("card_rate")))
