"""Pacing under published limits: a fake clock for the arithmetic, tiny windows for threads, and
a burst against the Harvest emulator that must see no 429."""

from __future__ import annotations

import threading
import time
from datetime import date

import pytest

from collectors.errors import RateLimitedError
from collectors.harvest import HarvestConnector, HarvestSettings, harvest_pacer
from collectors.http import RetryPolicy, call
from collectors.pacing import Limit, Pacer, PacerPool
from collectors.xero import xero_pacer
from sandbox.server import Sandbox
from tests.sandbox.clock import SleepingClock


def paced(clock: SleepingClock, *limits: Limit, **kw: object) -> Pacer:
    return Pacer(limits, clock=clock, sleep=clock.sleep, headroom=0.0, **kw)  # type: ignore[arg-type]


def test_a_window_admits_its_limit_then_waits_for_the_oldest_call_to_age_out() -> None:
    clock = SleepingClock(1_000.0)
    pacer = paced(clock, Limit(100, 15.0))
    for _ in range(100):
        with pacer.slot() as waited:
            assert waited == 0
    with pacer.slot() as waited:
        assert waited == pytest.approx(15.0, abs=0.01)
    assert pacer.admitted == 101


def test_a_call_counts_from_when_its_reply_came_back() -> None:
    clock = SleepingClock(1_000.0)
    pacer = paced(clock, Limit(1, 10.0))
    with pacer.slot():
        clock.now += 4.0  # the reply takes 4 s: the vendor may have stamped the call late
    with pacer.slot() as waited:
        assert waited == pytest.approx(10.0, abs=0.01)  # a window from the reply, not from the send


def test_every_limit_applies_at_once() -> None:
    clock = SleepingClock(1_000.0)
    pacer = paced(clock, Limit(2, 1.0), Limit(3, 60.0))  # Xero-like: a short and a long window
    start = clock.now
    waits = []
    for _ in range(4):
        with pacer.slot() as waited:
            waits.append(waited)
    assert waits[:2] == [0, 0]
    assert waits[2] == pytest.approx(1.0, abs=0.01)  # the short window
    assert clock.now - start == pytest.approx(60.0, abs=0.01)  # the long one


def test_time_scale_and_headroom_shape_the_window() -> None:
    clock = SleepingClock(1_000.0)
    pacer = Pacer([Limit(1, 15.0)], time_scale=0.01, headroom=0.1, clock=clock, sleep=clock.sleep)
    with pacer.slot():
        pass
    with pacer.slot() as waited:
        assert waited == pytest.approx(0.165, abs=0.002)


def test_a_wait_longer_than_max_wait_is_a_rate_limit_error_not_a_long_sleep() -> None:
    clock = SleepingClock(1_000.0)
    pacer = paced(clock, Limit(1, 86_400.0), max_wait=60.0, name="xero")
    with pacer.slot():
        pass
    with pytest.raises(RateLimitedError, match="xero") as caught, pacer.slot():
        pass
    assert caught.value.retry_after == pytest.approx(86_400.0, abs=1)
    assert clock.slept == []


def test_hold_makes_every_caller_wait_until_the_vendor_said() -> None:
    clock = SleepingClock(1_000.0)
    pacer = paced(clock, Limit(100, 1.0))
    pacer.hold(7.0)
    with pacer.slot() as waited:
        assert waited == pytest.approx(7.0)


def test_concurrency_is_capped_across_threads() -> None:
    pacer = Pacer(concurrency=3)
    inside = 0
    most = 0
    lock = threading.Lock()

    def work() -> None:
        nonlocal inside, most
        with pacer.slot():
            with lock:
                inside += 1
                most = max(most, inside)
            time.sleep(0.02)
            with lock:
                inside -= 1

    threads = [threading.Thread(target=work) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert most == 3 and pacer.admitted == 12


def test_a_window_is_shared_by_threads() -> None:
    pacer = Pacer([Limit(5, 0.2)], headroom=0.0)
    stamps: list[float] = []
    lock = threading.Lock()

    def work() -> None:
        for _ in range(5):
            with pacer.slot(), lock:
                stamps.append(time.monotonic())

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stamps.sort()
    for i in range(5, len(stamps)):  # any 6 consecutive calls span at least one window
        assert stamps[i] - stamps[i - 5] >= 0.19


def test_a_pool_gives_one_pacer_per_key() -> None:
    pool = PacerPool(lambda key: Pacer([Limit(60, 60.0)], concurrency=5, name=key))
    assert pool.get("tenant-a") is pool.get("tenant-a")
    assert pool.get("tenant-a") is not pool.get("tenant-b")


def test_vendor_pacers_carry_the_published_limits() -> None:
    harvest = harvest_pacer(HarvestSettings())
    assert harvest.limits == (Limit(100, 15.0),)
    xero = xero_pacer("t")
    assert set(xero.limits) == {Limit(60, 60.0), Limit(5000, 86_400.0)}
    assert xero.concurrency == 5
    quickbooks = Pacer([Limit(500, 60.0)], concurrency=10)
    assert quickbooks.concurrency == 10


def test_a_burst_against_the_harvest_emulator_sees_no_429() -> None:
    """120 calls where the emulator allows 100 per 0.15 s: the pacer spreads them out."""
    scale = 0.01
    with Sandbox(7, today=date(2026, 11, 25), time_scale=scale) as box:
        settings = HarvestSettings()
        pacer = harvest_pacer(settings, time_scale=scale)
        statuses: list[int] = []
        connector = HarvestConnector(
            settings,
            transport=box.transports()["harvest"],
            policy=RetryPolicy(attempts=1),  # no retries: a 429 would show
            pacer=pacer,
        )
        with connector.client() as client:
            started = time.monotonic()
            for _ in range(120):
                response = call(client, "GET", "users", params={"per_page": "1"})
                statuses.append(response.status_code)
            elapsed = time.monotonic() - started
    assert statuses == [200] * 120
    assert elapsed >= 0.15  # the 101st call waited for the window
