"""The ERP deliveries' read (``sync.store.deliveries``) and the invoices' books on SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine

from sync.store import (
    CompensationRow,
    CustomerRow,
    InvoiceRow,
    OutboxKind,
    OutboxRow,
    OutboxStatus,
    dashboard,
    deliveries,
    session_factory,
    transaction,
)

START = datetime(2026, 3, 2, 9, tzinfo=UTC)


def invoice(key: str, customer: str, currency: str, total: str) -> InvoiceRow:
    day = date(2026, 3, 1)
    return InvoiceRow(
        id=key, number=f"P2C-{key}", customer_id=customer, contract_id="k", currency=currency,
        period_start=day, period_end=day, issue_date=day, due_date=day, total=Decimal(total),
        status="posted", lines=[], created_at=START, updated_at=START,
    )  # fmt: skip


def item(key: str, payload: dict[str, Any], status: OutboxStatus, **more: Any) -> OutboxRow:
    kind = more.pop("kind", OutboxKind.INVOICE_CREATE)
    return OutboxRow(
        kind=kind, system="xero", aggregate_id=key, idempotency_key=f"p2c-{key}",
        payload=payload, status=status, attempts=more.pop("attempts", 1),
        next_attempt_at=START, created_at=START, **more,
    )  # fmt: skip


def seed(store: Engine) -> None:
    with transaction(session_factory(store)) as session:
        for key, entity in (("c-uk", "Firm UK Ltd"), ("c-de", "Firm GmbH"), ("c-x", None)):
            session.add(
                CustomerRow(
                    id=key, name=key, currency="EUR", legal_entity=entity, source="test",
                    source_id=key, updated_at=START,
                )
            )  # fmt: skip
        session.add_all(
            [
                invoice("i1", "c-uk", "GBP", "100.50"),
                invoice("i2", "c-de", "EUR", "200"),
                invoice("i3", "c-x", "USD", "300"),
                invoice("i4", "c-x", "USD", "400"),
            ]
        )
        session.add(
            CompensationRow(
                id="cn1", kind="credit_note", time_entry_id="t", invoice_id="i2",
                customer_id="c-de", contract_id="k", version=1, number="P2C-i2-CN1",
                quantity=Decimal(1), rate=Decimal(20), amount=Decimal(20), currency="EUR",
                issue_date=date(2026, 3, 2), reason="edited", status="posted",
                created_at=START, updated_at=START,
            )
        )  # fmt: skip
        delivered = START + timedelta(seconds=4)
        session.add_all(
            [
                item("i1", {"erp": "dynamics365", "company": "gb01"}, OutboxStatus.DELIVERED,
                     delivered_at=delivered, external_id="gb01/CIV-1"),
                item("i2", {"erp": "oracle_fusion", "company": "BU DE"}, OutboxStatus.FAILED),
                item("i3", {"tenant_id": "tenant-1"}, OutboxStatus.RETRYING, attempts=3),
                item("i4", {}, OutboxStatus.PENDING, attempts=0),
                item("cn1", {"erp": "oracle_fusion", "company": "BU DE"}, OutboxStatus.DELIVERED,
                     kind=OutboxKind.CREDIT_NOTE_CREATE, delivered_at=delivered),
            ]
        )  # fmt: skip


def test_each_item_reads_with_its_books_legal_entity_and_document(store: Engine) -> None:
    seed(store)
    with store.connect() as connection:
        rows = deliveries.erp_deliveries(connection).drop("id", "created_at").to_dicts()
    assert rows == [
        {"kind": "invoice", "erp": "dynamics365", "company": "gb01",
         "legal_entity": "Firm UK Ltd", "number": "P2C-i1", "status": "delivered",
         "attempts": 1, "currency": "GBP", "amount": 100.5,
         "delivered_at": START + timedelta(seconds=4), "external_id": "gb01/CIV-1"},
        {"kind": "invoice", "erp": "oracle_fusion", "company": "BU DE",
         "legal_entity": "Firm GmbH", "number": "P2C-i2", "status": "failed", "attempts": 1,
         "currency": "EUR", "amount": 200.0, "delivered_at": None, "external_id": None},
        # routed when Xero was the only ERP: its tenant is its company
        {"kind": "invoice", "erp": "xero", "company": "tenant-1", "legal_entity": None,
         "number": "P2C-i3", "status": "retrying", "attempts": 3, "currency": "USD",
         "amount": 300.0, "delivered_at": None, "external_id": None},
        # not routed yet: no ERP, whatever the item's system says
        {"kind": "invoice", "erp": None, "company": None, "legal_entity": None,
         "number": "P2C-i4", "status": "pending", "attempts": 0, "currency": "USD",
         "amount": 400.0, "delivered_at": None, "external_id": None},
        {"kind": "credit_note", "erp": "oracle_fusion", "company": "BU DE",
         "legal_entity": "Firm GmbH", "number": "P2C-i2-CN1", "status": "delivered",
         "attempts": 1, "currency": "EUR", "amount": 20.0,
         "delivered_at": START + timedelta(seconds=4), "external_id": None},
    ]  # fmt: skip


def test_an_empty_outbox_reads_as_an_empty_frame_of_every_column(store: Engine) -> None:
    with store.connect() as connection:
        frame = deliveries.erp_deliveries(connection)
    assert frame.is_empty()
    assert list(frame.schema) == list(deliveries.DELIVERY_COLUMNS)


def test_invoices_carry_their_erp_company_and_erp_id_and_filter_by_erp(store: Engine) -> None:
    seed(store)
    with store.connect() as connection:
        every = dashboard.invoices(connection, 10)
        fusion = dashboard.invoices(connection, 10, erp="oracle_fusion")
    books = {r["number"]: (r["erp"], r["company"], r["erp_invoice_id"], r["legal_entity"])
             for r in every.iter_rows(named=True)}  # fmt: skip
    assert books == {
        "P2C-i1": ("dynamics365", "gb01", "gb01/CIV-1", "Firm UK Ltd"),
        "P2C-i2": ("oracle_fusion", "BU DE", None, "Firm GmbH"),
        "P2C-i3": ("xero", "tenant-1", None, None),
        "P2C-i4": (None, None, None, None),
    }
    assert fusion["number"].to_list() == ["P2C-i2"]  # its credit note is no invoice
