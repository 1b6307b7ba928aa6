"""A select's rows as a typed polars frame: the one way the KPIs, the dashboard and the store
read query results into polars.

The schema names the columns by position (the select's own labels do not matter) and fixes each
column's type, so an empty result has the same columns and types as a full one; polars converts
the driver's values (``Decimal`` money into ``Float64`` or ``Decimal``, a vocabulary member into
its text).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl
from sqlalchemy import Connection
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable

Schema = Mapping[str, Any]  # column name → polars dtype, in the select's column order


def read_frame(
    connection: Connection | Session,
    statement: Executable,
    schema: Schema,
    *,
    strict: bool = True,
) -> pl.DataFrame:
    """The rows of ``statement`` with ``schema``'s names and types (``strict=False`` lets polars
    cast values of another type, such as an integer sum read into a float column)."""
    rows = connection.execute(statement).all()
    return pl.DataFrame(
        [tuple(row) for row in rows], schema=dict(schema), orient="row", strict=strict
    )


__all__ = ["Schema", "read_frame"]
