"""Status back: what happened to our invoices in the ERP, and what customers owe, to the CRM.

Every company of every ERP in use (one per legal entity) is read through ``collectors.erp.Erp``,
each with cursors of its own: system ``<erp>``, streams ``invoices:<company>`` and
``payments:<company>``.

1. Invoices changed since the cursor: the invoices plan2cash posted take the ERP's status and
   amount due (paid, part-paid, voided) — the ERP owns them once posted.
2. Payments changed since the cursor: payments against our invoices become payment rows (the cash
   side of DSO and of the money reconciliation).
3. Each customer whose invoices changed gets its receivable written to its Salesforce account
   (``AR_Balance__c``, ``AR_Overdue__c``), 25 accounts per composite call. An account is found by
   the cross-reference map, or the first time by its exact name, and then remembered. Each
   accepted write is a ``receivable.written`` business event of the customer.

Invoices and payments an ERP holds that plan2cash did not post are left alone here.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from collectors import salesforce
from collectors.entities import Invoice, Payment
from collectors.erp import Erp
from sync.flows.context import FlowContext, FlowResult
from sync.flows.customers import ACCOUNT
from sync.flows.unreadable import RecordKind, map_records, settle
from sync.pipeline import with_last
from sync.store.db import transaction, upsert
from sync.store.repo import (
    Problem,
    get_cursor,
    link,
    report_problems,
    set_cursor,
)
from sync.store.tables import CustomerRow, InvoiceRow, PaymentRow, XrefRow
from sync.store.vocabulary import Flow
from sync.telemetry import current_trace_id, record_events, tracer

FLOW = Flow.STATUS_BACK
LAG = timedelta(minutes=5)


def record_kind(erp: Erp, name: str) -> RecordKind:
    """One kind of an ERP's records (``invoice``, ``payment``), as their exceptions are keyed
    (``<erp>:<kind>:<id>``) and named ("Xero invoice")."""
    return RecordKind(erp.name, name, f"{erp.label} {name}", name, erp.record_ids[name])


def run(ctx: FlowContext) -> FlowResult:
    result = FlowResult()
    touched: set[str] = set()
    for erp in ctx.erps.values():
        with erp.client() as client:
            for company in erp.companies(client):
                attributes = {"erp": erp.name, "company": company.company_id}
                with tracer.start_as_current_span("status_back company", attributes=attributes):
                    result.add(_invoices(ctx, erp, client, company.company_id, touched))
                    result.add(_payments(ctx, erp, client, company.company_id, touched))
    if touched:
        result.add(write_receivables(ctx, touched))
    return result


def _since(ctx: FlowContext, erp: Erp, stream: str) -> datetime | None:
    with ctx.sessions() as session:
        cursor = get_cursor(session, erp.name, stream)
    return datetime.fromisoformat(cursor) - LAG if cursor else None


def _ours(session: Session, erp: Erp, entity_type: str, external_ids: list[str]) -> dict[str, str]:
    """The ERP's id → our canonical id, for the records plan2cash knows."""
    rows = session.execute(
        select(XrefRow.external_id, XrefRow.canonical_id).where(
            XrefRow.entity_type == entity_type,
            XrefRow.system == erp.name,
            XrefRow.external_id.in_(external_ids),
        )
    )
    return dict(rows.all())


def _invoices(
    ctx: FlowContext, erp: Erp, client: httpx.Client, company: str, touched: set[str]
) -> FlowResult:
    result, stream = FlowResult(), f"invoices:{company}"
    newest: datetime | None = None
    kind = record_kind(erp, "invoice")
    for page, last in with_last(erp.invoice_pages(client, company, _since(ctx, erp, stream))):
        with tracer.start_as_current_span(
            "status_back invoices page", attributes={"records": len(page)}
        ):
            mapped = map_records(kind, page, erp.to_invoice)
            read = [i for i in mapped.entities if i is not None]
            newest = max([newest, *(i.updated_at for i in read)], key=_key, default=None)
            with transaction(ctx.sessions) as session:
                settle(session, FLOW, mapped.problems, mapped.keys, note="record read")
                ours = _ours(session, erp, "invoice", [i.source_id for i in read])
                for invoice in read:
                    if invoice.source_id in ours and _apply(
                        session, ours[invoice.source_id], invoice, ctx.clock()
                    ):
                        touched.add(ours[invoice.source_id])
                        result.records_out += 1
                if last and newest is not None:
                    set_cursor(session, erp.name, stream, newest.isoformat())
        result.records_in += len(page)
        result.exceptions += len(mapped.problems)
    return result


def _key(moment: datetime | None) -> datetime:
    return moment or datetime.min.replace(tzinfo=UTC)


def _apply(session: Session, invoice_id: str, seen: Invoice, moment: datetime) -> bool:
    """Take the ERP's status and amount due (at ``moment``, the engine's clock); ``True`` when
    something changed."""
    row = session.get(InvoiceRow, invoice_id)
    if row is None or (row.status, row.amount_due) == (seen.status, seen.amount_due):
        return False
    became_paid = seen.status == "paid" and row.status != "paid"
    session.execute(
        update(InvoiceRow)
        .where(InvoiceRow.id == invoice_id)
        .values(status=seen.status, amount_due=seen.amount_due, updated_at=moment)
    )
    if became_paid:
        record_events(
            session,
            "invoice.paid",
            "invoice",
            [(invoice_id, seen.updated_at)],
            attributes={"number": row.number, "currency": row.currency},
        )
    return True


def _payments(
    ctx: FlowContext, erp: Erp, client: httpx.Client, company: str, touched: set[str]
) -> FlowResult:
    result, stream = FlowResult(), f"payments:{company}"
    newest: datetime | None = None
    kind = record_kind(erp, "payment")
    for page, last in with_last(erp.payment_pages(client, company, _since(ctx, erp, stream))):
        mapped = map_records(kind, page, erp.to_payments)
        payments = [p for read in mapped.entities for p in read]
        with transaction(ctx.sessions) as session:
            settle(session, FLOW, mapped.problems, mapped.keys, note="record read")
            newest = max([newest, *(p.updated_at for p in payments)], key=_key, default=None)
            invoices = _ours(session, erp, "invoice", [p.invoice_id for p in payments])
            candidates = (_payment_row(erp, p, invoices) for p in payments)
            rows = [r for r in candidates if r is not None]
            known = set(
                session.scalars(
                    select(PaymentRow.id).where(PaymentRow.id.in_([r["id"] for r in rows]))
                )
            )
            fresh = [r for r in rows if r["id"] not in known]  # re-read in the lag window: skip
            upsert(session, PaymentRow, fresh, keys=["id"])
            record_events(
                session,
                "payment.received",
                "invoice",
                [(r["invoice_id"], r["updated_at"]) for r in fresh],
                attributes={"system": erp.name},
            )
            touched.update(r["invoice_id"] for r in fresh)
            if last and newest is not None:
                set_cursor(session, erp.name, stream, newest.isoformat())
        result.records_in += len(page)
        result.records_out += len(fresh)
        result.exceptions += len(mapped.problems)
    return result


def _payment_row(erp: Erp, payment: Payment, invoices: dict[str, str]) -> dict[str, Any] | None:
    if payment.invoice_id not in invoices:
        return None  # a payment against an invoice plan2cash did not post
    return {
        "id": payment.id,
        "source": erp.name,
        "source_id": payment.source_id,
        "updated_at": payment.updated_at,
        "schema_version": 1,
        "invoice_id": invoices[payment.invoice_id],
        "received_on": payment.received_on,
        "amount": payment.amount,
        "currency": payment.currency,
    }


def write_receivables(ctx: FlowContext, invoice_ids: set[str]) -> FlowResult:
    """Write each affected customer's open and overdue receivable to its Salesforce account."""
    today = ctx.today()
    with ctx.sessions() as session:
        customers = set(
            session.scalars(select(InvoiceRow.customer_id).where(InvoiceRow.id.in_(invoice_ids)))
        )
        owed: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
        for row in session.scalars(
            select(InvoiceRow).where(
                InvoiceRow.customer_id.in_(customers), InvoiceRow.status.in_(("posted", "paid"))
            )
        ):
            due = Decimal(row.amount_due or 0)
            owed[row.customer_id][0] += due
            if row.due_date < today:
                owed[row.customer_id][1] += due
    with ctx.salesforce.client() as client:
        accounts = _accounts(ctx, client, sorted(customers))
        updates = [
            salesforce.ARUpdate(
                account_id=accounts[c],
                balance=owed[c][0].quantize(CENT),
                overdue=owed[c][1].quantize(CENT),
                as_of=ctx.clock(),
            )
            for c in sorted(customers)
            if c in accounts
        ]
        results = ctx.salesforce.update_ar(client, updates) if updates else []
    refused = [r for r in results if not r.ok]
    with transaction(ctx.sessions) as session:
        report_problems(
            session,
            FLOW,
            [
                Problem(
                    record_key=f"salesforce:account:{r.account_id}",
                    stage="write_back",
                    category="crm_rejected",
                    reason=f"Salesforce refused the AR update: {r.error}",
                    entity_type="account",
                    entity_id=r.account_id,
                )
                for r in refused
            ],
            trace_id=current_trace_id(),
        )
        written = {r.account_id for r in results if r.ok}
        record_events(  # when each customer's receivable reached the CRM (the payments SLI)
            session,
            "receivable.written",
            "customer",
            [(c, ctx.clock()) for c in sorted(customers) if accounts.get(c) in written],
        )
    return FlowResult(
        records_in=len(customers), records_out=len(results) - len(refused), exceptions=len(refused)
    )


CENT = Decimal("0.01")


def _accounts(ctx: FlowContext, client: httpx.Client, customers: list[str]) -> dict[str, str]:
    """Customer → Salesforce Account Id: remembered, or found once by exact name."""
    with ctx.sessions() as session:
        known = dict(
            session.execute(
                select(XrefRow.canonical_id, XrefRow.external_id).where(
                    XrefRow.entity_type == "customer",
                    XrefRow.system == "salesforce",
                    XrefRow.canonical_id.in_(customers),
                )
            ).all()
        )
        names = dict(
            session.execute(
                select(CustomerRow.id, CustomerRow.name).where(
                    CustomerRow.id.in_(set(customers) - set(known))
                )
            ).all()
        )
    if names:
        # an account that cannot be read is the customers flow's exception
        listed = (raw for page in ctx.salesforce.pages(client, "accounts") for raw in page)
        by_name = {
            account.name: account.source_id
            for account in map_records(ACCOUNT, listed, salesforce.to_customer).entities
        }
        found = {c: by_name[n] for c, n in names.items() if n in by_name}
        with transaction(ctx.sessions) as session:
            link(session, "customer", [(c, "salesforce", a) for c, a in found.items()])
        known |= found
    return known
