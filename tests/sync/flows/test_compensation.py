"""Time changed after it was invoiced is compensated, never edited into a posted invoice:
down → a credit note in Xero (allocated to the invoice), up → an adjustment line on the
contract's next invoice; each exactly once, across reruns, lost replies and crashes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from sqlalchemy import Engine, select, update

from sandbox.server import Sandbox
from sync import outbox_credit_notes
from sync.engine import Engine as SyncEngine
from sync.flows import compensation
from sync.store.db import session_factory
from sync.store.tables import (
    BillingEventRow,
    BusinessEventRow,
    CompensationRow,
    ExceptionRow,
    InvoiceRow,
    OutboxRow,
    TimeEntryRow,
)
from sync.store.vocabulary import OutboxKind
from tests.sync import sandboxed
from tests.sync.sandboxed import FAST, TODAY, engine_for, noon

FLOWS = ("reference", "billable", "invoicing", "outbox")


def run(engine: SyncEngine) -> None:
    sandboxed.run(engine, FLOWS)


def invoiced_entry(box: Sandbox, store: Engine) -> tuple[dict[str, Any], BillingEventRow]:
    """An October entry of at least 2 h that is on a posted invoice, and its billing event."""
    with session_factory(store)() as s:
        events = {
            e.source_record_id: e
            for e in s.scalars(
                select(BillingEventRow).where(BillingEventRow.invoice_id.is_not(None))
            )
        }
        ids = dict(s.execute(select(TimeEntryRow.source_id, TimeEntryRow.id)).all())
    entry = next(
        e
        for e in box.harvest.entries()
        if ids.get(str(e["id"])) in events
        and e["spent_date"] < date(2026, 11, 1)
        and float(e["hours"]) >= 2
    )
    return entry, events[ids[str(entry["id"])]]


def synced_with_invoiced_entry(
    box: Sandbox, store: Engine
) -> tuple[SyncEngine, dict[str, Any], BillingEventRow]:
    """The firm synced once: the engine, an invoiced entry (``invoiced_entry``) and its event."""
    engine = engine_for(box, store)
    run(engine)
    return engine, *invoiced_entry(box, store)


def ours(box: Sandbox) -> list[dict[str, Any]]:
    return [n for n in box.xero.credit_notes() if n["CreditNoteNumber"].startswith("CN-P2C")]


def xero_invoice(box: Sandbox, number: str) -> dict[str, Any]:
    return next(i for i in box.xero.invoices() if i["InvoiceNumber"] == number)


def events_named(store: Engine, name: str) -> int:
    with session_factory(store)() as s:
        return len(
            s.scalars(select(BusinessEventRow.id).where(BusinessEventRow.name == name)).all()
        )


def test_edited_down_is_credited_once_and_allocated(sandbox: Sandbox, store: Engine) -> None:
    engine, entry, event = synced_with_invoiced_entry(sandbox, store)
    with session_factory(store)() as s:
        invoice = s.get(InvoiceRow, event.invoice_id)
        assert invoice is not None
    before = xero_invoice(sandbox, invoice.number)
    sandbox.harvest.edit_entry(entry["id"], hours=float(entry["hours"]) - 1.5)
    run(engine)
    run(engine)  # a second run creates nothing new
    (note,) = ours(sandbox)
    credit = (Decimal("1.5") * Decimal(event.rate)).quantize(Decimal("0.01"))
    assert Decimal(str(note["Total"])) == credit
    assert (
        note["Type"] == "ACCRECCREDIT"
        and note["Contact"]["ContactID"] == (before["Contact"]["ContactID"])
    )
    after = xero_invoice(sandbox, invoice.number)
    assert Decimal(str(after["Total"])) == Decimal(str(before["Total"]))  # never edited
    assert Decimal(str(after["AmountCredited"])) == credit
    assert Decimal(str(after["AmountDue"])) == Decimal(str(before["AmountDue"])) - credit
    with session_factory(store)() as s:
        (row,) = s.scalars(select(CompensationRow)).all()
        flagged = s.scalars(
            select(ExceptionRow).where(ExceptionRow.category == "edited_after_invoiced")
        ).one()
    assert (row.kind, row.status, row.allocated, row.amount) == (
        "credit_note",
        "posted",
        credit,
        credit,
    )
    assert flagged.status == "resolved" and flagged.notes and row.id in flagged.notes
    assert events_named(store, "credit_note.created") == events_named(store, "credit_note.posted")
    assert events_named(store, "credit_note.posted") == 1


def test_a_lost_reply_does_not_credit_twice(sandbox: Sandbox, store: Engine) -> None:
    engine, entry, _ = synced_with_invoiced_entry(sandbox, store)
    sandbox.harvest.edit_entry(entry["id"], hours=float(entry["hours"]) - 1)
    sandbox.xero.lose_next_response(FAST.attempts)  # every try of the credit note is lost
    run(engine)
    with session_factory(store).begin() as s:
        item = s.scalars(
            select(OutboxRow).where(OutboxRow.kind == OutboxKind.CREDIT_NOTE_CREATE)
        ).one()
        assert (item.status, item.attempts) == ("retrying", 1)
        s.execute(update(OutboxRow).values(next_attempt_at=datetime.now(UTC) - timedelta(1)))
    assert len(ours(sandbox)) == 1  # Xero got it; we did not hear
    run(engine)
    (note,) = ours(sandbox)
    assert note["Status"] == "PAID" and not note["RemainingCredit"]  # allocated in full
    with session_factory(store)() as s:
        assert s.scalars(select(OutboxRow.status)).all() == ["delivered"] * len(
            s.scalars(select(OutboxRow.id)).all()
        )


def test_a_crash_after_xero_accepted_does_not_credit_twice(
    sandbox: Sandbox, store: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, entry, _ = synced_with_invoiced_entry(sandbox, store)
    sandbox.harvest.edit_entry(entry["id"], hours=float(entry["hours"]) - 1)
    for name in ("reference", "billable", "invoicing"):
        engine.run_flow(name)

    def crash(*_: Any) -> None:
        raise RuntimeError("process died")

    monkeypatch.setattr(outbox_credit_notes, "_posted", crash)
    died = engine.run_flow("outbox")  # the engine records the failed run and goes on
    assert died.status == "failed" and died.error is not None and "process died" in died.error
    monkeypatch.undo()
    with session_factory(store).begin() as s:
        s.execute(update(OutboxRow).values(next_attempt_at=datetime.now(UTC) - timedelta(1)))
    run(engine)
    assert len(ours(sandbox)) == 1
    assert events_named(store, "credit_note.posted") == 1


@pytest.mark.parametrize("change", ["deleted", "unapproved"])
def test_a_deleted_or_unapproved_entry_is_credited_in_full(
    sandbox: Sandbox, store: Engine, change: str
) -> None:
    engine, entry, event = synced_with_invoiced_entry(sandbox, store)
    if change == "deleted":  # as the reconciliation flow records a Harvest deletion
        with session_factory(store).begin() as s:
            s.execute(
                update(TimeEntryRow)
                .where(TimeEntryRow.id == event.source_record_id)
                .values(deleted_at=datetime.now(UTC))
            )
    else:
        sandbox.harvest.edit_entry(entry["id"], is_closed=False)
    run(engine)
    run(engine)
    (note,) = ours(sandbox)
    assert Decimal(str(note["Total"])) == Decimal(event.amount).quantize(Decimal("0.01"))
    assert note["Reference"].startswith("P2C-")


def test_edited_up_becomes_an_adjustment_line_on_the_next_invoice(
    sandbox: Sandbox, store: Engine
) -> None:
    engine, entry, event = synced_with_invoiced_entry(sandbox, store)
    with session_factory(store)() as s:
        original = s.get(InvoiceRow, event.invoice_id)
        assert original is not None
    totals = {i["InvoiceNumber"]: i["Total"] for i in sandbox.xero.invoices()}
    sandbox.harvest.edit_entry(entry["id"], hours=float(entry["hours"]) + 2)
    run(engine)
    run(engine)
    assert {i["InvoiceNumber"]: i["Total"] for i in sandbox.xero.invoices()} == totals
    assert ours(sandbox) == []
    with session_factory(store)() as s:
        (adjustment,) = s.scalars(
            select(BillingEventRow).where(BillingEventRow.kind == "adjustment")
        ).all()
    extra = (Decimal(2) * Decimal(event.rate)).quantize(Decimal("0.01"))
    assert (adjustment.occurred_on, adjustment.amount, adjustment.invoice_id) == (
        TODAY,
        extra,
        None,
    )
    run(engine_for(sandbox, store, clock=noon(date(2026, 12, 2))))  # November closes
    with session_factory(store)() as s:
        billed = s.get(BillingEventRow, adjustment.id)
        assert billed is not None and billed.invoice_id is not None
        nxt = s.get(InvoiceRow, billed.invoice_id)
        assert nxt is not None
    assert nxt.contract_id == original.contract_id and nxt.period_start == date(2026, 11, 1)
    posted = xero_invoice(sandbox, nxt.number)
    (line,) = [li for li in posted["LineItems"] if li["Description"].startswith("Adjustment")]
    assert Decimal(str(line["LineAmount"])) == extra
    assert original.number in line["Description"]


def test_a_pending_adjustment_is_revised_before_anything_is_credited(
    sandbox: Sandbox, store: Engine
) -> None:
    engine, entry, event = synced_with_invoiced_entry(sandbox, store)
    hours = float(entry["hours"])
    sandbox.harvest.edit_entry(entry["id"], hours=hours + 2)
    run(engine)
    sandbox.harvest.edit_entry(entry["id"], hours=hours + 1)  # still up: revised in place
    run(engine)
    with session_factory(store)() as s:
        (pending,) = s.scalars(select(CompensationRow)).all()
        assert (pending.kind, pending.quantity) == ("adjustment", 1)
    sandbox.harvest.edit_entry(entry["id"], hours=hours - 1)  # now down: withdrawn, then credited
    run(engine)
    run(engine)
    with session_factory(store)() as s:
        rows = s.scalars(select(CompensationRow).order_by(CompensationRow.version)).all()
        adjustments = s.scalars(
            select(BillingEventRow).where(BillingEventRow.kind == "adjustment")
        ).all()
    assert [(r.kind, r.status, r.quantity) for r in rows] == [
        ("adjustment", "withdrawn", 1),
        ("credit_note", "posted", 1),
    ]
    assert adjustments == []
    (note,) = ours(sandbox)
    assert Decimal(str(note["Total"])) == Decimal(event.rate).quantize(Decimal("0.01"))


def test_a_run_after_nothing_changed_reads_no_invoiced_entry(
    sandbox: Sandbox, store: Engine
) -> None:
    """Compensation reads the invoiced entries touched since its watermarks, not the history: once
    a compensated entry's changes are behind them, a run reads no invoiced entry; a full scan still
    reads it (and finds it settled)."""
    moment = [datetime(2026, 11, 25, 12, tzinfo=UTC)]
    engine = engine_for(sandbox, store, clock=lambda: moment[0])
    # the wall clock starts at the engine's: Harvest's emulator stamps an edit on the wall clock
    # and the time ``advance`` adds on the firm's, so the new time comes after the edit (and
    # moves the cursor past it) only when the two agree, whatever today's date is
    with time_machine.travel(moment[0], tick=True) as wall:
        run(engine)
        entry, _ = invoiced_entry(sandbox, store)
        sandbox.harvest.edit_entry(entry["id"], hours=float(entry["hours"]) - 1)
        run(engine)
        assert len(ours(sandbox)) == 1
        sandbox.advance(date(2026, 11, 28))  # new time moves the Harvest cursor past the edit
        for _ in range(3):  # until the watermarks' checkpoints have settled on both clocks
            wall.shift(timedelta(minutes=20))
            moment[0] += timedelta(minutes=20)
            run(engine)
        quiet = compensation.run(engine.context)
        full = compensation.run(engine.context, full=True)
    assert (quiet.records_in, quiet.records_out) == (0, 0)
    assert full.records_in >= 1 and full.records_out == 0
    assert len(ours(sandbox)) == 1
