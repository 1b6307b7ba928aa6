"""Dynamics 365 accepts a post and the reply is lost: the engine runs on, one invoice results.

Dynamics 365 has no idempotency header: a free text invoice whose creation (or posting) was
applied while its reply was lost must be found again by its ``ExternalInvoiceId`` before it is
tried again (by the connector's own look-up or the outbox's next try), never created twice. The
firm keeps its books in four ERPs; from the first invoice Dynamics 365 is sent, the test loses
the replies of its next writes (one, or as many as a call is tried) and lets the engine run as
the scheduler would until nothing is left to do.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import time_machine
from sqlalchemy import select

from sync.store.db import session_factory
from sync.store.tables import OutboxRow
from tests.conftest import migrated_sqlite
from tests.reliability.sandboxed import FAST, START, quiet, rig
from tests.sandbox.books import assert_each_erp_holds_the_truth, documents

MAX_RUNS = 6


class LosesFromTheFirstInvoice(httpx.BaseTransport):
    """Arms the emulator's lost replies as the first invoice header is about to be created, and
    counts the writes that got no reply from then on."""

    def __init__(self, inner: httpx.BaseTransport, arm: Callable[[], None]) -> None:
        self.inner, self.arm = inner, arm
        self.armed, self.lost = False, 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        first = request.method == "POST" and request.url.path.endswith("/FreeTextInvoiceHeaders")
        if first and not self.armed:
            self.arm()
            self.armed = True
        try:
            return self.inner.handle_request(request)
        except httpx.TransportError:
            self.lost += self.armed and request.method == "POST"
            raise


@pytest.mark.parametrize("lost", [1, FAST.attempts])
def test_a_lost_dynamics365_reply_ends_as_one_invoice_after_the_next_run(
    lost: int, tmp_path: Path
) -> None:
    store = migrated_sqlite(tmp_path / "store.db")
    r = rig(store, "calm")
    d365 = r.box.emulators["dynamics365"]
    wire = r.transports["dynamics365"]
    losing = LosesFromTheFirstInvoice(wire.inner, lambda: d365.lose_next_response(lost))
    wire.inner = losing
    try:
        with time_machine.travel(START, tick=True) as clock:
            runs = 0
            while not quiet(r.engine.run_once(), store):
                runs += 1
                assert runs < MAX_RUNS, "not quiet"
                clock.shift(timedelta(hours=1))
        assert losing.armed and losing.lost == lost
        numbers = [invoice.number for invoice in d365.receivables()]
        assert numbers and len(numbers) == len(set(numbers))
        assert {n: c for n, c in documents(r.box).items() if n in numbers} == dict.fromkeys(
            numbers, 1
        )
        assert_each_erp_holds_the_truth(r.box, note=f"after {lost} lost replies")
        with session_factory(store)() as s:
            assert set(s.scalars(select(OutboxRow.status))) == {"delivered"}
    finally:
        r.box.stop()
        store.dispose()
