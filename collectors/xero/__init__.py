"""Xero Accounting: contacts, sales invoices (ACCREC), credit notes and payments, per tenant.

Auth is OAuth2 client credentials (a Xero custom connection) with the token fetched and refreshed
inside an ``httpx.Auth``; every accounting call carries ``xero-tenant-id`` and is paced under that
tenant's limits (60 calls a minute, 5 in flight, 5,000 a day). Reads are incremental with
``If-Modified-Since`` and page by number; dates arrive as MS-JSON (``/Date(1539993600000+0000)/``).

Writes go in batches of up to 50 with ``summarizeErrors=false``, so one invalid invoice comes back
with its own ``ValidationErrors`` while the rest of its batch is created. Each request carries one
``Idempotency-Key`` derived from the keys of the documents in it: a retried batch is the same
request, and Xero replays its first reply instead of creating the documents twice.
"""

from __future__ import annotations

from collectors.xero.batches import (
    MAX_BATCH,
    MAX_IDEMPOTENCY_KEY,
    PostedCreditNote,
    PostedInvoice,
    batch_key,
)
from collectors.xero.connector import STREAMS, XeroConnector, XeroSettings, XeroTenant, xero_pacer
from collectors.xero.mapping import (
    VENDOR,
    credit_note_body,
    invoice_body,
    parse_ms_date,
    to_customer,
    to_invoice,
    to_payment,
    verify_webhook,
)

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
    "parse_ms_date",
    "to_customer",
    "to_invoice",
    "to_payment",
    "verify_webhook",
    "xero_pacer",
]
