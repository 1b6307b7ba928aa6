"""Row rules: an approved time entry judged on its own against the reference data (the project,
the contract, the person, the books). Each is registered in ``RULES`` by ``@rule`` with its
category; the first rule an entry breaks, in the order they are registered, is the one reported.
A rule marked ``billing_only`` judges only entries that would be billed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl


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


def hours_text() -> pl.Expr:
    """An entry's hours as a person reads them (two decimals at most)."""
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
        "{} hours is negative; correct the entry in Harvest.", hours_text()
    )


@rule("over_24h")
def hours_fit_in_a_day() -> tuple[pl.Expr, pl.Expr]:
    """One entry cannot hold more hours than a day has."""
    return c("hours") > 24, pl.format(
        "{} hours on {} is more than a day holds.", hours_text(), c("spent_date")
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


@rule("currency_mismatch")
def currency_agrees() -> tuple[pl.Expr, pl.Expr]:
    """The project must be set up in the currency its contract (and customer) bills in."""
    expected = (
        pl.when(c("project_currency") != c("currency"))
        .then(c("currency"))
        .otherwise(c("customer_currency"))
    )
    return (c("project_currency") != c("currency")) | (
        c("project_currency") != c("customer_currency")
    ), pl.format(
        "Project {} is set up in {} but its contract bills in {}; "
        "correct the project's currency in Harvest.",
        c("project_name"),
        c("project_currency"),
        expected,
    )


@rule("terminated_resource")
def person_employed_on_date() -> tuple[pl.Expr, pl.Expr]:
    """Time cannot be billed for a day after the person left the firm."""
    return c("spent_date") > c("termination_date"), pl.format(
        "{} left the firm on {}; time dated {} cannot be billed. "
        "Correct the date of the entry or the termination date.",
        c("resource_name").fill_null(c("resource_id")),
        c("termination_date"),
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


@rule("closed_period")
def period_open() -> tuple[pl.Expr, pl.Expr]:
    """Time dated in an accounting period that is locked, entered after that month's books
    closed (``close_grace_days`` after it ended), cannot be billed into it. Time entered in good
    time is billed even if the engine meets it late (a first run, an outage)."""
    entered = c("submitted_at").dt.date()
    closed = c("spent_date").dt.month_end() + pl.duration(days=c("close_grace_days"))
    return (c("spent_date") <= c("closed_through")) & (entered > closed), pl.format(
        "Dated {} in an accounting period already closed (books closed through {}) but entered "
        "on {}; move the time to an open period or have finance reopen the period.",
        c("spent_date"),
        c("closed_through"),
        entered,
    )
