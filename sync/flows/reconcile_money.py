"""Money reconciliation: per contract and month, does the money add up from time to cash?

Four amounts are compared, each from its own table, as polars frames (``money_sources``):

- ``time_vs_events``: approved billable time (hours × the rate its billing event carries, or the
  rate card's for time without one) against what the same entries are billed at: their billing
  events, less their credit notes, plus their adjustments (``sync.flows.compensation``);
- ``events_vs_invoices`` (closed months): billing events against the lines of the invoices they
  are on; an event of a closed month still on no invoice an hour after it was made counts too;
- ``invoices_vs_cash``: what the ERP shows as paid on posted invoices (total − amount due − credit
  notes allocated) against the payments recorded; the reason names the ERP by its label.

Every difference beyond rounding is one exception (``unreconciled_money``, stage ``reconcile``)
keyed by (contract, month, kind of gap), with the money in ``value_at_risk``; it resolves itself
when the gap closes. Time already held in an open exception (a rule it broke, an edit or a deletion
after invoicing) explains part of a ``time_vs_events`` gap: it is subtracted, and the reason says
how much, so the same money is never reported twice.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from sync.flows import money_sources as sources
from sync.flows.context import FlowContext, FlowResult
from sync.flows.months import months
from sync.flows.reference import load_reference
from sync.rules import MONEY, Reference
from sync.store.db import transaction
from sync.store.repo import Problem, open_record_keys, report_problems, resolve_problems
from sync.store.tables import (
    ContractRow,
)
from sync.store.vocabulary import ExceptionCategory, Flow
from sync.telemetry import current_trace_id, tracer

FLOW = Flow.RECONCILE
CATEGORY = ExceptionCategory.UNRECONCILED_MONEY
CENT = Decimal("0.01")
# An event of a closed month gets this long to reach an invoice before it counts as a gap.
GRACE = timedelta(hours=1)
SETTLED_STATUSES = ("posted", "paid")
c = pl.col


def run(ctx: FlowContext) -> FlowResult:
    """Reconcile every month from the oldest record to today; resolve the gaps that closed."""
    moment = ctx.clock()
    today = moment.date()
    with ctx.sessions() as session:
        oldest = sources.oldest(session)
        reference = load_reference(session)
        held = sources.held(session, CATEGORY)
        names = dict(session.execute(select(ContractRow.id, ContractRow.name)).all())
        erps = _erp_labels(ctx, sources.contract_erps(session))
    problems: list[Problem] = []
    if oldest is not None:
        for start, end in months(oldest, max(today, oldest)):
            with (
                tracer.start_as_current_span(
                    "reconcile money", attributes={"month": f"{start:%Y-%m}"}
                ),
                ctx.sessions() as session,
            ):
                gaps = month_gaps(
                    session, reference, held, start, end, closed=end < today, now=moment
                )
            problems += [_problem(gap, start, names, erps) for gap in gaps.iter_rows(named=True)]
    with transaction(ctx.sessions) as session:
        report_problems(session, FLOW, problems, trace_id=current_trace_id())
        current = {p.record_key for p in problems}
        stale = open_record_keys(session, FLOW, category=CATEGORY, prefix="")
        resolve_problems(
            session, FLOW, [k for k in stale if k not in current], note="the gap has closed"
        )
    return FlowResult(exceptions=len(problems))


def month_gaps(
    session: Session,
    reference: Reference,
    held: set[str],
    start: date,
    end: date,
    *,
    closed: bool,
    now: datetime,
) -> pl.DataFrame:
    """The gaps of one month: ``contract_id, currency, kind, left, right, held, gap, note``.
    ``now`` is the engine's clock, the one billing events' ``created_at`` is stamped with."""
    events = sources.events(session, start, end)
    entries = sources.entries(session, start, end)
    compensated = sources.compensated(session, start, end)
    frames = [time_vs_events(entries, events, compensated, reference, held)]
    invoices = sources.invoices(session, start, end)
    if closed:
        frames.append(events_vs_invoices(events, invoices, due_before=now - GRACE))
    frames.append(invoices_vs_cash(invoices))
    gaps = pl.concat(frames, how="vertical")
    tolerance = pl.max_horizontal(pl.lit(CENT, dtype=TOTAL), c("tolerance"))
    return gaps.filter(c("gap").abs() >= tolerance).drop("tolerance")


def time_vs_events(
    entries: pl.DataFrame,
    events: pl.DataFrame,
    compensated: pl.DataFrame,
    reference: Reference,
    held: set[str],
) -> pl.DataFrame:
    """Approved billable time (valued entry by entry) against what it is billed at: its billing
    event, less its credit notes, plus its adjustments (``compensated``: ``id, net``)."""
    eligible = entries.filter(
        (c("status") == "approved")
        & c("billable").fill_null(False)
        & ~c("is_billed").fill_null(False)
        & c("deleted_at").is_null()
    ).with_row_index("row")
    priced = reference.join(eligible.with_columns(c("row").cast(pl.Int64))).select(
        "id", "hours", "vendor_rate", c("rate").alias("card_rate"), "contract_id", "currency"
    )
    joined = (
        priced.join(
            events.filter(c("kind") == "time").select(
                c("source_record_id").alias("id"),
                c("contract_id").alias("event_contract"),
                c("currency").alias("event_currency"),
                "amount",
                "rate",
            ),
            on="id",
            how="full",
            coalesce=True,
        )
        .join(compensated, on="id", how="left")
        .with_columns(
            contract_id=pl.coalesce("event_contract", "contract_id"),
            currency=pl.coalesce("event_currency", "currency"),
            value=(c("hours") * pl.coalesce("rate", "card_rate", "vendor_rate"))
            .round(2, mode="half_away_from_zero")
            .cast(MONEY)
            .fill_null(0),
            amount=c("amount").fill_null(0) + c("net").fill_null(0),
            held=c("id").is_in(list(held)),
        )
        .filter(c("contract_id").is_not_null())
        .with_columns(diff=c("value") - c("amount"))
    )
    return _shape(
        joined.group_by("contract_id", "currency")
        .agg(
            left=c("value").sum(),
            right=c("amount").sum(),
            held=c("diff").filter(c("held")).sum(),
            gap=c("diff").filter(~c("held")).sum(),
        )
        .with_columns(kind=pl.lit("time_vs_events"), note=pl.lit(0), tolerance=pl.lit(0))
    )


def events_vs_invoices(
    events: pl.DataFrame, invoices: pl.DataFrame, *, due_before: Any
) -> pl.DataFrame:
    """A closed month's billing events against the lines of its invoices. ``note`` counts the
    events on no invoice; rounding allows half a cent per event (lines round once per line)."""
    counted = events.filter(c("invoice_id").is_not_null() | (c("created_at") < due_before))
    billed = counted.group_by("contract_id", "currency").agg(
        right=c("amount").sum(),
        note=c("invoice_id").is_null().sum().cast(pl.Int64),
        tolerance=(pl.len() * pl.lit(Decimal("0.005"))).cast(MONEY),
    )
    lines = invoices.group_by("contract_id", "currency").agg(left=c("lines_total").sum())
    return (
        lines.join(billed, on=["contract_id", "currency"], how="full", coalesce=True)
        .with_columns(
            c("left", "right").fill_null(0),
            note=c("note").fill_null(0),
            tolerance=c("tolerance").fill_null(0),
        )
        .with_columns(kind=pl.lit("events_vs_invoices"), held=pl.lit(0), gap=c("right") - c("left"))
        .pipe(_shape)
    )


def invoices_vs_cash(invoices: pl.DataFrame) -> pl.DataFrame:
    """What the ERP shows as paid on posted invoices (less credit notes allocated to them) against
    the payments recorded. ``note`` counts the invoices."""
    settled = invoices.filter(c("status").is_in(SETTLED_STATUSES))
    return (
        settled.group_by("contract_id", "currency")
        .agg(
            left=(c("total") - c("amount_due").fill_null(c("total")) - c("credited")).sum(),
            right=c("paid").sum(),
            note=pl.len().cast(pl.Int64),
        )
        .with_columns(
            kind=pl.lit("invoices_vs_cash"),
            held=pl.lit(0),
            gap=c("left") - c("right"),
            tolerance=pl.lit(0),
        )
        .pipe(_shape)
    )


TOTAL = pl.Decimal(38, 4)


def _shape(frame: pl.DataFrame) -> pl.DataFrame:
    """The common columns of every kind of gap, with the same types."""
    return frame.select(
        "contract_id",
        "currency",
        "kind",
        *(c(name).cast(TOTAL) for name in ("left", "right", "held", "gap", "tolerance")),
        c("note").cast(pl.Int64),
    )


# --- exceptions ---------------------------------------------------------------------------------


def money_key(contract_id: str, month: date, kind: str) -> str:
    return f"money:{contract_id}:{month:%Y-%m}:{kind}"


def _erp_labels(ctx: FlowContext, sent_to: dict[str, set[str]]) -> dict[str, str]:
    """Contract → the label of the one ERP its invoices went to (left out when several)."""
    labels = {name: erp.label for name, erp in ctx.erps.items()}
    return {
        contract: labels.get(erp, erp)
        for contract, systems in sent_to.items()
        if len(systems) == 1
        for erp in systems
    }


def _problem(
    gap: dict[str, Any], month: date, names: dict[str, str], erps: dict[str, str]
) -> Problem:
    kind, contract_id, currency = gap["kind"], gap["contract_id"], gap["currency"]
    amounts = {k: Decimal(gap[k] or 0).quantize(CENT) for k in ("left", "right", "held", "gap")}
    where = f"{names.get(contract_id, contract_id)}, {month:%B %Y}"
    erp = erps.get(contract_id, "the ERP")
    return Problem(
        record_key=money_key(contract_id, month, kind),
        stage="reconcile",
        category=CATEGORY,
        reason=f"{where}: {_REASONS[kind](amounts, currency, gap['note'], erp)}",
        payload={
            "contract_id": contract_id,
            "month": f"{month:%Y-%m}",
            "kind": kind,
            **{k: str(v) for k, v in amounts.items()},
        },
        entity_type="contract",
        entity_id=contract_id,
        value_at_risk=abs(amounts["gap"]),
        currency=currency,
    )


def _time_reason(a: dict[str, Decimal], cur: str, _: int, __: str) -> str:
    gap = a["gap"]
    what = (
        "of approved time has no billing event"
        if gap > 0
        else "is billed for time no longer approved"
    )
    text = (
        f"approved billable time is worth {a['left']:,.2f} {cur}, its billing events hold "
        f"{a['right']:,.2f} {cur}; {abs(gap):,.2f} {cur} {what}."
    )
    if a["held"]:
        text += (
            f" A further {abs(a['held']):,.2f} {cur} of the difference is held in open "
            "exceptions and not counted here."
        )
    return text


def _invoice_reason(a: dict[str, Decimal], cur: str, unbilled: int, _: str) -> str:
    waiting = f" ({unbilled} of them on no invoice)" if unbilled else ""
    return (
        f"the closed month's billing events hold {a['right']:,.2f} {cur}{waiting}, the lines of "
        f"its invoices total {a['left']:,.2f} {cur}; {abs(a['gap']):,.2f} {cur} differs."
    )


def _cash_reason(a: dict[str, Decimal], cur: str, invoices: int, erp: str) -> str:
    return (
        f"{erp} shows {a['left']:,.2f} {cur} paid on {invoices} posted invoice(s), the payments "
        f"recorded add up to {a['right']:,.2f} {cur}; {abs(a['gap']):,.2f} {cur} of cash is "
        "unaccounted for."
    )


_REASONS = {
    "time_vs_events": _time_reason,
    "events_vs_invoices": _invoice_reason,
    "invoices_vs_cash": _cash_reason,
}
