"""The outbox table: a side effect on a vendor, written in the transaction of the change that
causes it and delivered later, at most once, by ``sync.outbox``.

An item is made only by ``enqueue``: system ``xero``, status ``pending``, no attempt yet, due now,
and an idempotency key derived from the document's id (``p2c-<id>``), which the vendor sees on
every attempt. The outbox's own stamps (due times, ``created_at``, ``delivered_at``) are on the
wall clock, as retries are; the documents it delivers keep the engine's clock.

Session first: the caller owns the transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from sync.store.repo import now
from sync.store.tables import OutboxRow
from sync.store.vocabulary import DUE_STATUSES, OutboxKind, OutboxStatus


def enqueue(
    session: Session, kind: OutboxKind, aggregate_id: str, payload: dict[str, Any]
) -> OutboxRow:
    """A new item delivering document ``aggregate_id``, due now."""
    moment = now()
    row = OutboxRow(
        kind=kind,
        system="xero",
        aggregate_id=aggregate_id,
        idempotency_key=f"p2c-{aggregate_id}",
        payload=payload,
        status=OutboxStatus.PENDING,
        attempts=0,
        next_attempt_at=moment,
        created_at=moment,
    )
    session.add(row)
    return row


def due(session: Session, *, limit: int) -> list[OutboxRow]:
    """The items due for delivery now, oldest first."""
    return list(
        session.scalars(
            select(OutboxRow)
            .where(
                OutboxRow.kind.in_(list(OutboxKind)),
                OutboxRow.status.in_(DUE_STATUSES),
                OutboxRow.next_attempt_at <= now(),
            )
            .order_by(OutboxRow.id)
            .limit(limit)
        )
    )


def invoice_tenant(session: Session, invoice_id: str) -> str | None:
    """The tenant an invoice's item was routed to, once it was."""
    payload = session.scalar(
        select(OutboxRow.payload).where(
            OutboxRow.kind == OutboxKind.INVOICE_CREATE, OutboxRow.aggregate_id == invoice_id
        )
    )
    tenant = payload.get("tenant_id") if isinstance(payload, dict) else None
    return str(tenant) if tenant else None


def route(session: Session, item: OutboxRow, tenant: str) -> None:
    """Keep the tenant ``item`` goes to in its payload (and in ``item``)."""
    item.payload = {**(item.payload or {}), "tenant_id": tenant}
    _set(session, [item.id], payload=item.payload)


def attempted(session: Session, ids: Sequence[int]) -> None:
    """One more attempt on each item, recorded before it is sent."""
    _set(session, ids, attempts=OutboxRow.attempts + 1)


def unattempted(session: Session, ids: Sequence[int]) -> None:
    """Take back the attempt recorded on each item (it was not the items' fault)."""
    if ids:
        _set(session, ids, attempts=OutboxRow.attempts - 1)


def delivered(session: Session, item_id: int, external_id: str) -> None:
    """The vendor holds the document, as ``external_id``."""
    _set(
        session,
        [item_id],
        status=OutboxStatus.DELIVERED,
        delivered_at=now(),
        external_id=external_id,
        last_error=None,
    )


def stopped(session: Session, item_id: int, status: OutboxStatus, reason: str) -> None:
    """The item will not be sent again on its own (``failed`` or ``dead``)."""
    _set(session, [item_id], status=status, last_error=reason)


def retry_at(session: Session, item_id: int, at: datetime, error: str) -> None:
    """A transient failure: sent again from ``at``."""
    _set(session, [item_id], status=OutboxStatus.RETRYING, last_error=error, next_attempt_at=at)


def hold(session: Session, item_id: int, until: datetime, reason: str) -> None:
    """Not sent before ``until``, no attempt spent (the item waits on something else)."""
    _set(session, [item_id], next_attempt_at=until, last_error=reason)


def _set(session: Session, ids: Sequence[int], **values: Any) -> None:
    session.execute(update(OutboxRow).where(OutboxRow.id.in_(ids)).values(**values))
