"""What every table is made of: the declarative base with its naming convention, the money,
UTC-datetime and vocabulary column types, and the columns every sourced record carries.

The naming convention makes Alembic migrations deterministic on SQLite and PostgreSQL alike.
SQLite keeps a datetime as text in one encoding, written by ``sqlite_datetime`` for one value and
``sqlite_datetimes`` for a polars column (the bulk writes of ``sync.store.db``); the two agree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, TypeVar

import polars as pl
from sqlalchemy import JSON, DateTime, Integer, MetaData, Numeric, String
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator, TypeEngine

from sync.store.vocabulary import (
    AlertState,
    ChannelKind,
    DeliveryStatus,
    ExceptionStatus,
    OutboxKind,
    OutboxStatus,
    RunStatus,
    Severity,
)

SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S%.6f"  # polars' (chrono's) spelling of the text SQLite keeps


def sqlite_datetime(value: datetime) -> str:
    """An aware datetime as SQLite keeps it: UTC, ISO 8601 with a space and microseconds
    (``2026-11-25 09:30:00.000000``)."""
    naive = value.astimezone(UTC).replace(tzinfo=None)
    return naive.isoformat(sep=" ", timespec="microseconds")


def sqlite_datetimes(column: pl.Expr, dtype: pl.Datetime) -> pl.Expr:
    """A polars datetime column as SQLite keeps it: the text of ``sqlite_datetime``, row by row
    (a naive column is taken as UTC already)."""
    utc = column.dt.convert_time_zone("UTC") if dtype.time_zone else column
    return utc.dt.strftime(SQLITE_DATETIME)


Word = TypeVar("Word", bound=StrEnum)


class Vocabulary(TypeDecorator[Word]):
    """A ``StrEnum`` stored as its value in a ``VARCHAR``: the column holds the same text as a
    plain string column would (no native enum, no migration), a word outside the vocabulary is
    refused on the way in, and rows come back as members."""

    impl = String
    cache_ok = True

    def __init__(self, words: type[Word], length: int) -> None:
        super().__init__(length)
        self.words = words

    def process_bind_param(self, value: Word | str | None, dialect: Dialect) -> str | None:
        return None if value is None else self.words(value).value

    def process_result_value(self, value: Any, dialect: Dialect) -> Word | None:
        return None if value is None else self.words(value)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

MONEY = Numeric(18, 4, asdecimal=True)


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in, timezone-aware UTC out, on every dialect.

    PostgreSQL stores ``timestamptz``. SQLite has no datetime type: there the value is kept as
    ``sqlite_datetime`` text, which sorts and compares correctly as text.
    """

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(26))
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use timezone-aware UTC")
        return sqlite_datetime(value) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


UTC_DT = UtcDateTime(timezone=True)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads this class attribute
        dict[str, Any]: JSON,
        list[Any]: JSON,
        Decimal: MONEY,
        datetime: UTC_DT,
        ExceptionStatus: Vocabulary(ExceptionStatus, 16),
        OutboxKind: Vocabulary(OutboxKind, 48),
        OutboxStatus: Vocabulary(OutboxStatus, 16),
        RunStatus: Vocabulary(RunStatus, 16),
        AlertState: Vocabulary(AlertState, 16),
        DeliveryStatus: Vocabulary(DeliveryStatus, 16),
        Severity: Vocabulary(Severity, 16),
        ChannelKind: Vocabulary(ChannelKind, 16),
    }


class SourcedMixin:
    """Where a canonical record came from."""

    source: Mapped[str] = mapped_column(String(32))
    source_id: Mapped[str] = mapped_column(String(128))
    updated_at: Mapped[datetime]
    schema_version: Mapped[int] = mapped_column(Integer, default=1)
