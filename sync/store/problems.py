"""Reading what the flows' open exceptions hold: the records as received (their payloads), to
be tried again, and which record keys already have an exception, so that one is announced once.

Session first: the caller owns the transaction. Lists of keys are bound as one parameter
(``among``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sync.store.db import among
from sync.store.tables import ExceptionRow


def held_payloads(
    session: Session,
    flow: str,
    statuses: Sequence[str],
    *,
    categories: Sequence[str] | None = None,
    stage: str | None = None,
) -> list[dict[str, Any]]:
    """The payloads of ``flow``'s exceptions in ``statuses`` (and ``categories``, ``stage`` when
    given): the records as received, the latest version seen."""
    statement = select(ExceptionRow.payload).where(
        ExceptionRow.flow == flow, ExceptionRow.status.in_(statuses)
    )
    if categories is not None:
        statement = statement.where(ExceptionRow.category.in_(categories))
    if stage is not None:
        statement = statement.where(ExceptionRow.stage == stage)
    return [p for p in session.scalars(statement) if isinstance(p, dict)]


def known_keys(
    session: Session, flow: str, record_keys: Sequence[str], statuses: Sequence[str]
) -> set[str]:
    """Those of ``record_keys`` that already have an exception of ``flow`` in ``statuses``."""
    if not record_keys:
        return set()
    return set(
        session.scalars(
            select(ExceptionRow.record_key).where(
                ExceptionRow.flow == flow,
                among(session, ExceptionRow.record_key, record_keys),
                ExceptionRow.status.in_(statuses),
            )
        )
    )
