"""The world as Fusion holds it: one business unit per legal entity (named ``<entity name> BU``),
that entity's customers as customer accounts, and the invoices it issued before go-live,
completed, with their payments as standard receipts applied to them and their settled disputes
and write-offs as credit memos applied to them. Records carry the world's own timestamps, so an
incremental read from a cursor in the past finds the history where it belongs."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from datetime import UTC, datetime, time

from sandbox.vendors.oracle_fusion_books import Books, Record, money, stamp
from sandbox.world.model import CreditNote, Invoice, LegalEntity, Payment, World

HISTORY_SOURCE = "Manual"


def unit_name(entity: LegalEntity) -> str:
    return f"{entity.name} BU"


def chosen(world: World, entities: Collection[int] | None) -> list[LegalEntity]:
    return [e for e in world.legal_entities if entities is None or e.id in entities]


def project(books: Books, world: World, units: list[LegalEntity]) -> dict[str, int]:
    """Load the world's ``units`` into ``books``; the entity id of each business unit."""
    opened = datetime.combine(world.history_start, time(), tzinfo=UTC)
    by_entity = {e.id: e for e in units}
    for entity in units:
        books.add_unit(unit_name(entity), entity.name, entity.currency, opened)
    numbers: dict[int, str] = {}
    for customer in world.customers:
        if customer.legal_entity_id in by_entity:
            account = books.add_account(customer.name, customer.currency, customer.created_at)
            numbers[customer.id] = account["PartyNumber"]
    payments: dict[int, list[Payment]] = defaultdict(list)
    for payment in world.payments:
        payments[payment.invoice_id].append(payment)
    credits: dict[int, list[CreditNote]] = defaultdict(list)
    for note in world.credit_notes:
        credits[note.invoice_id].append(note)
    for invoice in world.invoices:
        owner = by_entity.get(invoice.legal_entity_id)
        if owner is not None and invoice.customer_id in numbers:
            record = _invoice(books, owner, invoice, numbers[invoice.customer_id])
            _settle(books, record, payments[invoice.id], credits[invoice.id])
    return {unit_name(e): e.id for e in units}


def _invoice(books: Books, entity: LegalEntity, invoice: Invoice, customer: str) -> Record:
    fields = {
        "BusinessUnit": unit_name(entity),
        "TransactionSource": HISTORY_SOURCE,
        "TransactionNumber": invoice.number,
        "TransactionDate": invoice.issue_date.isoformat(),
        "AccountingDate": invoice.issue_date.isoformat(),
        "DueDate": invoice.due_date.isoformat(),
        "BillToCustomerNumber": customer,
        "InvoiceCurrencyCode": invoice.currency,
        "LegalEntityIdentifier": entity.name,
        "Comments": f"{invoice.period_start:%Y-%m} services",
    }
    lines = [
        {
            "Description": line.description,
            "Quantity": line.quantity,
            "UnitSellingPrice": line.unit_amount,
        }
        for line in invoice.lines
    ]
    record = books.add_invoice(fields, lines, invoice.updated_at)
    record["InvoiceStatus"] = "Complete"
    return record


def _settle(
    books: Books, invoice: Record, payments: list[Payment], credits: list[CreditNote]
) -> None:
    for payment in payments:
        books.add_receipt(invoice, money(payment.amount), payment.paid_on, payment.updated_at)
    for note in credits:
        fields = {
            "BusinessUnit": invoice["BusinessUnit"],
            "TransactionSource": HISTORY_SOURCE,
            "TransactionNumber": f"CM-{note.id:05d}",
            "TransactionDate": note.issued_on.isoformat(),
            "BillToCustomerNumber": invoice["BillToCustomerNumber"],
            "CreditMemoCurrencyCode": invoice["InvoiceCurrencyCode"],
            "CreditMemoStatus": "Complete",
            "Comments": f"{note.reason.replace('_', '-')} {invoice['TransactionNumber']}",
        }
        line = {"Description": note.reason, "Quantity": -1, "UnitSellingPrice": note.amount}
        memo = books.add_credit_memo(fields, [line], note.updated_at)
        books.apply_credit_memo(
            memo, invoice, money(note.amount), note.issued_on, None, at=note.updated_at
        )
    moments = [p.updated_at for p in payments] + [n.updated_at for n in credits]
    if moments:
        invoice["LastUpdateDate"] = stamp(max(moments))
