"""Posting the sandbox world's invoices to an ERP through the ``Erp`` protocol, measured.

The documents are the invoices the world's ground truth says a legal entity issues
(``sandbox.world.truth.expected_invoices``: one per project and ended month, a line per person
and rate), numbered ``BENCH-<entity>-<n>`` so they never meet the ERP's own history. They go
out as the outbox sends them: the customer found by name in the company (created when it is
missing), then ``post_invoices`` in chunks of the connector's ``max_batch``.

The minimum a post needs is the vendor's, given its protocol (``ERP_MINIMA``), for documents the
ERP does not hold yet:

- Dynamics 365: one look-up of the numbers per chunk (F&O has no idempotency header), then per
  document a header create, one create per line and the ``PostInvoice`` action (no ``$batch``:
  the lines need the header's id), then one read of the chunk's customer transactions (the
  status back) per page.
- Oracle Fusion: per chunk, one look-up per 25 numbers, one ``parts[]`` batch creating the
  invoices and one completing them.
- NetSuite: one upsert (``PUT …/eid:<key>``) per document, then one SuiteQL status read per
  chunk (at most 200 ids a query).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import httpx

from bench.connectors_meter import Meter, Rate
from collectors.entities import Invoice, InvoiceLine
from collectors.erp import CustomerDocument, Erp, InvoiceDocument
from collectors.errors import RecordError
from sandbox.world.model import World
from sandbox.world.pricing import line_amount
from sandbox.world.truth import expected_invoices, month_end

FUSION_LOOKUP = 25  # numbers per Fusion look-up (collectors.oracle_fusion.posting)
NETSUITE_IN_LIST = 200  # ids per SuiteQL status read (collectors.netsuite.reads)


@dataclass(frozen=True)
class Bill:
    """One invoice to post and the customer it is for (its name and world id)."""

    customer: str
    customer_id: int
    terms_days: int
    invoice: Invoice


def bills(world: World, entity_id: int) -> list[Bill]:
    """The legal entity's invoices as the ground truth has them, as canonical invoices."""
    customers = {c.name: c for c in world.customers}
    found = [i for i in expected_invoices(world) if i["legal_entity_id"] == entity_id]
    return [_bill(entity_id, n, row, customers) for n, row in enumerate(found, 1)]


def _bill(entity_id: int, n: int, row: dict[str, Any], customers: dict[str, Any]) -> Bill:
    customer = customers[row["client_name"]]
    start: date = row["period_start"]
    end = month_end(start)
    issued = end + timedelta(days=1)
    lines = tuple(
        InvoiceLine(
            description=f"Services {start:%B %Y}, person {person} at {rate}",
            quantity=hours,
            unit_amount=rate,
            amount=line_amount(hours, rate),
        )
        for person, rate, hours in row["lines"]
    )
    number = f"BENCH-{entity_id}-{n:05d}"
    invoice = Invoice(
        id=f"bench-{number}", source="plan2cash", source_id=number,
        updated_at=datetime.combine(issued, time(9), tzinfo=UTC), number=number,
        customer_id=str(customer.id), contract_id=str(row["contract_id"]),
        currency=row["currency"], period_start=start, period_end=end, issue_date=issued,
        due_date=issued + timedelta(days=customer.payment_terms_days), lines=lines,
        total=sum((line.amount for line in lines), Decimal(0)),
    )  # fmt: skip
    return Bill(customer.name, customer.id, customer.payment_terms_days, invoice)


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


Minimum = Callable[[Sequence[Invoice], int, int], int]  # (chunk, page size, batch) → requests


def d365_minimum(chunk: Sequence[Invoice], page_size: int, batch: int) -> int:
    made = sum(2 + len(invoice.lines) for invoice in chunk)
    return 1 + made + max(1, math.ceil(len(chunk) / page_size))


def fusion_minimum(chunk: Sequence[Invoice], page_size: int, batch: int) -> int:
    return math.ceil(len(chunk) / FUSION_LOOKUP) + 2


def netsuite_minimum(chunk: Sequence[Invoice], page_size: int, batch: int) -> int:
    return len(chunk) + math.ceil(len(chunk) / NETSUITE_IN_LIST)


ERP_MINIMA: dict[str, tuple[Minimum, str]] = {
    "dynamics365": (
        d365_minimum,
        "per chunk: 1 look-up by number; per invoice: header + a create per line + PostInvoice; "
        "then the chunk's transactions",
    ),
    "oracle_fusion": (
        fusion_minimum,
        "per chunk: a look-up per 25 numbers, a parts[] batch creating, one completing",
    ),
    "netsuite": (netsuite_minimum, "a PUT eid:<key> upsert per invoice + 1 SuiteQL per chunk"),
}


@dataclass(frozen=True)
class Target:
    """Where a measured post goes: the vendor, its company, the legal entity it books, and the
    limits its rows are read against."""

    vendor: str
    company: str
    entity_id: int
    rate: Rate | None
    concurrency: int | None
    page_size: int


def post_company(
    erp: Erp, client: httpx.Client, meter: Meter, target: Target, world: World
) -> None:
    """Find (or create) the entity's customers, then post its invoices; two rows."""
    found = bills(world, target.entity_id)
    refs = _customers(erp, client, meter, target, found)
    documents = [
        InvoiceDocument(f"bench-{target.vendor}-{b.invoice.number}", b.invoice, refs[b.customer])
        for b in found
    ]
    minimum, how = ERP_MINIMA[target.vendor]
    with meter.stream(
        target.vendor, f"post invoices · {target.company}", target.rate, target.concurrency
    ) as row:
        refused = 0
        for chunk in chunks(documents, erp.max_batch):
            outcomes = erp.post_invoices(client, target.company, chunk)
            refused += sum(isinstance(o, RecordError) for o in outcomes)
            invoices = [d.invoice for d in chunk]
            row.minimum += minimum(invoices, target.page_size, erp.max_batch)
            meter.add(len(chunk))
        row.records = len(documents)
        lines = sum(len(d.invoice.lines) for d in documents)
        row.note = f"{lines:,} lines, chunks of {erp.max_batch}: {how}"
        if refused:
            row.note += f"; [red]{refused} refused[/]"


def _customers(
    erp: Erp, client: httpx.Client, meter: Meter, target: Target, found: Sequence[Bill]
) -> dict[str, str]:
    wanted = {b.customer: b for b in found}
    refs: dict[str, str] = {}
    with meter.stream(
        target.vendor, f"find customers · {target.company}", target.rate, target.concurrency
    ) as row:
        created = 0
        for name, bill in wanted.items():
            ref = erp.find_customer(client, target.company, name)
            if ref is None:
                ref = erp.create_customer(client, target.company, _customer(target, bill))
                created += 1
            refs[name] = ref
        row.records = len(wanted)
        row.minimum = len(wanted) + created
        row.note = "1 look-up by name per customer"
        if created:
            row.note += f"; {created} created (+1 create each; the create looks again first)"
    return refs


def _customer(target: Target, bill: Bill) -> CustomerDocument:
    return CustomerDocument(
        key=f"bench-{target.vendor}-customer-{bill.customer_id}",
        customer_id=str(bill.customer_id),
        name=bill.customer,
        currency=bill.invoice.currency,
        payment_terms_days=bill.terms_days,
    )


__all__ = ["ERP_MINIMA", "Bill", "Target", "bills", "post_company"]
