"""Xero's sales invoices as receivables, for the payment simulation
(``sandbox.vendors.receivables``) and the ground-truth tests: a customer pays an AUTHORISED
ACCREC invoice with something due and no payment yet (credit notes allocated to it aside)."""

from __future__ import annotations

from decimal import Decimal

from sandbox.vendors.receivables import OpenInvoice
from sandbox.vendors.xero_books import Record
from sandbox.vendors.xero_dates import parse_date


def open_invoice(tenant_id: str, invoice: Record) -> OpenInvoice:
    """One Xero invoice of ``tenant_id`` as a receivable."""
    due = Decimal(str(invoice["AmountDue"]))
    return OpenInvoice(
        company_id=tenant_id,
        invoice_id=invoice["InvoiceID"],
        number=invoice["InvoiceNumber"],
        customer_name=invoice["Contact"]["Name"],
        issued=parse_date(invoice["Date"]),
        currency=invoice["CurrencyCode"],
        amount_due=due,
        total=Decimal(str(invoice["Total"])),
        status=invoice["Status"],
        payable=invoice["Status"] == "AUTHORISED"
        and invoice["Type"] == "ACCREC"
        and not invoice["Payments"]
        and due > 0,
    )
