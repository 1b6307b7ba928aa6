"""The seeded store's invoices on their way to three ERPs, for the ERP sections of the
Integration health and Billing pages (on top of :func:`tests.app.seed.seed`).

- ``inv-usd`` (USD 1,500, Acme US Inc) is posted in Xero, tenant ``tenant-us``, in 2 s;
- ``inv-gbp`` (GBP 600, Brit Ltd) waits for Dynamics 365, company ``gb01``: retrying since
  10 minutes;
- ``inv-eur`` (EUR 300, Euro GmbH) is posted in Oracle Fusion, business unit ``BU DE``, in 8 s.

Dynamics 365 answered 3 calls, one of them a 429; Xero 1 call; Oracle Fusion 2 calls.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, update

from sync.store.db import session_factory, transaction
from sync.store.tables import CustomerRow, OutboxRow, SpanRow
from sync.store.vocabulary import OutboxKind, OutboxStatus

LEGAL_ENTITIES = {"c-usd": "Acme US Inc", "c-gbp": "Brit Ltd", "c-eur": "Euro GmbH"}
BOOKS = {  # invoice → (erp, company, status, seconds to deliver)
    "inv-usd": ("xero", "tenant-us", OutboxStatus.DELIVERED, 2),
    "inv-gbp": ("dynamics365", "gb01", OutboxStatus.RETRYING, None),
    "inv-eur": ("oracle_fusion", "BU DE", OutboxStatus.DELIVERED, 8),
}
CALLS = (("dynamics365", 200), ("dynamics365", 429), ("dynamics365", 200), ("xero", 200),
         ("oracle_fusion", 200), ("oracle_fusion", 200))  # fmt: skip


def seed_erps(engine: Engine, now: datetime) -> None:
    """Legal entities on the seeded customers, an outbox item per invoice, and ERP calls."""
    queued = now - timedelta(minutes=10)
    with transaction(session_factory(engine)) as session:
        for customer, entity in LEGAL_ENTITIES.items():
            session.execute(
                update(CustomerRow).where(CustomerRow.id == customer).values(legal_entity=entity)
            )
        for invoice, (erp, company, status, seconds) in BOOKS.items():
            delivered: dict[str, Any] = (
                {"delivered_at": queued + timedelta(seconds=seconds), "external_id": f"{erp}-1"}
                if seconds is not None
                else {}
            )
            session.add(
                OutboxRow(
                    kind=OutboxKind.INVOICE_CREATE, system=erp, aggregate_id=invoice,
                    idempotency_key=f"p2c-{invoice}", payload={"erp": erp, "company": company},
                    status=status, attempts=2 if seconds is None else 1, next_attempt_at=now,
                    created_at=queued, **delivered,
                )
            )  # fmt: skip
        for n, (vendor, code) in enumerate(CALLS):
            start = now - timedelta(minutes=5 - n)
            session.add(
                SpanRow(
                    span_id=f"erp{n:013d}", trace_id=f"{n:032d}", name=f"{vendor} call",
                    kind="client", start_time=start, end_time=start + timedelta(seconds=1),
                    duration_ms=100.0, status="error" if code == 429 else "unset",
                    attributes={"vendor": vendor, "attempt": 1, "http.status_code": code},
                )
            )  # fmt: skip
