"""The building blocks the migrations in ``versions/`` are written with: column shapes, named
indexes, and a table declared once that a migration both creates (with its keys and indexes)
and drops.

Everything here is frozen. A migration's output must never change once it has run somewhere,
so a helper is never edited: a new shape gets a new helper, and the migrations that use the old
one keep it. Every name a helper makes is spelled here (``pk_<table>``, ``ix_<table>_<column>``,
``uq_<table>_<columns>``), never left to the naming convention of ``tables.py``. The one
thing taken from the live code is ``tables.UtcDateTime`` (in ``utc``): what it stores
(``timestamptz``; text on SQLite) is part of every migration's output, so it must not change.

This module sits beside ``env.py``, outside ``versions/``, so Alembic never reads it as a
revision; migrations import it as ``sync.store.migrations.ddl``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.types import TypeEngine

from sync.store import tables


@dataclass(frozen=True)
class Col:
    """A column as a migration declares it; a fresh ``sa.Column`` is made at each use."""

    name: str
    type_: TypeEngine[Any]
    nullable: bool

    def column(self) -> sa.Column[Any]:
        return sa.Column(self.name, self.type_, nullable=self.nullable)


def string(name: str, length: int, *, nullable: bool = False) -> Col:
    return Col(name, sa.String(length=length), nullable)


def text(name: str, *, nullable: bool = False) -> Col:
    return Col(name, sa.Text(), nullable)


def integer(name: str, *, nullable: bool = False) -> Col:
    return Col(name, sa.Integer(), nullable)


def numeric(name: str, *, nullable: bool = False) -> Col:
    """Money and hours: ``NUMERIC(18, 4)``."""
    return Col(name, sa.Numeric(precision=18, scale=4), nullable)


def boolean(name: str, *, nullable: bool = False) -> Col:
    return Col(name, sa.Boolean(), nullable)


def date(name: str, *, nullable: bool = False) -> Col:
    return Col(name, sa.Date(), nullable)


def utc(name: str, *, nullable: bool = False) -> Col:
    """A moment in UTC (``timestamptz`` on PostgreSQL, sortable text on SQLite)."""
    return Col(name, tables.UtcDateTime(timezone=True), nullable)


def json(name: str, *, nullable: bool = False) -> Col:
    return Col(name, sa.JSON(), nullable)


def double(name: str, *, nullable: bool = False) -> Col:
    return Col(name, sa.Double(), nullable)


def serial(name: str = "id") -> Col:
    """A generated 64-bit key (``INTEGER`` on SQLite, where only that auto-increments)."""
    return Col(name, sa.BigInteger().with_variant(sa.Integer(), "sqlite"), False)


def sourced() -> tuple[Col, ...]:
    """The columns that close every record kept as a vendor sent it."""
    return (
        string("source", 32),
        string("source_id", 128),
        utc("updated_at"),
        integer("schema_version"),
    )


@dataclass(frozen=True)
class Index:
    """A named index; ``where`` makes it partial (the same predicate on both dialects)."""

    name: str
    columns: tuple[str, ...]
    unique: bool = False
    where: str | None = None

    def create(self, table: str) -> None:
        partial: dict[str, Any] = {}
        if self.where is not None:
            partial = {"sqlite_where": sa.text(self.where), "postgresql_where": sa.text(self.where)}
        op.create_index(self.name, table, list(self.columns), unique=self.unique, **partial)

    def drop(self, table: str) -> None:
        op.drop_index(self.name, table_name=table)


def indexed(table: str, column: str) -> Index:
    """The plain index on one column: ``ix_<table>_<column>``."""
    return Index(f"ix_{table}_{column}", (column,))


@dataclass(frozen=True)
class Table:
    """A table with its primary key (``pk_<name>``), at most one unique constraint
    (``uq_<name>_<columns>``), its one-column indexes and its named ones."""

    name: str
    columns: tuple[Col, ...]
    key: tuple[str, ...] = ("id",)
    unique: tuple[str, ...] = ()
    indexed: tuple[str, ...] = ()
    indexes: tuple[Index, ...] = ()

    def create(self) -> None:
        constraints: list[sa.Constraint] = [
            sa.PrimaryKeyConstraint(*self.key, name=op.f(f"pk_{self.name}"))
        ]
        if self.unique:
            unique_name = op.f(f"uq_{self.name}_{'_'.join(self.unique)}")
            constraints.append(sa.UniqueConstraint(*self.unique, name=unique_name))
        op.create_table(self.name, *(col.column() for col in self.columns), *constraints)
        for index in (*(indexed(self.name, c) for c in self.indexed), *self.indexes):
            index.create(self.name)

    def drop(self) -> None:
        """Drop the table; its keys and indexes go with it."""
        op.drop_table(self.name)


WORK_ITEMS = Table(
    "work_items",
    (
        serial(),
        string("flow", 64),
        string("status", 16),
        utc("enqueued_at"),
        utc("claimed_at", nullable=True),
        string("claimed_by", 128, nullable=True),
        utc("lease_until", nullable=True),
        utc("finished_at", nullable=True),
        integer("attempts"),
        text("error", nullable=True),
    ),
    indexed=("status",),
    indexes=(
        Index(
            "uq_work_items_active_flow",
            ("flow",),
            unique=True,
            where="status IN ('queued', 'running')",
        ),
    ),
)
"""The home-made work queue's table: made by 0001, dropped by 0007 and restored by its
downgrade."""
