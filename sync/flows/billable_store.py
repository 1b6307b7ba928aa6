"""Storing a page of time entries checked by the billing rules (flow 3's write side).

One checked frame is written in the caller's transaction: every readable entry as a time entry
row, every approved billable entry that passes as a billing event with a deterministic id, every
one that fails as one open exception (category, a plain reason, the payload as received, the
value at risk), and a business event for each billing event made and each entry first held.

A billing event already on an invoice is never changed nor withdrawn: an entry that changed
after it was invoiced is reported (``edited_after_invoiced``) for ``compensation``, unless it is
already compensated. An entry no longer billable loses its billing event while that is pending.
A row that arrives again unchanged is not rewritten, so ``updated_at`` keeps meaning "changed".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

import polars as pl
from sqlalchemy import Dialect
from sqlalchemy.orm import Session

from collectors import harvest
from collectors.entities import SCHEMA_VERSION, canonical_id
from sync.flows import compensation, history
from sync.flows.context import FlowResult
from sync.flows.record_keys import BILLABLE_FLOW, edited_entry, held_entry
from sync.flows.reference import load_reference
from sync.rules import Reference, check
from sync.settings import Billing
from sync.store import billing
from sync.store import problems as held
from sync.store.db import FrameUpsert
from sync.store.repo import Problem, report_problems, resolve_problems
from sync.store.tables import BillingEventRow, TimeEntryRow
from sync.store.vocabulary import UNRESOLVED_STATUSES, ExceptionCategory
from sync.telemetry import EVENT_KEYS, current_trace_id, record_event_frame, record_events

FLOW = BILLABLE_FLOW
TIME_COLUMNS = (
    "id",
    "source_id",
    "resource_id",
    "project_id",
    "task",
    "spent_date",
    "hours",
    "billable",
    "status",
    "notes",
    "vendor_rate",
    "submitted_at",
    "approved_at",
    "updated_at",
    "is_billed",
)


def reference_for(session: Session, billing: Billing) -> Reference:
    """The reference data of a run, with the books as configured."""
    return replace(
        load_reference(session),
        closed_through=billing.closed_through,
        close_grace_days=billing.close_grace_days,
    )


def checked(session: Session, page: Sequence[Any], reference: Reference) -> pl.DataFrame:
    """A page of Harvest entries checked by the rules, against what the store already holds."""
    entries = harvest.time_entries_frame(page)
    return check(entries, reference, history.load_history(session, entries, reference))


def store_page(
    session: Session,
    frame: pl.DataFrame,
    page: Sequence[Any],
    *,
    moment: datetime,
    writes: Writes | None = None,
) -> FlowResult:
    """Store one checked page: time entries, billing events, exceptions, business events.

    ``moment`` is the engine's clock (``FlowContext.clock``): it stamps the billing events'
    ``created_at``/``updated_at`` and the rejections' ``occurred_at``, so those columns stay on
    the clock that invoicing and compensation stamp them with too (the rollups and the money
    reconciliation compare them with that clock). A billing event that arrives again unchanged
    keeps its stamp: ``updated_at`` is not one of the columns whose change is written.
    ``writes`` are the frame's upserts when already made (``Writes.of``)."""
    writes = writes or Writes.of(session.get_bind().dialect, frame, moment)
    writes.time_entries.run(session)
    good = billable(frame)
    bad = frame.filter(pl.col("category").is_not_null())
    settled = frame.filter(pl.col("category").is_null())
    existing = billing.billed(session, frame["id"].drop_nulls().to_list())
    created, edited = _billing_events(session, good, existing, writes.billing_events, moment)
    edited = compensation.uncompensated(session, edited)
    problems = _problems(bad, page) + edited
    _withdraw(
        session, frame.filter(~pl.col("billing") | pl.col("category").is_not_null()), existing
    )
    trace_id = current_trace_id()
    known = held.known_keys(session, FLOW, [p.record_key for p in problems], UNRESOLVED_STATUSES)
    fresh = [p for p in problems if p.record_key not in known]
    report_problems(session, FLOW, problems, trace_id=trace_id)
    still_edited = {p.record_key for p in edited}
    resolve_problems(
        session,
        FLOW,
        [held_entry(s) for s in settled["source_id"] if edited_entry(s) not in still_edited],
        note="entry now billable or no longer billable",
    )
    record_event_frame(session, "billing_event.created", "billing_event", created)
    record_events(
        session,
        "billing_event.rejected",
        "time_entry",
        [(p.entity_id or p.record_key, moment) for p in fresh],
    )
    return FlowResult(records_in=len(page), records_out=created.height, exceptions=len(problems))


@dataclass(frozen=True)
class Writes:
    """A checked batch's upserts, made (its rows converted for the driver) before the batch's
    transaction: flow 3 makes them while the batch before is being written."""

    time_entries: FrameUpsert
    billing_events: FrameUpsert

    @classmethod
    def of(cls, dialect: Dialect, frame: pl.DataFrame, moment: datetime) -> Writes:
        return cls(
            time_entry_rows(dialect, frame), billing_event_rows(dialect, billable(frame), moment)
        )


def billable(frame: pl.DataFrame) -> pl.DataFrame:
    """The checked entries to bill: approved, billable, and breaking no rule."""
    return frame.filter(pl.col("billing") & pl.col("category").is_null())


def time_entry_rows(dialect: Dialect, frame: pl.DataFrame) -> FrameUpsert:
    """The upsert of a checked frame's readable entries as time entry rows; a row that arrives
    again unchanged is not rewritten."""
    readable = frame.filter(pl.col("id").is_not_null() & pl.col("updated_at").is_not_null())
    rows = readable.select(TIME_COLUMNS).with_columns(
        source=pl.lit("harvest"),
        schema_version=pl.lit(SCHEMA_VERSION),
        deleted_at=pl.lit(None, dtype=pl.Datetime("us", "UTC")),
    )
    unchanged_unless = [c for c in rows.columns if c != "id"]
    return FrameUpsert.of(dialect, TimeEntryRow, rows, keys=["id"], when_changed=unchanged_unless)


EVENT_UPDATES = (
    "quantity",
    "rate",
    "amount",
    "occurred_on",
    "description",
    "updated_at",
    "approved_at",
    "resource_id",
)


def _billing_events(
    session: Session,
    good: pl.DataFrame,
    existing: pl.DataFrame,
    rows: FrameUpsert,
    moment: datetime,
) -> tuple[pl.DataFrame, list[Problem]]:
    """Upsert the billing events of ``good`` entries (``rows``: ``billing_event_rows``). Events
    already invoiced are never changed: one whose entry now has a different value is reported
    for compensation. Returns the new events (``EVENT_KEYS``: id, approval), and those reports."""
    joined = good.join(existing, on="id", how="left")
    invoiced = joined.filter(pl.col("invoice_id").is_not_null())
    edited = [
        _edited_after_invoice(e)
        for e in invoiced.filter(pl.col("billed_amount") != pl.col("amount")).iter_rows(named=True)
    ]
    fresh = joined.filter(pl.col("invoice_id").is_null() & pl.col("billed_amount").is_null())
    created = pl.DataFrame(
        {
            "entity_id": [canonical_id("plan2cash", "billing_event", te) for te in fresh["id"]],
            "occurred_at": fresh["approved_at"].fill_null(moment),
        },
        schema=EVENT_KEYS,
    )
    rows.run(session)
    return created, edited


def billing_event_rows(dialect: Dialect, good: pl.DataFrame, moment: datetime) -> FrameUpsert:
    """The upsert of the billing events of ``good`` entries, stamped ``moment``. An event already
    on an invoice is left as it is (``unless_set``), and one that arrives again unchanged is not
    rewritten."""
    rows = good.select(
        pl.col("id").alias("source_record_id"),
        "contract_id",
        "project_id",
        "customer_id",
        "resource_id",
        pl.lit("time").alias("kind"),
        pl.col("spent_date").alias("occurred_on"),
        pl.col("hours").alias("quantity"),
        "rate",
        "amount",
        "currency",
        "approved_at",
        pl.format(
            "{} — {}",
            pl.col("task").fill_null("Services"),
            pl.col("resource_name").fill_null(pl.col("resource_id")),
        ).alias("description"),
    )
    ids = [canonical_id("plan2cash", "billing_event", te) for te in rows["source_record_id"]]
    rows = rows.with_columns(
        id=pl.Series(ids, dtype=pl.String),
        created_at=pl.lit(moment),
        updated_at=pl.lit(moment),
        invoice_id=pl.lit(None, dtype=pl.String),
    )
    return FrameUpsert.of(
        dialect,
        BillingEventRow,
        rows,
        keys=["id"],
        update=EVENT_UPDATES,
        unless_set="invoice_id",
        when_changed=[c for c in EVENT_UPDATES if c != "updated_at"],
    )


def _edited_after_invoice(e: dict[str, Any]) -> Problem:
    billed, amount = Decimal(e["billed_amount"]), Decimal(e["amount"])
    return Problem(
        record_key=edited_entry(e["source_id"]),
        stage="invoice",
        category=ExceptionCategory.EDITED_AFTER_INVOICED,
        reason=(
            f"Harvest entry {e['source_id']} changed after it was invoiced: billed "
            f"{billed:.2f}, now worth {amount:.2f} {e['currency']}. "
            "A credit note or adjustment is needed."
        ),
        entity_type="time_entry",
        entity_id=e["id"],
        value_at_risk=abs(amount - billed),
        currency=e["currency"],
    )


def _problems(bad: pl.DataFrame, page: Sequence[Any]) -> list[Problem]:
    return [
        Problem(
            record_key=held_entry(e["source_id"] or f"row{e['row']}"),
            stage="validate",
            category=e["category"],
            reason=e["reason"],
            payload=page[e["row"]]
            if isinstance(page[e["row"]], dict)
            else {"raw": repr(page[e["row"]])[:2000]},
            entity_type="time_entry",
            entity_id=e["id"],
            value_at_risk=_at_risk(e),
            currency=e.get("currency"),
        )
        for e in bad.iter_rows(named=True)
    ]


def _at_risk(e: dict[str, Any]) -> Decimal | None:
    if e.get("at_risk") is not None:  # a rule's own valuation (the part over a cap)
        return Decimal(e["at_risk"]).quantize(Decimal("0.01"))
    hours, rate = e.get("hours"), e.get("rate") or e.get("vendor_rate")
    if hours is None or rate is None or hours <= 0:
        return None
    return (Decimal(hours) * Decimal(rate)).quantize(Decimal("0.01"))


def _withdraw(session: Session, frame: pl.DataFrame, existing: pl.DataFrame) -> None:
    """Entries no longer billable (unapproved, made non-billable, now failing a rule) lose their
    billing event, unless it is already invoiced (then it is a compensation case). ``existing``
    are the page's stored events (read in this transaction): only those are looked for."""
    pending = existing.filter(pl.col("invoice_id").is_null())["id"]
    billing.withdraw_pending(
        session, frame.filter(pl.col("id").is_in(pending.implode()))["id"].to_list()
    )
