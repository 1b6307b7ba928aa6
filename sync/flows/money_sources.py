"""What the money reconciliation compares, loaded as typed polars frames: one month of time
entries, billing events, compensations and invoices (with their payments and allocated credit),
the entries whose money an open exception already holds, the oldest day on record, and which
ERPs each contract's invoices went to.

Session first: the caller owns the transaction (a read)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import polars as pl
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from sync.flows.compensation_plan import CREDIT_NOTE
from sync.rules import MONEY
from sync.store.tables import (
    BillingEventRow,
    CompensationRow,
    ExceptionRow,
    InvoiceRow,
    OutboxRow,
    PaymentRow,
    TimeEntryRow,
)
from sync.store.vocabulary import UNRESOLVED_STATUSES, CompensationStatus, OutboxKind


def _frame(session: Session, stmt: Any, schema: dict[str, Any]) -> pl.DataFrame:
    return pl.DataFrame([tuple(r) for r in session.execute(stmt)], schema=schema, orient="row")


def entries(session: Session, start: date, end: date) -> pl.DataFrame:
    t = TimeEntryRow
    return _frame(
        session,
        select(
            t.id, t.project_id, t.resource_id, t.spent_date, t.hours, t.vendor_rate, t.status,
            t.billable, t.is_billed, t.deleted_at,
        ).where(t.spent_date >= start, t.spent_date <= end),
        {
            "id": pl.String, "project_id": pl.String, "resource_id": pl.String,
            "spent_date": pl.Date, "hours": MONEY, "vendor_rate": MONEY, "status": pl.String,
            "billable": pl.Boolean, "is_billed": pl.Boolean,
            "deleted_at": pl.Datetime("us", "UTC"),
        },
    )  # fmt: skip


def events(session: Session, start: date, end: date) -> pl.DataFrame:
    e = BillingEventRow
    return _frame(
        session,
        select(
            e.source_record_id, e.kind, e.contract_id, e.currency, e.amount, e.rate,
            e.invoice_id, e.created_at,
        ).where(e.occurred_on >= start, e.occurred_on <= end),
        {
            "source_record_id": pl.String, "kind": pl.String, "contract_id": pl.String,
            "currency": pl.String,
            "amount": MONEY, "rate": MONEY, "invoice_id": pl.String,
            "created_at": pl.Datetime("us", "UTC"),
        },
    )  # fmt: skip


def compensated(session: Session, start: date, end: date) -> pl.DataFrame:
    """Per time entry of the month: its adjustments less its credit notes (``id, net``)."""
    k = CompensationRow
    signed = case((k.kind == CREDIT_NOTE, -k.amount), else_=k.amount)
    return _frame(
        session,
        select(k.time_entry_id, func.sum(signed))
        .join(TimeEntryRow, TimeEntryRow.id == k.time_entry_id)
        .where(
            TimeEntryRow.spent_date >= start,
            TimeEntryRow.spent_date <= end,
            k.status != CompensationStatus.WITHDRAWN,
        )
        .group_by(k.time_entry_id),
        {"id": pl.String, "net": MONEY},
    )


def invoices(session: Session, start: date, end: date) -> pl.DataFrame:
    """The month's invoices with their lines' total and the payments recorded against them."""
    i = InvoiceRow
    rows = session.execute(
        select(i.id, i.contract_id, i.currency, i.status, i.total, i.amount_due, i.lines).where(
            i.period_start >= start, i.period_start <= end
        )
    ).all()
    ids = [r.id for r in rows]
    paid = dict(
        session.execute(
            select(PaymentRow.invoice_id, func.sum(PaymentRow.amount))
            .where(PaymentRow.invoice_id.in_(ids))
            .group_by(PaymentRow.invoice_id)
        ).all()
    )
    credited = dict(
        session.execute(
            select(CompensationRow.invoice_id, func.sum(CompensationRow.allocated))
            .where(CompensationRow.invoice_id.in_(ids), CompensationRow.kind == CREDIT_NOTE)
            .group_by(CompensationRow.invoice_id)
        ).all()
    )
    return pl.DataFrame(
        [
            (r.contract_id, r.currency, r.status, r.total, r.amount_due, _lines_total(r.lines),
             paid.get(r.id) or Decimal(0), credited.get(r.id) or Decimal(0))
            for r in rows
        ],
        schema={
            "contract_id": pl.String, "currency": pl.String, "status": pl.String,
            "total": MONEY, "amount_due": MONEY, "lines_total": MONEY, "paid": MONEY,
            "credited": MONEY,
        },
        orient="row",
    )  # fmt: skip


def _lines_total(lines: Any) -> Decimal:
    if not isinstance(lines, list):
        return Decimal(0)
    return sum(
        (Decimal(str(line.get("amount") or 0)) for line in lines if isinstance(line, dict)),
        Decimal(0),
    )


def held(session: Session, category: str) -> set[str]:
    """Time entries whose money an open exception already holds (any category but
    ``category``, the reconciliation's own)."""
    return set(
        session.scalars(
            select(ExceptionRow.entity_id).where(
                ExceptionRow.entity_type == "time_entry",
                ExceptionRow.entity_id.is_not(None),
                ExceptionRow.status.in_(UNRESOLVED_STATUSES),
                ExceptionRow.category != category,
            )
        )
    )


def oldest(session: Session) -> date | None:
    firsts = [
        session.scalar(select(func.min(TimeEntryRow.spent_date))),
        session.scalar(select(func.min(BillingEventRow.occurred_on))),
        session.scalar(select(func.min(InvoiceRow.period_start))),
    ]
    known = [d for d in firsts if d is not None]
    return min(known) if known else None


def contract_erps(session: Session) -> dict[str, set[str]]:
    """Contract → the ERPs its invoices were sent to (their outbox items' ``system``)."""
    rows = session.execute(
        select(InvoiceRow.contract_id, OutboxRow.system)
        .join(OutboxRow, OutboxRow.aggregate_id == InvoiceRow.id)
        .where(OutboxRow.kind == OutboxKind.INVOICE_CREATE)
        .distinct()
    )
    erps: dict[str, set[str]] = {}
    for contract_id, system in rows:
        erps.setdefault(contract_id, set()).add(system)
    return erps
