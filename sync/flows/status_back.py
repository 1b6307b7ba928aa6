"""Status back: what happened to our invoices in the ERP, and what customers owe, to the CRM.

Every Xero organisation the connection reaches (one per legal entity) is read, each with cursors
of its own.

1. Xero invoices modified since the cursor (``If-Modified-Since``): the invoices plan2cash posted
   take Xero's status and amount due (paid, part-paid, voided) — Xero owns them once posted.
2. Xero payments modified since the cursor: payments against our invoices become payment rows
   (the cash side of DSO and of the money reconciliation).
3. Each customer whose invoices changed gets its receivable written to its Salesforce account
   (``AR_Balance__c``, ``AR_Overdue__c``), 25 accounts per composite call. An account is found by
   the cross-reference map, or the first time by its exact name, and then remembered. Each
   accepted write is a ``receivable.written`` business event of the customer.

Invoices and payments Xero holds that plan2cash did not post are left alone here.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from collectors import salesforce, xero
from collectors.entities import Invoice, Payment
from sync.flows.context import FlowContext, FlowResult
from sync.flows.customers import ACCOUNT
from sync.flows.unreadable import RecordKind, map_records
from sync.pipeline import with_last
from sync.store.db import transaction, upsert
from sync.store.repo import (
    Problem,
    get_cursor,
    link,
    report_problems,
    resolve_problems,
    set_cursor,
)
from sync.store.tables import CustomerRow, InvoiceRow, PaymentRow, XrefRow
from sync.store.vocabulary import Flow
from sync.telemetry import current_trace_id, record_events, tracer

FLOW = Flow.STATUS_BACK
LAG = timedelta(minutes=5)
INVOICE = RecordKind("xero", "invoice", "Xero invoice", "invoice", ("InvoiceID",))
PAYMENT = RecordKind("xero", "payment", "Xero payment", "payment", ("PaymentID",))


def run(ctx: FlowContext) -> FlowResult:
    result = FlowResult()
    touched: set[str] = set()
    with ctx.xero.client() as client:
        for tenant in _tenants(ctx, client):
            with tracer.start_as_current_span("status_back tenant", attributes={"tenant": tenant}):
                result.add(_invoices(ctx, client, tenant, touched))
                result.add(_payments(ctx, client, tenant, touched))
    if touched:
        result.add(write_receivables(ctx, touched))
    return result


def _tenants(ctx: FlowContext, client: httpx.Client) -> list[str]:
    """The pinned organisation, or every one the connection reaches."""
    if ctx.settings.xero.tenant_id:
        return [ctx.settings.xero.tenant_id]
    return [t.tenant_id for t in ctx.xero.tenants(client)]


def _since(ctx: FlowContext, stream: str) -> datetime | None:
    with ctx.sessions() as session:
        cursor = get_cursor(session, "xero", stream)
    return datetime.fromisoformat(cursor) - LAG if cursor else None


def _ours(session: Session, entity_type: str, external_ids: list[str]) -> dict[str, str]:
    """External Xero id → our canonical id, for the records plan2cash knows."""
    rows = session.execute(
        select(XrefRow.external_id, XrefRow.canonical_id).where(
            XrefRow.entity_type == entity_type,
            XrefRow.system == "xero",
            XrefRow.external_id.in_(external_ids),
        )
    )
    return dict(rows.all())


def _invoices(ctx: FlowContext, client: httpx.Client, tenant: str, touched: set[str]) -> FlowResult:
    result, stream = FlowResult(), f"invoices:{tenant}"
    newest: datetime | None = None
    for page, last in with_last(ctx.xero.pages(client, "invoices", tenant, _since(ctx, stream))):
        with tracer.start_as_current_span(
            "status_back invoices page", attributes={"records": len(page)}
        ):
            mapped = map_records(INVOICE, page, _sales_invoice)
            read = [i for i in mapped.entities if i is not None]
            newest = max([newest, *(i.updated_at for i in read)], key=_key, default=None)
            with transaction(ctx.sessions) as session:
                report_problems(session, FLOW, mapped.problems, trace_id=current_trace_id())
                resolve_problems(session, FLOW, mapped.keys, note="record read")
                ours = _ours(session, "invoice", [i.source_id for i in read])
                for invoice in read:
                    if invoice.source_id in ours and _apply(
                        session, ours[invoice.source_id], invoice, ctx.clock()
                    ):
                        touched.add(ours[invoice.source_id])
                        result.records_out += 1
                if last and newest is not None:
                    set_cursor(session, "xero", stream, newest.isoformat())
        result.records_in += len(page)
        result.exceptions += len(mapped.problems)
    return result


def _sales_invoice(raw: dict[str, Any]) -> Invoice | None:
    """A sales invoice (ACCREC) as canonical; ``None`` for any other kind."""
    return xero.to_invoice(raw) if raw.get("Type") == "ACCREC" else None


def _live_payment(raw: dict[str, Any]) -> Payment | None:
    """A payment as canonical; ``None`` for a deleted one."""
    return xero.to_payment(raw) if raw.get("Status") != "DELETED" else None


def _key(moment: datetime | None) -> datetime:
    return moment or datetime.min.replace(tzinfo=UTC)


def _apply(session: Session, invoice_id: str, seen: Any, moment: datetime) -> bool:
    """Take Xero's status and amount due (at ``moment``, the engine's clock); ``True`` when
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


def _payments(ctx: FlowContext, client: httpx.Client, tenant: str, touched: set[str]) -> FlowResult:
    result, stream = FlowResult(), f"payments:{tenant}"
    newest: datetime | None = None
    for page, last in with_last(ctx.xero.pages(client, "payments", tenant, _since(ctx, stream))):
        mapped = map_records(PAYMENT, page, _live_payment)
        pairs = [(p, raw) for raw, p in mapped.read if p is not None]
        with transaction(ctx.sessions) as session:
            report_problems(session, FLOW, mapped.problems, trace_id=current_trace_id())
            resolve_problems(session, FLOW, mapped.keys, note="record read")
            newest = max([newest, *(p.updated_at for p, _ in pairs)], key=_key, default=None)
            invoices = _ours(session, "invoice", [_invoice_of(raw) for _, raw in pairs])
            candidates = (_payment_row(p, raw, invoices) for p, raw in pairs)
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
                attributes={"system": "xero"},
            )
            touched.update(r["invoice_id"] for r in fresh)
            if last and newest is not None:
                set_cursor(session, "xero", stream, newest.isoformat())
        result.records_in += len(page)
        result.records_out += len(fresh)
        result.exceptions += len(mapped.problems)
    return result


def _invoice_of(raw: dict[str, Any]) -> str:
    """The Xero invoice a (readable) payment is against."""
    return str(raw["Invoice"]["InvoiceID"])


def _payment_row(
    payment: Any, raw: dict[str, Any], invoices: dict[str, str]
) -> dict[str, Any] | None:
    xero_invoice = _invoice_of(raw)
    if xero_invoice not in invoices:
        return None  # a payment against an invoice plan2cash did not post
    return {
        "id": payment.id,
        "source": "xero",
        "source_id": payment.source_id,
        "updated_at": payment.updated_at,
        "schema_version": 1,
        "invoice_id": invoices[xero_invoice],
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
