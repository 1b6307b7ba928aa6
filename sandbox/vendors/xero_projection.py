"""The world as Xero holds it: one organisation (tenant) per legal entity, with that entity's
customers as contacts and the invoices the firm issued before go-live, their payments and the
credit notes that settled disputes and write-offs (embedded in each invoice, and as records of
their own for ``GET /Payments`` and ``GET /CreditNotes``)."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from decimal import Decimal
from typing import Any

from sandbox.vendors import xero_allocations, xero_credit_notes, xero_invoices
from sandbox.vendors.xero_dates import ms_date, ms_datetime, utc_string
from sandbox.world.model import CreditNote, Invoice, LegalEntity, Payment, World

Record = dict[str, Any]
SALES_ACCOUNT = "200"


@dataclass
class Tenant:
    """One Xero organisation's opening state."""

    tenant_id: str
    name: str
    currency: str
    opened: datetime
    contacts: list[Record] = field(default_factory=list)
    invoices: list[tuple[Record, datetime]] = field(default_factory=list)
    credit_notes: list[tuple[Record, datetime]] = field(default_factory=list)
    payments: list[tuple[Record, datetime]] = field(default_factory=list)


def contact_id(entity: LegalEntity, customer_id: int) -> str:
    return str(uuid.uuid5(uuid.UUID(entity.xero_tenant_id), f"contact:{customer_id}"))


def _uuid(entity: LegalEntity, kind: str, number: int) -> str:
    return str(uuid.uuid5(uuid.UUID(entity.xero_tenant_id), f"{kind}:{number}"))


def tenants(world: World, entities_kept: Collection[int] | None = None) -> list[Tenant]:
    """The organisations of the legal entities ``entities_kept`` (all when ``None``)."""
    opened = datetime.combine(world.history_start, time(), tzinfo=UTC)
    kept = [e for e in world.legal_entities if entities_kept is None or e.id in entities_kept]
    out = {e.id: Tenant(e.xero_tenant_id, e.name, e.currency, opened) for e in kept}
    entities = {e.id: e for e in kept}
    for c in world.customers:
        if c.legal_entity_id not in out:
            continue
        out[c.legal_entity_id].contacts.append(
            {
                "ContactID": contact_id(entities[c.legal_entity_id], c.id),
                "Name": c.name,
                "ContactStatus": "ACTIVE",
                "IsCustomer": True,
                "IsSupplier": False,
                "DefaultCurrency": c.currency,
                "AccountNumber": c.code,
            }
        )
    payments: dict[int, list[Payment]] = {}
    for p in world.payments:
        payments.setdefault(p.invoice_id, []).append(p)
    credits: dict[int, list[CreditNote]] = {}
    for n in world.credit_notes:
        credits.setdefault(n.invoice_id, []).append(n)
    names = {c.id: c.name for c in world.customers}
    for invoice in world.invoices:
        if invoice.legal_entity_id not in out:
            continue
        entity = entities[invoice.legal_entity_id]
        record = _invoice(
            entity,
            invoice,
            names[invoice.customer_id],
            payments.get(invoice.id, []),
            credits.get(invoice.id, []),
        )
        changes = [invoice.updated_at, *(p.updated_at for p in payments.get(invoice.id, []))]
        changes += [n.updated_at for n in credits.get(invoice.id, [])]
        tenant = out[entity.id]
        tenant.invoices.append((record, max(changes)))
        _settlements(
            tenant, entity, record, payments.get(invoice.id, []), credits.get(invoice.id, [])
        )
    return list(out.values())


def _settlements(
    tenant: Tenant,
    entity: LegalEntity,
    invoice: Record,
    payments: list[Payment],
    credits: list[CreditNote],
) -> None:
    """The history invoice's payments and credit notes as records of their own."""
    account = xero_allocations.bank_account(entity.xero_tenant_id)
    for p in payments:
        record = xero_allocations.payment_record(
            _uuid(entity, "payment", p.id), invoice, p.amount, p.paid_on, p.updated_at, account,
            invoice["InvoiceNumber"],
        )  # fmt: skip
        tenant.payments.append((record, p.updated_at))
    for n in credits:
        note = xero_credit_notes.history(
            _uuid(entity, "credit", n.id), f"CN-{n.id:05d}", invoice, n.amount, n.issued_on,
            n.reason, n.updated_at,
        )  # fmt: skip
        tenant.credit_notes.append((note, n.updated_at))


def _invoice(
    entity: LegalEntity,
    invoice: Invoice,
    customer_name: str,
    payments: list[Payment],
    credits: list[CreditNote],
) -> Record:
    contact = {"ContactID": contact_id(entity, invoice.customer_id), "Name": customer_name}
    proposal = {
        "Type": "ACCREC",
        "Contact": contact,
        "Date": invoice.issue_date.isoformat(),
        "DueDate": invoice.due_date.isoformat(),
        "Reference": f"{invoice.period_start:%Y-%m} services",
        "CurrencyCode": invoice.currency,
        "LineAmountTypes": "NoTax",
        "Status": "AUTHORISED",
        "SentToContact": True,
        "LineItems": [
            {
                "Description": line.description,
                "Quantity": str(line.quantity),
                "UnitAmount": str(line.unit_amount),
                "AccountCode": SALES_ACCOUNT,
                "LineItemID": _uuid(entity, f"line:{invoice.id}", k),
            }
            for k, line in enumerate(invoice.lines)
        ],
    }
    updated = max([invoice.updated_at, *(p.updated_at for p in payments)])
    record = xero_invoices.build(
        proposal,
        contact,
        invoice_id=_uuid(entity, "invoice", invoice.id),
        number=invoice.number,
        today=invoice.issue_date,
        now=updated,
        base_currency=entity.currency,
    )
    paid = sum((p.amount for p in payments), Decimal(0))
    credited = sum((n.amount for n in credits), Decimal(0))
    due = invoice.total - paid - credited
    record.update(
        Payments=[_payment(entity, p, invoice) for p in payments],
        CreditNotes=[_credit_note(entity, n, contact, invoice) for n in credits],
        AmountPaid=float(paid),
        AmountCredited=float(credited),
        AmountDue=float(due),
        Status="PAID" if due <= 0 else "AUTHORISED",
    )
    if due <= 0:
        settled = max([p.paid_on for p in payments] + [n.issued_on for n in credits])
        record["FullyPaidOnDate"] = ms_date(settled)
    return record


def _payment(entity: LegalEntity, payment: Payment, invoice: Invoice) -> Record:
    return {
        "PaymentID": _uuid(entity, "payment", payment.id),
        "Date": ms_date(payment.paid_on),
        "Amount": float(payment.amount),
        "CurrencyRate": 1.0,
        "Reference": invoice.number,
        "HasAccount": False,
        "HasValidationErrors": False,
    }


def _credit_note(
    entity: LegalEntity, note: CreditNote, contact: Record, invoice: Invoice
) -> Record:
    return {
        "CreditNoteID": _uuid(entity, "credit", note.id),
        "CreditNoteNumber": f"CN-{note.id:05d}",
        "Type": "ACCRECCREDIT",
        "Contact": contact,
        "Date": ms_date(note.issued_on),
        "Status": "PAID",
        "Reference": f"{note.reason.replace('_', '-')} {invoice.number}",
        "Total": float(note.amount),
        "AppliedAmount": float(note.amount),
        "CurrencyCode": invoice.currency,
        "UpdatedDateUTC": ms_datetime(note.updated_at),
        "UpdatedDateUTCString": utc_string(note.updated_at),
    }
