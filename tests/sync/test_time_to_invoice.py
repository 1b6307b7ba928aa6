"""Approved time → billing events → invoices posted to Xero, end to end against the sandbox.

The sandbox runs in-process (httpx transports into the emulators); its firm's ground truth says
which invoices must exist and which entries are faulty.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import orjson
from sqlalchemy import Engine, func, select, update

from sandbox.server import Sandbox
from sync.engine import FLOWS
from sync.store.db import session_factory
from sync.store.tables import (
    BillingEventRow,
    BusinessEventRow,
    ExceptionRow,
    InvoiceRow,
    OutboxRow,
    SyncRunRow,
    TimeEntryRow,
)
from tests.sync.sandboxed import FAST, by_project_and_period, engine_for


def posted(box: Sandbox) -> dict[str, Decimal]:
    return {i["InvoiceNumber"]: Decimal(str(i["Total"])) for i in box.xero.invoices()}


def expected(box: Sandbox) -> dict[tuple[str, date], Decimal]:
    return {
        (e["project_code"], e["period_start"]): e["total"] for e in box.firm.expected_invoices()
    }


def test_two_runs_post_each_invoice_exactly_once(sandbox: Sandbox, store: Engine) -> None:
    engine = engine_for(sandbox, store)
    first = engine.run_once()
    assert [r.status for r in first] == ["succeeded"] * len(FLOWS)
    after_first = posted(sandbox)
    second = engine.run_once()
    assert [r.status for r in second] == ["succeeded"] * len(FLOWS)
    assert posted(sandbox) == after_first
    assert len(sandbox.xero.invoices()) == len(sandbox.firm.expected_invoices()) > 0
    assert by_project_and_period(after_first) == expected(sandbox)
    with session_factory(store)() as s:
        statuses = s.scalars(select(InvoiceRow.status)).all()
        assert set(statuses) == {"posted"} and len(statuses) == len(after_first)
        assert (
            s.scalar(
                select(func.count()).select_from(OutboxRow).where(OutboxRow.status != "delivered")
            )
            == 0
        )
        assert s.scalar(select(func.count()).select_from(SyncRunRow)) == 2 * len(FLOWS)


def test_every_planted_fault_is_an_exception_and_the_rest_is_billed(
    sandbox: Sandbox, store: Engine
) -> None:
    engine_for(sandbox, store).run_once()
    with session_factory(store)() as s:
        rows = s.scalars(select(ExceptionRow).where(ExceptionRow.flow == "billable")).all()
        billed = set(s.scalars(select(BillingEventRow.source_record_id)))
        entries = dict(s.execute(select(TimeEntryRow.source_id, TimeEntryRow.id)).all())
    found = {int(r.record_key.rsplit(":", 1)[1]): r.category for r in rows}
    assert found == sandbox.firm.faults
    assert all(r.reason and r.status == "open" and r.payload for r in rows)
    for entry_id in sandbox.firm.faults:
        assert entries[str(entry_id)] not in billed


def corrupting(transport: httpx.BaseTransport, entry_id: int, **fields: Any) -> httpx.BaseTransport:
    """A transport that rewrites one time entry in Harvest's responses (a malformed record)."""

    class Corrupt(httpx.BaseTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            response = transport.handle_request(request)
            if not request.url.path.endswith("/time_entries"):
                return response
            body = orjson.loads(response.read())
            for record in body["time_entries"]:
                if record["id"] == entry_id:
                    record.update(fields)
            return httpx.Response(
                response.status_code, headers=response.headers, content=orjson.dumps(body)
            )

    return Corrupt()


def test_a_malformed_entry_is_quarantined_and_its_page_still_flows(
    sandbox: Sandbox, store: Engine
) -> None:
    victim = next(
        e
        for e in sandbox.harvest.entries()
        if e["is_closed"] and e["id"] not in sandbox.firm.faults
    )
    bad = corrupting(
        sandbox.transports()["harvest"], victim["id"], spent_date="31/02/2026", hours="seven"
    )
    engine = engine_for(sandbox, store, harvest=bad)
    engine.run_once()
    with session_factory(store)() as s:
        row = s.scalars(
            select(ExceptionRow).where(
                ExceptionRow.record_key == f"harvest:time_entry:{victim['id']}"
            )
        ).one()
        events = s.scalar(select(func.count()).select_from(BillingEventRow))
    assert row.category == "malformed"
    assert "spent_date" in row.reason and "hours" in row.reason
    assert row.payload is not None and row.payload["hours"] == "seven"
    assert events and events > 300
    assert len(sandbox.xero.invoices()) >= len(sandbox.firm.expected_invoices()) - 1


def test_a_lost_reply_is_retried_with_the_same_idempotency_key(
    sandbox: Sandbox, store: Engine
) -> None:
    sandbox.xero.lose_next_response(1)
    engine_for(sandbox, store).run_once()
    numbers = [i["InvoiceNumber"] for i in sandbox.xero.invoices()]
    assert len(numbers) == len(set(numbers)) == len(sandbox.firm.expected_invoices())
    with session_factory(store)() as s:
        assert set(s.scalars(select(OutboxRow.status))) == {"delivered"}


def test_an_uncertain_delivery_is_looked_up_before_posting_again(
    sandbox: Sandbox, store: Engine
) -> None:
    engine = engine_for(sandbox, store)
    sandbox.xero.lose_next_response(FAST.attempts)  # every try of the first invoice is lost
    engine.run_once()
    with session_factory(store)() as s:
        waiting = s.scalars(select(OutboxRow).where(OutboxRow.status != "delivered")).all()
    assert len(waiting) == 1 and waiting[0].status == "retrying" and waiting[0].attempts == 1
    assert len(sandbox.xero.invoices()) == len(sandbox.firm.expected_invoices())
    with session_factory(store).begin() as s:  # make the retry due now
        s.execute(update(OutboxRow).values(next_attempt_at=datetime.now(UTC) - timedelta(1)))
    engine.run_once()
    numbers = [i["InvoiceNumber"] for i in sandbox.xero.invoices()]
    assert len(numbers) == len(set(numbers)) == len(sandbox.firm.expected_invoices())
    with session_factory(store)() as s:
        assert set(s.scalars(select(OutboxRow.status))) == {"delivered"}
        assert set(s.scalars(select(InvoiceRow.status))) == {"posted"}


def test_fixing_a_bad_entry_resolves_its_exception_and_bills_it_once(
    sandbox: Sandbox, store: Engine
) -> None:
    engine = engine_for(sandbox, store)
    engine.run_once()
    negative = next(i for i, f in sandbox.firm.faults.items() if f == "negative_hours")
    sandbox.harvest.edit_entry(negative, hours=2.0)
    engine.run_once()
    key = f"harvest:time_entry:{negative}"
    with session_factory(store)() as s:
        assert (
            s.scalars(select(ExceptionRow.status).where(ExceptionRow.record_key == key)).one()
            == "resolved"
        )
        supplementary = s.scalars(select(InvoiceRow).where(InvoiceRow.sequence == 2)).all()
    assert len(supplementary) == 1 and supplementary[0].number.endswith("-2")
    assert supplementary[0].number in posted(sandbox)


def test_an_entry_edited_after_it_was_invoiced_is_flagged_not_reposted(
    sandbox: Sandbox, store: Engine
) -> None:
    engine = engine_for(sandbox, store)
    engine.run_once()
    before = posted(sandbox)
    invoiced = next(
        e
        for e in sandbox.harvest.entries()
        if e["is_closed"]
        and e["spent_date"] < date(2026, 11, 1)
        and e["id"] not in sandbox.firm.faults
    )
    sandbox.harvest.edit_entry(invoiced["id"], hours=float(invoiced["hours"]) + 1)
    engine.run_once()
    assert posted(sandbox) == before
    with session_factory(store)() as s:
        row = s.scalars(
            select(ExceptionRow).where(ExceptionRow.category == "edited_after_invoiced")
        ).one()
    assert row.value_at_risk and row.value_at_risk > 0
    assert "credit note" in row.reason


def test_the_journey_is_recorded_as_business_events(sandbox: Sandbox, store: Engine) -> None:
    engine_for(sandbox, store).run_once()
    with session_factory(store)() as s:
        names = dict(
            s.execute(
                select(BusinessEventRow.name, func.count()).group_by(BusinessEventRow.name)
            ).all()
        )
        invoices = s.scalar(select(func.count()).select_from(InvoiceRow))
        events = s.scalar(select(func.count()).select_from(BillingEventRow))
    assert names["invoice.posted"] == names["invoice.created"] == invoices
    assert names["billing_event.created"] == events
    assert names["billing_event.rejected"] == len(sandbox.firm.faults)
