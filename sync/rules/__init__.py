"""Billing rules: what an approved time entry must satisfy before it can be billed.

Each rule is a small named predicate over a page of entries joined with the reference data, with a
category and a reason a billing clerk understands. Rules run a whole page at a time in polars; the
first rule an entry breaks is the one reported.

Two kinds of rule: *row rules* judge an entry on its own against the reference data (the project,
the contract, the person, the books); *page rules* (duplicates, hours per person and day, the
contract's cap) judge it against the other entries of its page and what the store already holds
(``History``), and run after the row rules, on what is still clean, in a fixed order.

``check`` runs them all. A flow that stores one page while it checks the next splits it: ``judged``
(every rule but the cap, against the stored entries of the page's days) while the page before is
being stored, then ``capped`` once that page is committed, since a cap counts what it commits.

Row rules live in ``sync.rules.row``, page rules and ``History`` in ``sync.rules.page``, the
reference data (``Reference``) in ``sync.rules.reference``.
"""

from __future__ import annotations

import polars as pl

from sync.rules.page import PAGE_RULES, STORED_SCHEMA, History, ordered, under_cap
from sync.rules.reference import MONEY, Reference
from sync.rules.row import RULES, Rule, rule

__all__ = [
    "MONEY",
    "RULES",
    "STORED_SCHEMA",
    "History",
    "Reference",
    "Rule",
    "capped",
    "check",
    "judged",
    "rule",
]

c = pl.col


def check(
    entries: pl.DataFrame, reference: Reference, history: History | None = None
) -> pl.DataFrame:
    """``entries`` joined with the reference data, with ``category``/``reason`` of the first
    rule each entry breaks (null when billable), ``amount`` = hours × rate to the cent, and
    ``at_risk`` where a rule values the risk otherwise than the entry's amount (the part over a
    cap). ``history`` is what the store already holds (none: the page is judged on its own)."""
    history = history or History.empty()
    return capped(judged(entries, reference, history.entries), history.committed)


def judged(entries: pl.DataFrame, reference: Reference, stored: pl.DataFrame) -> pl.DataFrame:
    """``check`` without the cap: every other rule, against the ``stored`` entries of the page's
    people and days (``History.entries``). ``capped`` finishes it."""
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
    frame = frame.with_columns(
        category=category,
        reason=reason,
        billing=billing.fill_null(False),
        amount=amount,
        at_risk=pl.lit(None, dtype=MONEY),
    )
    frame = ordered(frame)
    for page_rule in PAGE_RULES:
        frame = page_rule(frame, stored)
    return frame


def capped(frame: pl.DataFrame, committed: pl.DataFrame) -> pl.DataFrame:
    """A ``judged`` page with the contracts' caps applied, against what their billing events
    ``committed`` without the page's own entries (``History.committed``): ``check``'s result."""
    return under_cap(frame, committed).drop("seq")
