"""What the Exceptions page and ``plan2cash exceptions`` read of the exceptions: headline
figures, the filter choices, exception rows as a frame, an exception's audit history and the
business events of its records.

Connection (or session) first: the caller opens it and owns the transaction. The selects run
unchanged on SQLite and PostgreSQL; money is ``Float64`` and summed only per currency.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import polars as pl
from sqlalchemy import Connection, Select, func, select
from sqlalchemy.orm import Session

from sync.store.dashboard import MONEY_BY_CURRENCY, UTC_TIME, count
from sync.store.reads import read_frame
from sync.store.tables import AuditRow, BusinessEventRow, ExceptionRow
from sync.store.vocabulary import OPEN_STATUSES

EXCEPTION_COLUMNS: dict[str, Any] = {
    "id": pl.Int64,
    "flow": pl.String,
    "stage": pl.String,
    "category": pl.String,
    "reason": pl.String,
    "record_key": pl.String,
    "entity_type": pl.String,
    "entity_id": pl.String,
    "value_at_risk": pl.Float64,
    "currency": pl.String,
    "attempts": pl.Int64,
    "first_seen": UTC_TIME,
    "last_seen": UTC_TIME,
    "trace_id": pl.String,
    "status": pl.String,
    "assignee": pl.String,
    "notes": pl.String,
}
"""The columns of an exception row as the dashboard lists it (everything but the payload)."""


def exception_frame(rows: Sequence[ExceptionRow]) -> pl.DataFrame:
    """``rows`` as a frame of :data:`EXCEPTION_COLUMNS` (money as floats)."""
    values = [tuple(_plain(getattr(row, name)) for name in EXCEPTION_COLUMNS) for row in rows]
    return pl.DataFrame(values, schema=EXCEPTION_COLUMNS, orient="row")


def total_count(connection: Connection) -> int:
    """Exceptions of any status, ever."""
    return count(connection, ExceptionRow)


def open_count(connection: Connection) -> int:
    """Open or retrying exceptions."""
    return count(connection, ExceptionRow, ExceptionRow.status.in_(OPEN_STATUSES))


def value_at_risk(connection: Connection) -> pl.DataFrame:
    """Open exceptions that carry a value, per currency: currency, amount, count."""
    statement = (
        select(ExceptionRow.currency, func.sum(ExceptionRow.value_at_risk), func.count())
        .where(
            ExceptionRow.status.in_(OPEN_STATUSES),
            ExceptionRow.value_at_risk.is_not(None),
            ExceptionRow.currency.is_not(None),
        )
        .group_by(ExceptionRow.currency)
        .order_by(ExceptionRow.currency)
    )
    return read_frame(connection, statement, MONEY_BY_CURRENCY)


def oldest_open(connection: Connection) -> datetime | None:
    """When the oldest open (or retrying) exception was first seen (``None``: none is open)."""
    statement = select(func.min(ExceptionRow.first_seen)).where(
        ExceptionRow.status.in_(OPEN_STATUSES)
    )
    oldest: datetime | None = connection.scalar(statement)
    return oldest


def flows_and_categories(connection: Connection) -> pl.DataFrame:
    """Every (flow, category) pair that has ever held an exception, for the filters."""
    statement = (
        select(ExceptionRow.flow, ExceptionRow.category)
        .distinct()
        .order_by(ExceptionRow.flow, ExceptionRow.category)
    )
    return read_frame(connection, statement, {"flow": pl.String, "category": pl.String})


def matching(session: Session, statement: Select[Any]) -> int:
    """How many rows ``statement`` returns (for an exception filter's select without a limit:
    how many exceptions it matches, beyond the ones a page lists)."""
    return int(session.scalar(select(func.count()).select_from(statement.subquery())) or 0)


def latest(session: Session, limit: int, *, status: str | None = None) -> list[ExceptionRow]:
    """The ``limit`` exceptions seen last, newest first; only those in ``status`` if given."""
    statement = select(ExceptionRow).order_by(ExceptionRow.last_seen.desc()).limit(limit)
    if status is not None:
        statement = statement.where(ExceptionRow.status == status)
    return list(session.scalars(statement))


def audit_history(session: Session, exception_id: int) -> list[AuditRow]:
    """The audit log of one exception, oldest first."""
    statement = (
        select(AuditRow)
        .where(AuditRow.target == f"exception:{exception_id}")
        .order_by(AuditRow.at, AuditRow.id)
    )
    return list(session.scalars(statement))


def journey(connection: Connection | Session, entity_ids: Sequence[str]) -> pl.DataFrame:
    """Business events of the given entities in time order (occurred_at, event, entity_type,
    entity_id, trace_id): a record's path through the chain."""
    event = BusinessEventRow
    statement = (
        select(event.occurred_at, event.name, event.entity_type, event.entity_id, event.trace_id)
        .where(event.entity_id.in_(entity_ids))
        .order_by(event.occurred_at, event.id)
    )
    schema = {
        "occurred_at": UTC_TIME,
        "event": pl.String,
        "entity_type": pl.String,
        "entity_id": pl.String,
        "trace_id": pl.String,
    }
    return read_frame(connection, statement, schema)


def _plain(value: Any) -> Any:
    return float(value) if isinstance(value, Decimal) else value
