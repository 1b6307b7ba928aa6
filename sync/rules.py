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
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

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
    frame = _ordered(frame)
    for page_rule in PAGE_RULES:
        frame = page_rule(frame, stored)
    return frame


def capped(frame: pl.DataFrame, committed: pl.DataFrame) -> pl.DataFrame:
    """A ``judged`` page with the contracts' caps applied, against what their billing events
    ``committed`` without the page's own entries (``History.committed``): ``check``'s result."""
    return under_cap(frame, committed).drop("seq")


# --- page rules: an entry against its page and what the store already holds -----------------

TWIN_KEY = ("resource_id", "project_id", "spent_date", "hours", "notes")
DAY = ("resource_id", "spent_date")
STORED_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "id": pl.String,
    "source_id": pl.String,
    "resource_id": pl.String,
    "project_id": pl.String,
    "spent_date": pl.Date,
    "hours": MONEY,
    "notes": pl.String,
    "submitted_at": pl.Datetime("us", "UTC"),
    "billing": pl.Boolean,  # approved, billable and not invoiced outside plan2cash
    "billed": pl.Boolean,  # has a billing event (pending or invoiced)
}


@dataclass(frozen=True)
class History:
    """What the store already holds that a page is judged against: the stored entries of the
    page's people on the page's days (``STORED_SCHEMA``) and, per capped contract, the amount
    its billing events already commit (``contract_id``, ``committed``), both without the
    page's own entries (their new version supersedes the stored one)."""

    entries: pl.DataFrame
    committed: pl.DataFrame

    @classmethod
    def empty(cls) -> History:
        return cls(
            pl.DataFrame(schema=STORED_SCHEMA),
            pl.DataFrame(schema={"contract_id": pl.String, "committed": MONEY}),
        )


PageRule = Callable[[pl.DataFrame, pl.DataFrame], pl.DataFrame]


def _hold(
    frame: pl.DataFrame,
    broken: pl.Expr,
    category: str,
    reason: pl.Expr,
    at_risk: pl.Expr | None = None,
) -> pl.DataFrame:
    """Hold the still clean billing entries where ``broken``; the rest are left as they are."""
    applies = c("billing") & c("category").is_null() & broken.fill_null(False)
    return frame.with_columns(
        category=pl.when(applies).then(pl.lit(category)).otherwise(c("category")),
        reason=pl.when(applies).then(reason).otherwise(c("reason")),
        at_risk=pl.when(applies).then(at_risk).otherwise(c("at_risk"))
        if at_risk is not None
        else c("at_risk"),
    )


def _entry_order() -> list[pl.Expr]:
    """The order of entries in the time system: entry time, then id (a later copy has a larger
    id), whichever page or run brought them."""
    return [c("submitted_at"), c("source_id").cast(pl.Int64, strict=False), c("source_id")]


def _ordered(frame: pl.DataFrame) -> pl.DataFrame:
    """``seq``: the order in which the page's entries count, after everything stored."""
    order = frame.select("row", "submitted_at", "source_id").sort(_entry_order(), nulls_last=True)
    seq = order.select("row", seq=pl.int_range(pl.len(), dtype=pl.Int64) + 1)
    return frame.join(seq, on="row", how="left")


def _with_stored(frame: pl.DataFrame, history: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """The page's rows (``stored`` false, by ``seq``) after the stored entries (``seq`` 0) of
    the same people and days (``history``: ``History.entries``)."""
    page_ids = frame["id"].drop_nulls()
    stored = history.filter(~c("id").is_in(page_ids.implode())).join(
        frame.select(DAY).unique(), on=list(DAY), how="semi"
    )
    own = [name for name in columns if name in STORED_SCHEMA]
    return pl.concat(
        [
            stored.select(own).with_columns(
                stored=pl.lit(True), seq=pl.lit(0, dtype=pl.Int64), row=pl.lit(None, pl.Int64)
            ),
            frame.select(*(n for n in own if n in frame.columns), "seq", "row").with_columns(
                stored=pl.lit(False)
            ),
        ],
        how="diagonal_relaxed",
    )


def duplicates(frame: pl.DataFrame, history: pl.DataFrame) -> pl.DataFrame:
    """The same person, project, day, hours and notes twice: the later copy is held (by entry
    time, then id), and so is any copy of an entry already billed, so nothing bills twice."""
    columns = [*TWIN_KEY, "id", "source_id", "submitted_at", "billing", "billed"]
    twins = (
        _with_stored(frame, history, columns)
        .filter(
            c("billing").fill_null(False)
            & pl.all_horizontal(c(name).is_not_null() for name in TWIN_KEY[:4])
        )
        .sort(_entry_order(), nulls_last=True)
        .with_columns(pos=pl.int_range(pl.len()))
    )
    key = list(TWIN_KEY)
    billed = c("stored") & c("billed").fill_null(False)
    judged = (
        twins.with_columns(
            first=c("source_id").first().over(key),
            earlier=c("pos") > c("pos").min().over(key),
            billed_twin=c("source_id").filter(billed).first().over(key),
        )
        .filter(~c("stored") & (c("earlier") | c("billed_twin").is_not_null()))
        .select("row", twin=pl.when(c("earlier")).then(c("first")).otherwise(c("billed_twin")))
    )
    frame = frame.join(judged, on="row", how="left")
    reason = pl.format(
        "Same person, project, day, hours and notes as Harvest entry {}: {} h by {} on {}. "
        "It looks like a second copy; delete it in Harvest, or change it if it is real.",
        c("twin"),
        _hours(),
        c("resource_name").fill_null(c("resource_id")),
        c("spent_date"),
    )
    return _hold(frame, c("twin").is_not_null(), "duplicate", reason).drop("twin")


def hours_per_day(frame: pl.DataFrame, history: pl.DataFrame) -> pl.DataFrame:
    """A person's entries on one day, counted in order (stored ones first), cannot pass 24
    hours: the entry that passes it (and any after it) is held. Entries already held and
    hours that are no hours (negative, over 24 in one entry) do not count."""
    day = _with_stored(frame, history, [*DAY, "id", "hours", "billing", "billed"]).filter(
        pl.all_horizontal(c(name).is_not_null() for name in DAY)
    )
    page_counts = frame.select("row", counts=c("category").is_null())
    day = day.join(page_counts, on="row", how="left").with_columns(
        counts=pl.when(c("stored"))
        .then(c("billed").fill_null(False) | ~c("billing").fill_null(False))
        .otherwise(c("counts"))
        & c("hours").is_between(0, 24)
    )
    totals = day.with_columns(
        day_hours=pl.when(c("counts"))
        .then(c("hours"))
        .otherwise(0)
        .cum_sum()
        .over(list(DAY), order_by=["seq", "id"])
    ).filter(~c("stored"))
    frame = frame.join(totals.select("row", "day_hours"), on="row", how="left")
    reason = pl.format(
        "{} would have {} hours on {} with this entry, more than a day holds; "
        "correct the hours in Harvest.",
        c("resource_name").fill_null(c("resource_id")),
        c("day_hours").cast(pl.Float64).round(2).cast(pl.String),
        c("spent_date"),
    )
    return _hold(frame, c("day_hours") > 24, "over_24h", reason).drop("day_hours")


def under_cap(frame: pl.DataFrame, committed: pl.DataFrame) -> pl.DataFrame:
    """A contract with a not-to-exceed cap bills up to it: what its billing events already
    commit, then the page's clean entries by date. The entry that crosses the cap (and any
    after it) is held, valued at the part over the cap."""
    capped = c("not_to_exceed").is_not_null() & c("billing") & c("category").is_null()
    running = (
        frame.filter(capped & c("amount").is_not_null())
        .join(committed, on="contract_id", how="left")
        .with_columns(
            running=c("committed").fill_null(0)
            + c("amount").cum_sum().over("contract_id", order_by=["spent_date", "seq"])
        )
        .select("row", running=c("running").cast(MONEY))
    )
    frame = frame.join(running, on="row", how="left")
    over = (c("running") - c("not_to_exceed")).cast(MONEY)
    reason = pl.format(
        "Contract {} has a not-to-exceed cap of {} {}; with this entry its billing would reach "
        "{}, {} over. Raise the cap (a change order) or write the time off.",
        c("contract_name"),
        _money(c("not_to_exceed")),
        c("currency"),
        _money(c("running")),
        _money(pl.min_horizontal(over, c("amount"))),
    )
    at_risk = pl.min_horizontal(over, c("amount")).cast(MONEY)
    return _hold(frame, over > 0, "over_cap", reason, at_risk).drop("running")


def _money(value: pl.Expr) -> pl.Expr:
    return value.round(2).cast(pl.Decimal(18, 2)).cast(pl.String)


# the order page rules run in (the cap last, in ``capped``): a copy is not counted in a day's
# hours, nor against a cap
PAGE_RULES: tuple[PageRule, ...] = (duplicates, hours_per_day)


# --- reference data ---------------------------------------------------------------------------

# columns a rule reads that older reference frames may lack: absent means "not known"
OPTIONAL_COLUMNS: dict[str, pl.DataType | type[pl.DataType]] = {
    "assignment_role": pl.String,
    "termination_date": pl.Date,
    "customer_currency": pl.String,
    "not_to_exceed": MONEY,
}


@dataclass(frozen=True)
class Reference:
    """The reference data a page of entries is checked against, loaded once per run, and the
    state of the books: accounting periods through ``closed_through`` are locked, a month's
    books closing ``close_grace_days`` after it ends."""

    projects: pl.DataFrame  # project_id, contract_id, customer_id, project_name, project_status,
    # project_end, project_currency, customer_currency
    contracts: pl.DataFrame  # contract_id, contract_name, contract_status, contract_start/end,
    # currency, not_to_exceed
    resources: pl.DataFrame  # resource_id, resource_name, role, termination_date
    assignments: pl.DataFrame  # project_id, resource_id, assigned, assignment_rate,
    # assignment_role (the role billed on the project, when the PSA says; else the person's)
    rate_cards: pl.DataFrame  # contract_id, role, card_rate, effective_from, effective_to
    closed_through: date | None = None
    close_grace_days: int = 0

    def join(self, entries: pl.DataFrame) -> pl.DataFrame:
        joined = (
            entries.join(self.projects, on="project_id", how="left")
            .join(self.contracts, on="contract_id", how="left")
            .join(self.resources, on="resource_id", how="left")
            .join(self.assignments, on=["project_id", "resource_id"], how="left")
        )
        missing = {k: v for k, v in OPTIONAL_COLUMNS.items() if k not in joined.columns}
        joined = joined.with_columns(
            *(pl.lit(None, dtype=dtype).alias(name) for name, dtype in missing.items())
        ).with_columns(role=pl.coalesce(c("assignment_role"), c("role")))
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
        return joined.with_columns(
            rate=pl.coalesce(c("assignment_rate"), c("card_rate")),
            closed_through=pl.lit(self.closed_through, dtype=pl.Date),
            close_grace_days=pl.lit(self.close_grace_days, dtype=pl.Int64),
        )
