"""The world as Dynamics 365 Finance holds it: one company (``dataAreaId``) per legal entity,
named as the entity, with that entity's customers and the history the firm posted by hand before
go-live (free text invoices numbered as issued, their payments, and the credit notes that settled
disputes and write-offs).

A company id is four lowercase characters in the D365 style: the entity's country code and a
two-digit number counting that country's entities in id order (``us01``, ``gb01``, ``us02``).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime
from decimal import Decimal

from sandbox.clock import utc_text
from sandbox.vendors.dynamics365_books import Books, day
from sandbox.world.model import CreditNote, Customer, Invoice, LegalEntity, Payment, World

SALES_ACCOUNT = "401100"


def company_ids(world: World) -> dict[int, str]:
    """Each legal entity's ``dataAreaId``, by entity id."""
    counts: dict[str, int] = {}
    ids: dict[int, str] = {}
    for entity in sorted(world.legal_entities, key=lambda e: e.id):
        country = entity.country.lower()[:2]
        counts[country] = counts.get(country, 0) + 1
        ids[entity.id] = f"{country}{counts[country]:02d}"
    return ids


def customer_account(customer: Customer) -> str:
    return f"CUS-{customer.id:05d}"


def companies(
    world: World, entities: Collection[int] | None, now: Callable[[], datetime]
) -> list[tuple[LegalEntity, Books]]:
    """The books of every chosen legal entity, seeded from the world."""
    ids = company_ids(world)
    chosen = [e for e in world.legal_entities if entities is None or e.id in entities]
    books = {e.id: (e, Books(ids[e.id], e.name, now)) for e in chosen}
    for customer in world.customers:
        if customer.legal_entity_id in books:
            _customer(books[customer.legal_entity_id][1], customer)
    payments: dict[int, list[Payment]] = {}
    for p in world.payments:
        payments.setdefault(p.invoice_id, []).append(p)
    notes: dict[int, list[CreditNote]] = {}
    for n in world.credit_notes:
        notes.setdefault(n.invoice_id, []).append(n)
    for invoice in world.invoices:
        if invoice.legal_entity_id in books:
            settled = (payments.get(invoice.id, []), notes.get(invoice.id, []))
            _history(books[invoice.legal_entity_id][1], invoice, *settled)
    return list(books.values())


def _customer(books: Books, customer: Customer) -> None:
    books.create_customer(
        {
            "CustomerAccount": customer_account(customer),
            "OrganizationName": customer.name,
            "CustomerGroupId": "10",
            "SalesCurrencyCode": customer.currency,
            "PaymentTerms": f"Net{customer.payment_terms_days}",
        }
    )


def _history(
    books: Books, invoice: Invoice, payments: list[Payment], notes: list[CreditNote]
) -> None:
    """A history invoice, posted under its own number, then its payments and credit notes."""
    header = books.create_header(
        {
            "CustomerAccount": f"CUS-{invoice.customer_id:05d}",
            "InvoiceDate": day(invoice.issue_date),
            "DueDate": day(invoice.due_date),
            "CurrencyCode": invoice.currency,
            "ExternalInvoiceId": invoice.number,
            "CustomerReference": f"{invoice.period_start:%Y-%m} services",
        }
    )
    for number, line in enumerate(invoice.lines, start=1):
        books.create_line(
            {
                "InvoiceIdentifier": header["InvoiceIdentifier"],
                "LineNumber": number,
                "Description": line.description,
                "Quantity": str(line.quantity),
                "UnitPrice": str(line.unit_amount),
                "MainAccountDisplayValue": SALES_ACCOUNT,
            }
        )
    header["InvoiceId"] = invoice.number  # a number the firm gave by hand
    books.post(header["InvoiceIdentifier"])
    debit = books.transaction(invoice.number)
    assert debit is not None
    _restamp(debit, invoice.updated_at)
    for payment in payments:
        credit = books.pay(invoice.number, payment.amount, payment.paid_on)
        _restamp(credit, payment.updated_at)
        _restamp(debit, max(payment.updated_at, invoice.updated_at))
    for note in notes:
        credit = books.open_transaction(
            {**header, "InvoiceId": f"CN-{note.id:05d}", "InvoiceDate": day(note.issued_on)},
            -Decimal(note.amount),
            "Cust",
        )
        books.settle(debit, credit, Decimal(note.amount), note.issued_on)
        _restamp(credit, note.updated_at)
        _restamp(debit, max(note.updated_at, invoice.updated_at))


def _restamp(transaction: dict[str, object], when: datetime) -> None:
    """History keeps the moment it happened, not the moment the sandbox started."""
    transaction["SysModifiedDateTime"] = utc_text(when)
    transaction["CreatedOn"] = min(str(transaction["CreatedOn"]), utc_text(when))
