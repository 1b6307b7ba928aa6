"""The outbox table: a side effect on a vendor, written in the transaction of the change that
causes it and delivered later, at most once, by ``sync.outbox``.

An item is made only by ``enqueue``: status ``pending``, no attempt yet, due now, and an
idempotency key derived from the document's id (``p2c-<id>``), which the vendor sees on every
attempt. Its ``system`` is the default ERP until it is routed: ``route`` keeps the ERP and the
company it goes to in its payload (``erp``, ``company``) and its ``system``. An item routed before
the ERP was a choice carries only ``tenant_id``: it goes to that Xero tenant.

The outbox's own stamps (due times, ``created_at``, ``delivered_at``) are on the wall clock, as
retries are; the documents it delivers keep the engine's clock.

Session first: the caller owns the transaction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from sync.store.repo import now
from sync.store.tables import OutboxRow
from sync.store.vocabulary import DUE_STATUSES, ErpSystem, OutboxKind, OutboxStatus


@dataclass(frozen=True)
class Route:
    """Where a document goes: an ERP (its system name) and a company there (its id)."""

    erp: str
    company: str


def route_of(payload: Mapping[str, Any] | None) -> Route | None:
    """The route kept in an item's payload, if it was routed."""
    payload = payload or {}
    erp, company = payload.get("erp"), payload.get("company")
    if erp and company:
        return Route(str(erp), str(company))
    tenant = payload.get("tenant_id")  # routed when Xero was the only ERP
    return Route(ErpSystem.XERO.value, str(tenant)) if tenant else None


def enqueue(
    session: Session,
    kind: OutboxKind,
    aggregate_id: str,
    payload: dict[str, Any],
    *,
    system: str,
) -> OutboxRow:
    """A new item delivering document ``aggregate_id``, due now, bound for ``system`` (the
    default ERP) until it is routed."""
    moment = now()
    row = OutboxRow(
        kind=kind,
        system=system,
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


def invoice_route(session: Session, invoice_id: str) -> Route | None:
    """Where an invoice's item was routed, once it was."""
    payload = session.scalar(
        select(OutboxRow.payload).where(
            OutboxRow.kind == OutboxKind.INVOICE_CREATE, OutboxRow.aggregate_id == invoice_id
        )
    )
    return route_of(payload) if isinstance(payload, dict) else None


def route(session: Session, item: OutboxRow, to: Route) -> None:
    """Keep where ``item`` goes in its payload and its ``system`` (and in ``item``)."""
    item.payload = {**(item.payload or {}), "erp": to.erp, "company": to.company}
    item.system = to.erp
    _set(session, [item.id], payload=item.payload, system=to.erp)


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
