"""Pipelining for flows: one item of lookahead (``with_last``), items read ahead by a thread
(``prefetched``), and work done by a thread at most one item behind the caller (``Behind``).

Every thread started here runs in a copy of the caller's context, so its spans are children of
the caller's; an error raised in a thread comes out in the caller, where its item would have."""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from queue import Empty, Full, Queue
from typing import Any, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


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


class Behind(Generic[R]):
    """Work handed to one thread, named ``name``, done in order and at most one item behind the
    caller, which prepares the next item meanwhile: a flow stores one batch while it checks the
    next (the store's writes release the GIL, as polars does). ``done`` holds the results of
    the items finished so far, in order.

    Leaving the block waits for the last item (raising its error); leaving it on an error lets
    the item in hand finish and hands nothing more over."""

    def __init__(self, name: str) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._pending: Future[R] | None = None
        self.done: list[R] = []

    def __enter__(self) -> Behind[R]:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        try:
            if kind is None:
                self.wait()
        finally:
            self._executor.shutdown(wait=True)

    def wait(self) -> None:
        """Until the item handed last is done; its error, if it failed, is raised here."""
        pending, self._pending = self._pending, None
        if pending is not None:
            self.done.append(pending.result())

    def submit(self, work: Callable[..., R], *args: Any) -> None:
        """Hand ``work(*args)`` over once the item before is done; it runs in a copy of the
        caller's context (its spans are children of the caller's)."""
        self.wait()
        self._pending = self._executor.submit(contextvars.copy_context().run, work, *args)
