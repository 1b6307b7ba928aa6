"""Xero Accounting: contacts, sales invoices (ACCREC), credit notes and payments, per tenant.

Auth is OAuth2 client credentials (a Xero custom connection) with the token fetched and refreshed
inside an ``httpx.Auth``; every accounting call carries ``xero-tenant-id`` and is paced under that
tenant's limits (60 calls a minute, 5 in flight, 5,000 a day). Reads are incremental with
``If-Modified-Since`` and page by number; dates arrive as MS-JSON (``/Date(1539993600000+0000)/``).

It is one implementation of ``collectors.erp.Erp``: a company is a tenant (organisation), a
customer a contact, and invoices and credit notes are bodies built from the protocol's documents
(on the configured ``sales_account_code``); ``put_invoices``/``put_credit_notes`` send bodies as
they are.

Writes go in batches of up to 50 with ``summarizeErrors=false``, so one invalid invoice comes back
with its own ``ValidationErrors`` while the rest of its batch is created. Each request carries one
``Idempotency-Key`` derived from the keys of the documents in it: a retried batch is the same
request, and Xero replays its first reply instead of creating the documents twice.
"""

from __future__ import annotations

from collectors.erp import PostedCreditNote, PostedInvoice
from collectors.xero.batches import MAX_BATCH, MAX_IDEMPOTENCY_KEY, batch_key
from collectors.xero.connector import STREAMS, XeroConnector, XeroTenant
from collectors.xero.mapping import (
    VENDOR,
    credit_note_body,
    invoice_body,
    live_payments,
    parse_ms_date,
    sales_invoice,
    to_customer,
    to_invoice,
    to_payment,
    verify_webhook,
)
from collectors.xero.settings import XeroSettings, xero_pacer

__all__ = [
    "MAX_BATCH",
    "MAX_IDEMPOTENCY_KEY",
    "STREAMS",
    "VENDOR",
    "PostedCreditNote",
    "PostedInvoice",
    "XeroConnector",
    "XeroSettings",
    "XeroTenant",
    "batch_key",
    "credit_note_body",
    "invoice_body",
    "live_payments",
    "parse_ms_date",
    "sales_invoice",
    "to_customer",
    "to_invoice",
    "to_payment",
    "verify_webhook",
    "xero_pacer",
]
