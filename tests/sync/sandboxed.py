"""The engine against an in-process sandbox firm: the builders the sync tests share.

The engine's clock stands at noon of the firm's ``TODAY`` unless a test gives another, and vendor
calls are retried at once (``FAST``), so a planted fault costs milliseconds. The ``sandbox``
fixture (the tiny firm of ``TODAY``) is in ``tests/sync/conftest.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import Engine, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from collectors.http import RetryPolicy
from sandbox.server import Sandbox
from sync.engine import Engine as SyncEngine
from sync.settings import Settings
from sync.store.db import session_factory
from sync.store.tables import BillingEventRow, XrefRow

TODAY = date(2026, 11, 25)
FAST = RetryPolicy(attempts=3, initial=0.001, maximum=0.01, jitter=0.0)


def noon(day: date = TODAY) -> Callable[[], datetime]:
    """A clock that stands at noon (UTC) of ``day``."""
    moment = datetime.combine(day, time(12), tzinfo=UTC)
    return lambda: moment


def engine_for(
    box: Sandbox,
    store: Engine,
    *,
    settings: Settings | None = None,
    clock: Callable[[], datetime] | None = None,
    policy: RetryPolicy = FAST,
    **transports: httpx.BaseTransport,
) -> SyncEngine:
    """An engine on ``store`` that reaches ``box``'s vendors (``transports`` stand in for the
    named ones), with ``settings`` (the defaults on ``store`` unless given), at ``clock`` (noon of
    ``TODAY`` unless given)."""
    return SyncEngine(
        settings or Settings(database_url=str(store.url)),
        store,
        transports={**box.transports(), **transports},
        clock=clock or noon(),
        policy=policy,
    )


def run(engine: SyncEngine, flows: Iterable[str]) -> None:
    """Each of ``flows`` in turn; each must succeed."""
    for name in flows:
        report = engine.run_flow(name)
        assert report.status == "succeeded", (name, report.error)


def xrefs(store: Engine, entity_type: str) -> dict[tuple[str, str], str]:
    """The stored links of ``entity_type``: (system, external id) → canonical id."""
    with session_factory(store)() as s:
        rows = s.execute(
            select(XrefRow.system, XrefRow.external_id, XrefRow.canonical_id).where(
                XrefRow.entity_type == entity_type
            )
        ).all()
    return {(system, ext): cid for system, ext, cid in rows}


def first_pending_event(session: Session, by: InstrumentedAttribute[Any]) -> BillingEventRow:
    """The first billing event not yet invoiced, ordered ``by`` a column of it."""
    event = session.scalars(
        select(BillingEventRow).where(BillingEventRow.invoice_id.is_(None)).order_by(by)
    ).first()
    assert event is not None, "no billing event is pending"
    return event


def by_project_and_period(invoices: dict[str, Decimal]) -> dict[tuple[str, date], Decimal]:
    """Totals by invoice number → by (project code, period): ``P2C-202610-ACME-01`` →
    (``ACME-01``, 2026-10-01)."""
    out = {}
    for number, total in invoices.items():
        _, period, code = number.split("-", 2)
        out[(code, date(int(period[:4]), int(period[4:]), 1))] = total
    return out
