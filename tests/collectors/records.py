"""Vendor records as the APIs send or take them, for the connector tests."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from collectors.entities import Invoice, InvoiceLine
from collectors.erp import InvoiceDocument


def xero_invoice(
    number: str, contact_id: str, *, description: str = "Consulting"
) -> dict[str, Any]:
    """An authorised Xero sales invoice of 2.5 h at 150 (375.00 USD), as the API takes it."""
    return {
        "Type": "ACCREC",
        "Contact": {"ContactID": contact_id},
        "InvoiceNumber": number,
        "Date": "2026-11-01",
        "DueDate": "2026-12-01",
        "CurrencyCode": "USD",
        "LineAmountTypes": "NoTax",
        "Status": "AUTHORISED",
        "LineItems": [
            {"Description": description, "Quantity": 2.5, "UnitAmount": 150.0, "AccountCode": "200"}
        ],
    }


def harvest_time_entry(i: int, **over: Any) -> dict[str, Any]:
    """A closed, billable Harvest v2 time entry as the API sends it; ``over`` replaces fields."""
    base: dict[str, Any] = {
        "id": i,
        "spent_date": "2026-11-02",
        "hours": 7.5,
        "billable": True,
        "is_closed": True,
        "is_billed": False,
        "user": {"id": 10, "name": "Ada"},
        "project": {"id": 20, "name": "P", "code": "P1"},
        "client": {"id": 30, "name": "C"},
        "task": {"id": 40, "name": "Design"},
        "billable_rate": 150.0,
        "created_at": "2026-11-02T17:00:00Z",
        "updated_at": "2026-11-03T09:00:00Z",
        "notes": "x",
        "invoice": None,
        "user_assignment": {"id": 5, "is_active": True, "hourly_rate": 150.0},
    }
    return base | over


def erp_invoice(
    number: str, customer_ref: str, *, amount: str = "375.00", currency: str = "USD"
) -> InvoiceDocument:
    """One invoice for 2.5 h of consulting to post to an ERP (``collectors.erp``), issued on
    1 November 2026 for October, keyed ``p2c-<number>``."""
    hours = Decimal("2.5")
    line = InvoiceLine(
        description="Consulting", quantity=hours, unit_amount=Decimal(amount) / hours,
        amount=Decimal(amount),
    )  # fmt: skip
    invoice = Invoice(
        id=f"inv-{number}", source="plan2cash", source_id=number,
        updated_at=datetime(2026, 11, 1, 9, tzinfo=UTC), number=number, customer_id="c",
        contract_id="k", currency=currency, period_start=date(2026, 10, 1),
        period_end=date(2026, 10, 31), issue_date=date(2026, 11, 1), due_date=date(2026, 12, 1),
        lines=(line,), total=Decimal(amount),
    )  # fmt: skip
    return InvoiceDocument(key=f"p2c-{number}", invoice=invoice, customer_ref=customer_ref)
