"""What becomes of an outbox item that was not delivered: refused (an exception a person fixes
and replays, with the document's value at risk), retried later with backoff, or dead after too
many attempts. Shared by the invoice and the credit note deliveries.

Session first: the delivery loop owns the transaction. ``moment`` is the engine's clock, which
stamps the documents; the outbox's own stamps keep the wall clock."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import update
from sqlalchemy.orm import Session

from sync.settings import Billing
from sync.store import outbox as queue
from sync.store.repo import Problem, now, report_problems
from sync.store.tables import CompensationRow, InvoiceRow, OutboxRow
from sync.store.vocabulary import ExceptionCategory, Flow, InvoiceStatus, OutboxKind, OutboxStatus
from sync.telemetry import current_trace_id

FLOW = Flow.OUTBOX
Document = InvoiceRow | CompensationRow


def key(item: OutboxRow) -> str:
    """The exception key of an outbox item."""
    return f"outbox:{item.kind}:{item.aggregate_id}"


def describe(document: Document) -> str:
    if isinstance(document, InvoiceRow):
        return f"invoice {document.number}"
    return f"credit note {document.number}"


def _at_risk(document: Document | None) -> tuple[Decimal | None, str | None]:
    if document is None:
        return None, None
    value = document.total if isinstance(document, InvoiceRow) else document.amount
    return Decimal(value), document.currency


def refused(
    session: Session,
    item: OutboxRow,
    category: ExceptionCategory,
    reason: str,
    document: Document | None = None,
    *,
    moment: datetime,
    status: OutboxStatus = OutboxStatus.FAILED,
) -> bool:
    """The item will not be sent again on its own: an exception says why, and the document
    (when there is one) shows that it needs a person. Always ``False`` (not delivered)."""
    queue.stopped(session, item.id, status, reason)
    if document is not None:
        table = type(document)
        session.execute(
            update(table)
            .where(table.id == document.id)
            .values(status=InvoiceStatus.FAILED, updated_at=moment)
        )
    _report(session, item, category, reason, document)
    return False


def retry_later(
    session: Session,
    item: OutboxRow,
    attempt: int,
    error: str,
    document: Document,
    *,
    billing: Billing,
    moment: datetime,
) -> bool:
    """A transient failure: try again after an exponential, jittered delay (at most an hour).
    An item is given up only after both the attempt limit and the retry window (default 48 h)
    are spent, so that an ERP outage of hours never dead-letters what it held up. Always
    ``False`` (not delivered)."""
    waited = now() - item.created_at
    if attempt >= billing.max_delivery_attempts and waited >= billing.delivery_retry_window:
        return refused(
            session,
            item,
            ExceptionCategory.DELIVERY_FAILED,
            f"Gave up posting {describe(document)} after {attempt} attempts over "
            f"{waited.total_seconds() / 3600:.0f} h: {error}",
            document,
            moment=moment,
            status=OutboxStatus.DEAD,
        )
    delay = min(3600.0, 30.0 * 2 ** (attempt - 1)) * random.uniform(0.75, 1.25)
    queue.retry_at(session, item.id, now() + timedelta(seconds=delay), error)
    return False


def _report(
    session: Session,
    item: OutboxRow,
    category: ExceptionCategory,
    reason: str,
    document: Document | None,
) -> None:
    value, currency = _at_risk(document)
    entity = "invoice" if item.kind == OutboxKind.INVOICE_CREATE else "credit_note"
    report_problems(
        session,
        FLOW,
        [
            Problem(
                record_key=key(item),
                stage="deliver",
                category=category,
                reason=reason,
                payload={
                    "outbox_id": item.id,
                    "kind": item.kind,
                    f"{entity}_id": item.aggregate_id,
                },
                entity_type=entity,
                entity_id=item.aggregate_id,
                value_at_risk=value,
                currency=currency,
            )
        ],
        trace_id=current_trace_id(),
    )
