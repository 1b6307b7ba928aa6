"""Engines, sessions and the bulk writes shared by every repository function.

SQLite (the embedded default) runs in WAL mode with a busy timeout, so the dashboard reads while
the engine writes; PostgreSQL is used as is. A write of many rows is one ``INSERT … ON CONFLICT``
on both dialects: ``upsert`` for rows as mappings, ``upsert_frame`` (``FrameUpsert``) on the hot
path, for a polars frame converted a column at a time to what each column stores.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Any, Required, TypedDict, Unpack

import orjson
import polars as pl
from sqlalchemy import (
    ColumnElement,
    Engine,
    String,
    Table,
    any_,
    bindparam,
    create_engine,
    event,
    func,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.orm import QueryableAttribute, Session, sessionmaker

from sync.store.columns import Base, sqlite_datetimes


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``; SQLite files get their folder created and WAL turned on."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            # absolute, so that every process of one run (engine, dashboard) opens the same file
            path = Path(parsed.database).resolve()
            path.parent.mkdir(parents=True, exist_ok=True)
            parsed = parsed.set(database=str(path))
        kwargs.setdefault("connect_args", {"timeout": 30, "check_same_thread": False})
        engine = create_engine(parsed, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    # A backfill writes hundreds of thousands of rows into a handful of indexes: a 64 MiB page
    # cache (allocated only as used) keeps them in memory, and checkpointing every ~40 MiB of WAL
    # instead of every 4 MiB writes each hot index page to the database file once, not ten times.
    # Neither changes durability: in WAL mode with synchronous=NORMAL a commit survives a process
    # crash (the OS has it); only a power loss may roll back the last commits, never corrupt.
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.execute("PRAGMA wal_autocheckpoint=10000")
    cursor.execute("PRAGMA journal_size_limit=67108864")
    cursor.close()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    with factory() as session, session.begin():
        yield session


def among(
    session: Session, column: ColumnElement[Any] | QueryableAttribute[Any], values: Sequence[str]
) -> ColumnElement[bool]:
    """``column IN values`` with the values bound as one parameter: a JSON array read by
    ``json_each`` on SQLite, an array compared with ``= ANY`` on PostgreSQL.

    The statement's text does not depend on how many ids there are, and SQLAlchemy renders one
    parameter, not one per id (a page's 2,000 ids as an ``IN`` list cost more to render than the
    database takes to answer)."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=postgresql.ARRAY(String)))
    listed = func.json_each(bindparam(None, orjson.dumps(list(values)).decode(), type_=String))
    return column.in_(select(listed.table_valued("value").c.value))


def upsert(
    session: Session,
    table: type[Base] | Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    keys: Sequence[str],
    update: Sequence[str] | None = None,
    where: ColumnElement[bool] | None = None,
) -> int:
    """Insert ``rows`` into ``table``, updating ``update`` columns where ``keys`` already exist.

    ``update=None`` updates every non-key column; an empty ``update`` inserts only new keys;
    ``where`` limits which existing rows may be updated. Rows are written in the order of their
    keys, so two transactions upserting overlapping keys lock them in the same order and cannot
    deadlock on each other (PostgreSQL).
    """
    if not rows:
        return 0
    rows = sorted(rows, key=lambda row: tuple(str(row[k]) for k in keys))
    target = _table(table)
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(target)
    columns = update if update is not None else [c for c in rows[0] if c not in keys]
    if columns:
        stmt = stmt.on_conflict_do_update(
            index_elements=list(keys), set_={c: stmt.excluded[c] for c in columns}, where=where
        )
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(keys))
    session.execute(stmt, list(rows))
    return len(rows)


class UpsertOptions(TypedDict, total=False):
    """What ``upsert_frame`` and ``FrameUpsert.of`` take besides the table and frame."""

    keys: Required[Sequence[str]]
    update: Sequence[str] | None
    unless_set: str | None
    when_changed: Sequence[str] | None


def upsert_frame(
    session: Session,
    table: type[Base] | Table,
    frame: pl.DataFrame,
    **options: Unpack[UpsertOptions],
) -> int:
    """The hot-path upsert: a polars frame written with one ``INSERT … ON CONFLICT`` executed by
    the driver over all rows, without per-value SQLAlchemy type processing (``FrameUpsert``)."""
    return FrameUpsert.of(session.get_bind().dialect, table, frame, **options).run(session)


@dataclass(frozen=True)
class FrameUpsert:
    """An ``upsert_frame`` made ready (statement and driver rows) before a transaction runs it,
    so that a flow can convert one batch's rows while the batch before is being written.

    Values are converted a column at a time in polars to what the column type stores (on SQLite:
    UTC datetimes as the ISO text ``UtcDateTime`` writes, dates as ISO text, decimals as floats as
    ``Numeric`` does). ``unless_set`` names a column whose non-null value protects a row from the
    update (e.g. a billing event already on an invoice). ``when_changed`` names the columns whose
    difference makes an update worth writing: a row that arrives again unchanged is left as it is
    (no write, no index churn, its ``updated_at`` keeps meaning "last changed").
    """

    statement: RowsStatement
    params: list[tuple[Any, ...]]  # ``RowsStatement.params``
    count: int

    @classmethod
    def of(
        cls,
        dialect: Dialect,
        table: type[Base] | Table,
        frame: pl.DataFrame,
        *,
        keys: Sequence[str],
        update: Sequence[str] | None = None,
        unless_set: str | None = None,
        when_changed: Sequence[str] | None = None,
    ) -> FrameUpsert:
        target = _table(table)
        quote = dialect.identifier_preparer.quote
        changing = update if update is not None else [c for c in frame.columns if c not in keys]
        conflict = f"ON CONFLICT ({', '.join(quote(k) for k in keys)}) "
        if changing:
            conflict += "DO UPDATE SET " + ", ".join(
                f"{quote(c)} = excluded.{quote(c)}" for c in changing
            )
            guards = [f"{quote(target.name)}.{quote(unless_set)} IS NULL"] if unless_set else []
            if when_changed:
                guards.append(
                    _differs(dialect.name, quote(target.name), [quote(c) for c in when_changed])
                )
            if guards:
                conflict += " WHERE " + " AND ".join(guards)
        else:
            conflict += "DO NOTHING"
        # keys in order: neighbouring rows land on the same index pages
        ordered = frame.sort(list(keys), maintain_order=True)
        statement = RowsStatement.insert(dialect, target, frame.columns, tail=conflict)
        return cls(statement, statement.params(ordered), frame.height)

    def run(self, session: Session) -> int:
        """Write the rows in ``session``'s transaction; returns how many were offered."""
        self.statement.run(session, self.params)
        return self.count


@dataclass(frozen=True)
class RowsStatement:
    """``INSERT INTO t (columns) VALUES (row), … tail`` run over driver rows.

    On SQLite many rows go in one statement (up to the bound-variable limit): the driver runs
    each statement with the GIL released, so a big write hands the GIL back and forth once per
    statement, not once per row (which stalls the writer whenever another thread is busy).
    PostgreSQL keeps one row per statement (psycopg pipelines ``executemany``; a multi-row
    ``ON CONFLICT DO UPDATE`` there refuses two rows with one key).

    Parameters are made from a frame's columns (``params``), never a tuple per row on SQLite: a
    batch's hundreds of thousands of short-lived tuples would set off the garbage collector
    dozens of times, and each collection walks every live container in the process."""

    head: str
    row: str
    tail: str
    width: int
    multirow: bool

    @classmethod
    def insert(
        cls,
        dialect: Dialect,
        target: Table,
        columns: Sequence[str],
        *,
        tail: str = "",
        json_columns: Sequence[str] = (),
    ) -> RowsStatement:
        quote = dialect.identifier_preparer.quote
        marker = "?" if dialect.paramstyle == "qmark" else "%s"
        cast = "" if dialect.name == "sqlite" else "::json"
        values = [marker + (cast if c in json_columns else "") for c in columns]
        return cls(
            head=f"INSERT INTO {quote(target.name)} ({', '.join(quote(c) for c in columns)}) "
            "VALUES ",
            row=f"({', '.join(values)})",
            tail=f" {tail}" if tail else "",
            width=len(columns),
            multirow=dialect.name == "sqlite",
        )

    def params(self, frame: pl.DataFrame) -> list[tuple[Any, ...]]:
        """The driver's parameters for ``frame`` (its columns in this statement's order): on
        SQLite one flat tuple per statement of up to ``MULTIROW_ROWS`` rows (values converted as
        the column types store them), on PostgreSQL one tuple per row."""
        if not self.multirow:
            return frame.rows()
        columns = [column.to_list() for column in _native(frame).get_columns()]
        per = max(1, min(MULTIROW_ROWS, SQLITE_VARIABLES // max(1, self.width)))
        chunks = (
            zip(*(values[start : start + per] for values in columns), strict=True)
            for start in range(0, frame.height, per)
        )
        return [tuple(chain.from_iterable(rows)) for rows in chunks]

    def run(self, session: Session, params: Sequence[tuple[Any, ...]]) -> None:
        """Execute over ``params`` (``RowsStatement.params``) in ``session``'s transaction."""
        if not params:
            return
        connection = session.connection()
        if not self.multirow:
            connection.exec_driver_sql(self.head + self.row + self.tail, list(params))
            return
        for flat in params:
            rows = len(flat) // self.width
            connection.exec_driver_sql(self.head + ", ".join([self.row] * rows) + self.tail, flat)


# rows per SQLite statement: big enough that a statement's fixed costs vanish, small enough that
# the statement cache keeps one text per table (the last, shorter chunk adds a second)
MULTIROW_ROWS = 1000
# the ``?`` one SQLite statement may bind: 32,766 since SQLite 3.32, 999 before
SQLITE_VARIABLES = 32_766 if sqlite3.sqlite_version_info >= (3, 32) else 999


def _table(table: type[Base] | Table) -> Table:
    """The ``Table`` of a mapped class, or the table itself."""
    return table if isinstance(table, Table) else table.__table__  # type: ignore[return-value]


def _differs(dialect: str, table: str, columns: Sequence[str]) -> str:
    """SQL that is true where the stored row differs from the incoming one (nulls compared as
    values): ``IS NOT`` on SQLite's row values, ``IS DISTINCT FROM`` on PostgreSQL's."""
    stored = ", ".join(f"{table}.{c}" for c in columns)
    incoming = ", ".join(f"excluded.{c}" for c in columns)
    operator = "IS NOT" if dialect == "sqlite" else "IS DISTINCT FROM"
    return f"({stored}) {operator} ({incoming})"


def insert_frame(
    session: Session,
    table: type[Base] | Table,
    frame: pl.DataFrame,
    *,
    json_columns: Sequence[str] = (),
) -> int:
    """Append rows with driver-level statements (``RowsStatement``; ``json_columns`` hold JSON
    text)."""
    if frame.height == 0:
        return 0
    target = _table(table)
    dialect = session.get_bind().dialect
    statement = RowsStatement.insert(dialect, target, frame.columns, json_columns=json_columns)
    statement.run(session, statement.params(frame))
    return frame.height


def _native(frame: pl.DataFrame) -> pl.DataFrame:
    """Columns as SQLite stores them (matching ``UtcDateTime``, ``Date`` and ``Numeric``)."""
    conversions = []
    for name, dtype in frame.schema.items():
        column = pl.col(name)
        if isinstance(dtype, pl.Datetime):
            conversions.append(sqlite_datetimes(column, dtype).alias(name))
        elif dtype == pl.Date:
            conversions.append(column.dt.strftime("%Y-%m-%d").alias(name))
        elif isinstance(dtype, pl.Decimal):
            conversions.append(column.cast(pl.Float64).alias(name))
    return frame.with_columns(conversions) if conversions else frame
