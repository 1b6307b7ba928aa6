"""What every flow is given (connectors, the store, settings, a clock) and what it reports."""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from queue import Empty, Full, Queue
from typing import Any, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from collectors.bamboohr import BambooHRConnector
from collectors.harvest import HarvestConnector
from collectors.kantata import KantataConnector
from collectors.salesforce import SalesforceConnector
from collectors.xero import XeroConnector
from sync.settings import Settings

T = TypeVar("T")


@dataclass
class FlowContext:
    settings: Settings
    sessions: sessionmaker[Session]
    harvest: HarvestConnector
    xero: XeroConnector
    salesforce: SalesforceConnector
    kantata: KantataConnector
    bamboohr: BambooHRConnector
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    def today(self) -> date:
        return self.clock().date()


@dataclass
class FlowResult:
    """Counts of one flow run, for the ``sync_runs`` row and the CLI summary."""

    records_in: int = 0
    records_out: int = 0
    exceptions: int = 0
    notes: list[str] = field(default_factory=list)

    def add(self, other: FlowResult) -> None:
        self.records_in += other.records_in
        self.records_out += other.records_out
        self.exceptions += other.exceptions
        self.notes.extend(other.notes)


def with_last(items: Iterator[T]) -> Iterator[tuple[T, bool]]:
    """Each item with a flag that is true for the last one (one item of lookahead)."""
    try:
        current = next(items)
    except StopIteration:
        return
    for following in items:
        yield current, False
        current = following
    yield current, True


_END = object()


@contextmanager
def prefetched(items: Iterable[T], depth: int) -> Iterator[Iterator[T]]:
    """The same items, read up to ``depth`` ahead by a thread while the caller works on the
    ones before: a flow stores one page while the next ones are fetched and decoded (network
    waits, and decoding that releases the GIL, overlap the store's writes).

    Items come in order; an error raised while reading comes out where its item would have, after
    the items read before it. Leaving the block stops the reader (it finishes the read it is in,
    no more) and closes ``items``. The reader runs in a copy of the caller's context, so its
    spans are children of the caller's."""
    queue: Queue[tuple[Any, BaseException | None]] = Queue(maxsize=max(1, depth))
    stop = threading.Event()

    def offer(entry: tuple[Any, BaseException | None]) -> bool:
        while not stop.is_set():
            try:
                queue.put(entry, timeout=0.05)
                return True
            except Full:
                continue
        return False

    def read() -> None:
        iterator = iter(items)
        try:
            for item in iterator:
                if not offer((item, None)):
                    return
            offer((_END, None))
        except BaseException as error:  # handed to the caller, raised there
            offer((_END, error))
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()

    def taken() -> Iterator[T]:
        while True:
            item, error = queue.get()
            if error is not None:
                raise error
            if item is _END:
                return
            yield item

    reader = threading.Thread(
        target=contextvars.copy_context().run, args=(read,), name="prefetch", daemon=True
    )
    reader.start()
    try:
        yield taken()
    finally:
        stop.set()
        while reader.is_alive():
            try:  # make room, so that a reader blocked on a full queue sees the stop
                queue.get(timeout=0.05)
            except Empty:
                continue
        reader.join()
