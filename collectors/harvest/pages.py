"""Pages of Harvest time entries read straight from the response body (the hot path, DESIGN §10).

Decoding a 2,000-entry page into Python dicts and building a frame from them costs more than the
rest of the mapping: an entry carries a dozen nested objects the engine never reads. So a page is
read twice, natively and cheaply: polars' JSON reader takes only the fields the frame needs,
straight into columns, and msgspec splits the array into each record's own JSON text without
decoding it. A record is decoded (orjson) only when it is asked for — the payload of an exception,
as received. A page polars cannot read as typed (a value of a type no column can hold) is decoded
whole and mapped by ``time_entries_frame``, which takes anything: the fast path never decides what
is malformed, the rules do.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, overload

import msgspec
import orjson
import polars as pl

from collectors.harvest.frames import RAW_TIME_SCHEMA, _from_columns, time_entries_frame

PAGE_SCHEMA: dict[str, Any] = {"time_entries": pl.List(pl.Struct(RAW_TIME_SCHEMA))}


class _Envelope(msgspec.Struct):
    """A list response: the records kept as undecoded JSON, and the links to page on."""

    time_entries: list[msgspec.Raw]
    links: Any = None


_ENVELOPE = msgspec.json.Decoder(_Envelope)


class TimeEntryPage(Sequence[Any]):
    """One page of time entries: the mapped frame (``time_entries_frame``'s columns), and the
    records as received, each decoded on first use. Indexing gives a record like a list does."""

    def __init__(self, raws: list[msgspec.Raw], frame: pl.DataFrame, links: Any) -> None:
        self._raws = raws
        self._decoded: dict[int, Any] = {}
        self.frame = frame
        self.links = links

    def __len__(self) -> int:
        return len(self._raws)

    @overload
    def __getitem__(self, index: int) -> Any: ...

    @overload
    def __getitem__(self, index: slice) -> TimeEntryPage: ...

    def __getitem__(self, index: int | slice) -> Any:
        """A record (decoded), or for a slice the page of those records (a contiguous run)."""
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            if step != 1:
                raise ValueError("a page is sliced in one contiguous run")
            stop = max(start, stop)
            return _renumbered(
                self._raws[start:stop], self.frame.slice(start, stop - start), self.links
            )
        row = range(len(self._raws))[index]  # negative indices, and IndexError past the end
        if row not in self._decoded:
            self._decoded[row] = orjson.loads(memoryview(self._raws[row]))
        return self._decoded[row]

    def __iter__(self) -> Iterator[Any]:
        return (self[i] for i in range(len(self)))

    def fingerprint(self) -> tuple[int, str, str] | None:
        """``collectors.paging.PageTrail.fingerprint`` from the frame: no record is decoded."""
        if not len(self):
            return None
        ids = self.frame["source_id"]
        return len(self), str(ids[0]), str(ids[-1])


def concat_pages(pages: Sequence[TimeEntryPage]) -> TimeEntryPage:
    """Pages joined into one, in order (the links are the last page's)."""
    raws = [raw for page in pages for raw in page._raws]
    frame = pl.concat([page.frame for page in pages], how="vertical")
    return _renumbered(raws, frame, pages[-1].links if pages else None)


def _renumbered(raws: list[msgspec.Raw], frame: pl.DataFrame, links: Any) -> TimeEntryPage:
    return TimeEntryPage(
        raws, frame.with_columns(row=pl.int_range(pl.len(), dtype=pl.Int64)), links
    )


def whole_days(pages: Iterable[TimeEntryPage]) -> Iterator[TimeEntryPage]:
    """The same records, regrouped so that no ``spent_date`` straddles two pages: the oldest day
    of a page waits for the next one. ``sync.flows.history.whole_days`` for pages read into
    frames: the days come from the frame, so no record is decoded to find its day."""
    carry: TimeEntryPage | None = None
    for page in pages:
        records = concat_pages([carry, page]) if carry is not None else page
        days = records.frame["spent_date"]
        cut = 0
        if len(days):
            others = (~days.eq_missing(days[-1])).arg_true()
            cut = int(others[-1]) + 1 if len(others) else 0
        carry = records[cut:]
        if cut:
            yield records[:cut]
    if carry is not None and len(carry):
        yield carry


def read_time_entry_page(body: bytes) -> TimeEntryPage:
    """A ``/time_entries`` response body as a page.

    Raises ``msgspec.ValidationError`` when the body has no ``time_entries`` list (the vendor's
    shape changed) and ``msgspec.DecodeError`` when it is not JSON (usually a cut body)."""
    envelope = _ENVELOPE.decode(body)
    raws = envelope.time_entries
    return TimeEntryPage(raws, _frame(body, raws), envelope.links)


def _frame(body: bytes, raws: list[msgspec.Raw]) -> pl.DataFrame:
    if raws:
        try:
            listed = pl.read_json(io.BytesIO(body), schema=PAGE_SCHEMA)
            records = listed.select(pl.col("time_entries").explode()).unnest("time_entries")
        except (pl.exceptions.PolarsError, ValueError, OverflowError):
            records = None
        if records is not None and records.height == len(raws):
            return _from_columns(records)
    return time_entries_frame([orjson.loads(memoryview(raw)) for raw in raws])
