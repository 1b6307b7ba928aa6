"""Small hand-written frames for the metric tests: rows of tuples under a named schema."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import polars as pl

Columns = dict[str, pl.DataType | type[pl.DataType]]


def frame(schema: Columns, rows: Iterable[Sequence[object]]) -> pl.DataFrame:
    """``rows`` as a frame with ``schema``'s columns, in order."""
    return pl.DataFrame(list(rows), orient="row", schema=schema)
