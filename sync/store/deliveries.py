"""What the dashboard reads of the documents delivered to the ERPs: one row per outbox item,
with the books it goes to and the document behind it.

An item's books are its route (``sync.store.outbox.route_of``): the ``erp`` and ``company`` kept
in its payload once it is routed; an item routed when Xero was the only ERP carries only
``tenant_id`` and goes to that Xero tenant; an item not routed yet has neither (``erp`` and
``company`` null), whatever its ``system`` says, since ``system`` is only the default ERP until
then. The legal entity is the one on record for the document's customer; the amount is the
invoice's total or the credit note's amount, in the document's currency (null when the document
is gone from the store).

Connection first: the caller opens the connection (and caches what it reads). The select runs
unchanged on SQLite and PostgreSQL; money is ``Float64``.
"""

from __future__ import annotations

from typing import Any

import polars as pl
from sqlalchemy import ColumnElement, Connection, case, func, literal, select

from sync.store.reads import read_frame
from sync.store.tables import CompensationRow, CustomerRow, InvoiceRow, OutboxRow
from sync.store.vocabulary import ErpSystem, OutboxKind

UTC_TIME = pl.Datetime("us", "UTC")
KIND_NAMES = {OutboxKind.INVOICE_CREATE: "invoice", OutboxKind.CREDIT_NOTE_CREATE: "credit_note"}
DELIVERY_COLUMNS: dict[str, Any] = {
    "id": pl.Int64,
    "kind": pl.String,  # invoice | credit_note
    "erp": pl.String,  # null: not routed yet
    "company": pl.String,  # the ERP's id of the books (tenant, dataAreaId, BU, subsidiary)
    "legal_entity": pl.String,
    "number": pl.String,  # the document's number (invoice or credit note)
    "status": pl.String,  # OutboxStatus
    "attempts": pl.Int64,
    "currency": pl.String,
    "amount": pl.Float64,
    "created_at": UTC_TIME,
    "delivered_at": UTC_TIME,
    "external_id": pl.String,  # the ERP's id of the document, once delivered
}


def routed_erp() -> ColumnElement[str]:
    """The ERP an outbox item was routed to, null until it is."""
    tenant = OutboxRow.payload["tenant_id"].as_string()
    return func.coalesce(
        OutboxRow.payload["erp"].as_string(),
        case((tenant.is_not(None), literal(ErpSystem.XERO.value))),
    )


def routed_company() -> ColumnElement[str]:
    """The company (set of books) an outbox item was routed to, null until it is."""
    return func.coalesce(
        OutboxRow.payload["company"].as_string(), OutboxRow.payload["tenant_id"].as_string()
    )


def erp_deliveries(connection: Connection) -> pl.DataFrame:
    """Every outbox item with its route, legal entity, document and delivery stamps
    (:data:`DELIVERY_COLUMNS`), oldest first."""
    item, invoice, note = OutboxRow, InvoiceRow, CompensationRow
    kind = case(*((item.kind == k, literal(name)) for k, name in KIND_NAMES.items()))
    statement = (
        select(
            item.id,
            kind,
            routed_erp(),
            routed_company(),
            CustomerRow.legal_entity,
            func.coalesce(invoice.number, note.number),
            item.status,
            item.attempts,
            func.coalesce(invoice.currency, note.currency),
            func.coalesce(invoice.total, note.amount),
            item.created_at,
            item.delivered_at,
            item.external_id,
        )
        .outerjoin(
            invoice,
            (item.kind == OutboxKind.INVOICE_CREATE) & (invoice.id == item.aggregate_id),
        )
        .outerjoin(
            note,
            (item.kind == OutboxKind.CREDIT_NOTE_CREATE) & (note.id == item.aggregate_id),
        )
        .outerjoin(
            CustomerRow, CustomerRow.id == func.coalesce(invoice.customer_id, note.customer_id)
        )
        .order_by(item.id)
    )
    return read_frame(connection, statement, DELIVERY_COLUMNS, strict=False)


__all__ = ["DELIVERY_COLUMNS", "erp_deliveries", "routed_company", "routed_erp"]
