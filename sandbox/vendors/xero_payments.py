"""Customers paying what was posted to Xero, as simulated days go by.

An open invoice (AUTHORISED, something due, nothing paid yet) is paid in full after the
customer's usual delay, drawn per invoice number from the seed, once that day has passed.
"""

from __future__ import annotations

import zlib
from datetime import timedelta
from decimal import Decimal

from sandbox.vendors.xero import XeroEmulator
from sandbox.vendors.xero_dates import parse_date
from sandbox.world.keyed import keyed_uniform
from sandbox.world.model import World


def collect_payments(world: World, xero: XeroEmulator) -> int:
    """Record every payment due before ``world.today``; returns how many were recorded."""
    customers = {(c.legal_entity_id, c.name): c for c in world.customers}
    entity_of = {e.xero_tenant_id: e.id for e in world.legal_entities}
    missing = -1
    paid = 0
    for tenant in xero.tenant_ids:
        for invoice in xero.invoices(tenant):
            customer = customers.get((entity_of.get(tenant, missing), invoice["Contact"]["Name"]))
            if (
                customer is None
                or invoice["Status"] != "AUTHORISED"
                or invoice["Type"] != "ACCREC"
                or invoice["Payments"]
                or invoice["AmountDue"] <= 0
            ):
                continue
            draw = keyed_uniform(world.seed, "paid", zlib.crc32(invoice["InvoiceNumber"].encode()))
            delay = max(1, round(customer.days_to_pay_mean * (0.6 + 0.8 * float(draw))))
            on = parse_date(invoice["Date"]) + timedelta(days=delay)
            if on < world.today:
                xero.record_payment(
                    tenant, invoice["InvoiceID"], Decimal(str(invoice["AmountDue"])), on
                )
                paid += 1
    return paid
