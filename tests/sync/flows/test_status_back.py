"""Status back: Xero's view of our invoices and the payments against them come home, and each
customer's receivable goes to its Salesforce account."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import Engine, select

from sandbox.server import Sandbox
from sandbox.vendors.salesforce.records import account_id
from sync.engine import Engine as SyncEngine
from sync.store.tables import BusinessEventRow, InvoiceRow, PaymentRow, XrefRow
from tests.sync.sandboxed import engine_for


def test_payments_and_statuses_come_back_and_receivables_reach_the_crm(
    sandbox: Sandbox, store: Engine
) -> None:
    engine = engine_for(sandbox, store)
    assert all(r.status == "succeeded" for r in engine.run_once())
    with engine.context.sessions() as s:
        rows = s.scalars(select(InvoiceRow).order_by(InvoiceRow.number)).all()
        xero_ids = dict(
            s.execute(
                select(XrefRow.canonical_id, XrefRow.external_id).where(
                    XrefRow.entity_type == "invoice", XrefRow.system == "xero"
                )
            ).all()
        )
    paid, part = rows[0], rows[1]
    sandbox.xero.record_payment(
        sandbox.xero.tenant_id, xero_ids[paid.id], Decimal(paid.total), date(2026, 11, 26)
    )
    sandbox.xero.record_payment(
        sandbox.xero.tenant_id, xero_ids[part.id], Decimal("100.00"), date(2026, 11, 26)
    )
    report = engine.run_flow("status_back")
    assert report.status == "succeeded", report.error
    with engine.context.sessions() as s:
        after = {r.id: r for r in s.scalars(select(InvoiceRow))}
        payments = s.scalars(select(PaymentRow)).all()
        events = set(s.scalars(select(BusinessEventRow.name)))
    assert after[paid.id].status == "paid" and after[paid.id].amount_due == 0
    assert after[part.id].status == "posted"
    assert after[part.id].amount_due == Decimal(part.total) - 100
    assert sorted(p.amount for p in payments) == sorted([Decimal("100.00"), Decimal(paid.total)])
    assert {"invoice.paid", "payment.received"} <= events
    customer = part.customer_id
    owed = sum(
        (Decimal(r.amount_due or 0) for r in after.values() if r.customer_id == customer),
        Decimal(0),
    )
    world_customer = next(
        c
        for c in sandbox.world.customers
        if c.name in {r.name for r in _customers(engine, customer)}
    )
    account = sandbox.emulators["salesforce"].record("Account", account_id(world_customer.id))
    assert Decimal(str(account["AR_Balance__c"])) == owed
    again = engine.run_flow("status_back")  # nothing changed: nothing read or written twice
    assert again.status == "succeeded" and again.result.records_out == 0


def _customers(engine: SyncEngine, customer_id: str) -> list[object]:
    from sync.store.tables import CustomerRow

    with engine.context.sessions() as s:
        return list(s.scalars(select(CustomerRow).where(CustomerRow.id == customer_id)))
