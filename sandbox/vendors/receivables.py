"""What customers owe in each ERP of the firm, and customers paying it as simulated days go by.

Every ERP emulator lists every sales invoice it has booked, paid or not, as ``OpenInvoice``
(``receivables()``) and takes a payment (``record_payment``); ``books`` says which legal entity's
books hold each one. An invoice a customer would pay (``payable``: a sales invoice, open,
something due, nothing paid by the customer yet) is paid in full after the customer's usual
delay, drawn per invoice number from the seed, once that day has passed.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Protocol

from sandbox.world.keyed import keyed_uniform
from sandbox.world.model import World


@dataclass(frozen=True)
class OpenInvoice:
    """One sales invoice an ERP holds, with what is still due on it."""

    company_id: str
    invoice_id: str
    number: str
    customer_name: str
    issued: date
    currency: str
    amount_due: Decimal
    total: Decimal
    status: str  # in the ERP's words
    payable: bool  # a customer would pay it now (nothing paid yet, something due)


class KeepsBooks(Protocol):
    """An ERP emulator, as the payment simulation and the ground-truth tests see it."""

    def companies(self) -> list[tuple[str, int, str]]: ...  # (company id, entity id, name)

    def receivables(self) -> list[OpenInvoice]: ...

    def record_payment(
        self, company_id: str, invoice_id: str, amount: Decimal, on: date
    ) -> Any: ...


def collect_payments(world: World, erps: Iterable[KeepsBooks]) -> int:
    """Record every payment due before ``world.today`` in every ERP; how many were recorded."""
    customers = {(c.legal_entity_id, c.name): c for c in world.customers}
    paid = 0
    for erp in erps:
        entity_of = {company: entity for company, entity, _ in erp.companies()}
        for invoice in erp.receivables():
            customer = customers.get((entity_of.get(invoice.company_id, -1), invoice.customer_name))
            if customer is None or not invoice.payable:
                continue
            draw = keyed_uniform(world.seed, "paid", zlib.crc32(invoice.number.encode()))
            delay = max(1, round(customer.days_to_pay_mean * (0.6 + 0.8 * float(draw))))
            on = invoice.issued + timedelta(days=delay)
            if on < world.today:
                erp.record_payment(invoice.company_id, invoice.invoice_id, invoice.amount_due, on)
                paid += 1
    return paid


def books(erps: Iterable[KeepsBooks]) -> Iterator[tuple[int, OpenInvoice]]:
    """Every sales invoice the ERPs hold, with the id of the legal entity whose books hold it."""
    for erp in erps:
        entity_of = {company: entity for company, entity, _ in erp.companies()}
        for invoice in erp.receivables():
            yield entity_of[invoice.company_id], invoice
