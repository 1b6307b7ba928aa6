"""Harvest's time entries: the world's frame underneath, the edits of the session on top.

Reads filter and sort the frame in polars, cache the match per (version, filters), and turn only
the requested page into dicts. Writes (edit, add, delete) go to an overlay of plain dicts keyed
by id, which shadows the frame; ``rebase`` swaps in a new frame (the clock moved the world) and
keeps the overlay.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import Any, overload

import numpy as np
import polars as pl

from sandbox.vendors.harvest_params import Filters, entry_expression, entry_matches

Record = dict[str, Any]


class FrameRows(Sequence[Record]):
    """A sorted frame that becomes dicts only when sliced (what a page needs)."""

    def __init__(self, frame: pl.DataFrame) -> None:
        self.frame = frame

    def __len__(self) -> int:
        return self.frame.height

    @overload
    def __getitem__(self, index: int) -> Record: ...
    @overload
    def __getitem__(self, index: slice) -> list[Record]: ...
    def __getitem__(self, index: int | slice) -> Record | list[Record]:
        if isinstance(index, slice):
            start, stop, _ = index.indices(self.frame.height)
            return self.frame.slice(start, max(0, stop - start)).to_dicts()
        return self.frame.row(index, named=True)

    def __iter__(self) -> Iterator[Record]:
        return iter(self.frame.iter_rows(named=True))


class EntryStore:
    """Thread-safe; ``version`` moves on every write."""

    def __init__(self, frame: pl.DataFrame) -> None:
        self.lock = threading.RLock()
        self.version = 0
        self.overlay: dict[int, Record] = {}
        self.deleted: set[int] = set()
        self._cache: tuple[tuple[int, Filters], FrameRows] | None = None
        self.rebase(frame)

    def rebase(self, frame: pl.DataFrame) -> None:
        with self.lock:
            self.base = frame
            ids = frame["id"].to_numpy()
            self._order = np.argsort(ids, kind="stable")
            self._sorted_ids = ids[self._order]
            self.next_id = max(int(ids.max()) if len(ids) else 0, max(self.overlay, default=0)) + 1
            self.version += 1

    def __contains__(self, entry_id: int) -> bool:
        with self.lock:
            if entry_id in self.overlay:
                return True
            return entry_id not in self.deleted and self._base_index(entry_id) is not None

    def _base_index(self, entry_id: int) -> int | None:
        at = int(np.searchsorted(self._sorted_ids, entry_id))
        if at < len(self._sorted_ids) and self._sorted_ids[at] == entry_id:
            return int(self._order[at])
        return None

    def get(self, entry_id: int) -> Record:
        """The current entry (raw: dates and datetimes as Python objects); KeyError if gone."""
        with self.lock:
            if entry_id in self.overlay:
                return dict(self.overlay[entry_id])
            index = None if entry_id in self.deleted else self._base_index(entry_id)
            if index is None:
                raise KeyError(entry_id)
            return self.base.row(index, named=True)

    def put(self, record: Record) -> None:
        with self.lock:
            self.overlay[record["id"]] = dict(record)
            self.deleted.discard(record["id"])
            self.next_id = max(self.next_id, record["id"] + 1)
            self.version += 1

    def delete(self, entry_id: int) -> None:
        with self.lock:
            if entry_id not in self:
                raise KeyError(entry_id)
            self.overlay.pop(entry_id, None)
            self.deleted.add(entry_id)
            self.version += 1

    def count(self) -> int:
        with self.lock:
            shadowed = (
                self.base.filter(self._shadowed()).height if self.overlay or self.deleted else 0
            )
            return self.base.height - shadowed + len(self.overlay)

    def _shadowed(self) -> pl.Expr:
        return pl.col("id").is_in(sorted(set(self.overlay) | self.deleted))

    def matching(self, filters: Filters) -> FrameRows:
        """Entries passing ``filters``, newest ``spent_date`` then id first."""
        with self.lock:
            key = (self.version, filters)
            if self._cache is not None and self._cache[0] == key:
                return self._cache[1]
            frame = self.base
            if filters:
                frame = frame.filter(entry_expression(filters))
            if self.overlay or self.deleted:
                frame = frame.filter(~self._shadowed())
                mine = [r for r in self.overlay.values() if entry_matches(r, filters)]
                if mine:
                    extra = pl.DataFrame(mine, schema=self.base.schema, orient="row")
                    frame = pl.concat([frame, extra]).sort("spent_date", "id", descending=True)
            rows = FrameRows(frame)
            self._cache = (key, rows)
            return rows
