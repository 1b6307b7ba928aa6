"""Page rules: an entry judged against the other entries of its page and what the store already
holds (``History``): duplicates, hours per person and day, and the contract's cap. They run after
the row rules, on the billing entries still clean, in a fixed order (``PAGE_RULES``, then the cap
in ``under_cap``): a copy is not counted in a day's hours, nor against a cap."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from sync.rules.reference import MONEY
from sync.rules.row import hours_text

c = pl.col

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


def ordered(frame: pl.DataFrame) -> pl.DataFrame:
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
        hours_text(),
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
