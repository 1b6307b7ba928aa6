"""The pipelining helpers: items read ahead by a thread (order, errors where they happened, a clean
stop) and work done one item behind the caller."""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Iterator

import pytest

from sync.pipeline import prefetched

WHO = contextvars.ContextVar("WHO", default="nobody")


def test_items_come_in_order_and_are_read_ahead_by_another_thread() -> None:
    readers: set[str] = set()

    def source() -> Iterator[int]:
        for n in range(50):
            readers.add(threading.current_thread().name)
            yield n

    with prefetched(source(), depth=3) as items:
        assert list(items) == list(range(50))
    assert readers == {"prefetch"}


def test_an_error_comes_out_after_the_items_read_before_it() -> None:
    def source() -> Iterator[int]:
        yield 1
        yield 2
        raise ConnectionError("Harvest answered 503 three times")

    seen: list[int] = []
    with pytest.raises(ConnectionError, match="503"), prefetched(source(), depth=5) as items:
        for item in items:
            seen.append(item)
    assert seen == [1, 2]


def test_leaving_early_stops_the_reader_and_closes_the_source() -> None:
    produced: list[int] = []
    closed = threading.Event()

    def source() -> Iterator[int]:
        try:
            for n in range(10_000):
                produced.append(n)
                yield n
        finally:
            closed.set()

    with pytest.raises(RuntimeError), prefetched(source(), depth=2) as items:
        for item in items:
            if item == 3:
                raise RuntimeError("the store failed")
    assert closed.is_set()
    assert not [t for t in threading.enumerate() if t.name == "prefetch"]
    # read ahead by at most the queue's depth and the item in hand, never the whole source
    assert len(produced) <= 3 + 1 + 2 + 1


def test_the_reader_sees_the_callers_context() -> None:
    def source() -> Iterator[str]:
        yield WHO.get()

    token = WHO.set("billable run 42")
    try:
        with prefetched(source(), depth=1) as items:
            assert list(items) == ["billable run 42"]
    finally:
        WHO.reset(token)


def test_work_handed_behind_runs_in_order_one_at_a_time_in_the_callers_context() -> None:
    from sync.pipeline import Behind

    running = threading.Semaphore(1)
    seen: list[tuple[int, str, str]] = []

    def work(n: int) -> int:
        assert running.acquire(blocking=False), "two items at once"
        try:
            seen.append((n, threading.current_thread().name, WHO.get()))
            return n * n
        finally:
            running.release()

    WHO.set("flow billable")
    with Behind[int]("store") as behind:
        for n in range(20):
            behind.submit(work, n)
        # the caller is at most one item ahead
        assert len(behind.done) == 19
    assert behind.done == [n * n for n in range(20)]
    assert [n for n, _, _ in seen] == list(range(20))
    assert {name.split("_")[0] for _, name, _ in seen} == {"store"}
    assert {who for _, _, who in seen} == {"flow billable"}


def test_an_error_behind_comes_out_at_the_next_hand_over_and_stops_the_rest() -> None:
    from sync.pipeline import Behind

    stored: list[int] = []

    def work(n: int) -> None:
        if n == 2:
            raise ConnectionError("database is locked")
        stored.append(n)

    with pytest.raises(ConnectionError, match="locked"), Behind[None]("store") as behind:
        for n in range(10):
            behind.submit(work, n)
    assert stored == [0, 1]
