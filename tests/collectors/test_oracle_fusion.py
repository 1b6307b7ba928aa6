"""The Oracle Fusion connector against the sandbox emulator, in process: companies, customers,
at-most-once invoice and credit memo posts, incremental reads, throttling, errors and secrets."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import cache

import httpx
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import SecretStr

from collectors.entities import Invoice, InvoiceLine
from collectors.erp import (
    CreditApplication,
    CreditNoteDocument,
    CustomerDocument,
    Erp,
    InvoiceDocument,
    PostedCreditNote,
    PostedInvoice,
)
from collectors.errors import AuthError, RateLimitedError, RecordError
from collectors.http import RetryPolicy, call_json
from collectors.oracle_fusion import OracleFusionConnector, OracleFusionSettings
from collectors.oracle_fusion.mapping import credit_memo_body
from sandbox.transport import InProcessTransport
from sandbox.vendors.oracle_fusion import OracleFusionEmulator
from sandbox.world.build import build_world
from sandbox.world.model import World
from tests.collectors import transports
from tests.sandbox.clock import FakeClock

FAST = RetryPolicy(attempts=3, initial=0.001, maximum=0.01, jitter=0.0, max_retry_after=0.01)
NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)
UK = "Meridian Advisory UK Ltd BU"


@cache
def small_world() -> World:
    return build_world(7, size="small", today=date(2026, 11, 25))


class Fusion:
    """An emulator, the connector on it (behind a counting transport) and an open client."""

    def __init__(self, **emulator: object) -> None:
        self.clock = FakeClock(NOW)
        self.emulator = OracleFusionEmulator(small_world(), now=self.clock, **emulator)  # type: ignore[arg-type]
        self.wire = transports.Counting(InProcessTransport(self.emulator.app))
        self.connector = OracleFusionConnector(
            OracleFusionSettings(page_size=20, batch_size=5), transport=self.wire, policy=FAST
        )
        self.client = self.connector.client()

    def writes(self) -> list[httpx.Request]:
        return [r for r in self.wire.requests if r.method in ("POST", "PATCH")]

    def customer(self) -> str:
        return next(iter(self.emulator.accounts()))["PartyNumber"]


@pytest.fixture
def fusion() -> Iterator[Fusion]:
    box = Fusion()
    yield box
    box.client.close()


def invoice(number: str, *, amount: str = "1200.00", currency: str = "GBP") -> Invoice:
    value = Decimal(amount)
    line = InvoiceLine(
        description="Consulting", quantity=Decimal(8), unit_amount=value / 8, amount=value
    )
    return Invoice(
        id=f"inv_{number}", source="plan2cash", source_id=number, updated_at=NOW, number=number,
        customer_id="cus_1", contract_id="con_1", currency=currency,
        period_start=date(2026, 10, 1), period_end=date(2026, 10, 31),
        issue_date=date(2026, 11, 1), due_date=date(2026, 12, 1), lines=(line,), total=value,
    )  # fmt: skip


def document(box: Fusion, number: str, **kw: str) -> InvoiceDocument:
    return InvoiceDocument(f"key-{number}", invoice(number, **kw), box.customer())


def posted(results: list[PostedInvoice | RecordError]) -> list[PostedInvoice]:
    assert all(isinstance(r, PostedInvoice) for r in results), results
    return [r for r in results if isinstance(r, PostedInvoice)]


def ours(box: Fusion, unit: str = UK) -> list[dict[str, object]]:
    return [i for i in box.emulator.invoices(unit) if str(i["TransactionNumber"]).startswith("P2C")]


def test_the_connector_is_an_erp(fusion: Fusion) -> None:
    assert isinstance(fusion.connector, Erp)
    assert fusion.connector.max_batch == 5


def test_companies_are_the_business_units_with_their_legal_entities(fusion: Fusion) -> None:
    companies = fusion.connector.companies(fusion.client)
    assert [(c.company_id, c.name) for c in companies] == [
        (unit, name) for unit, _, name in fusion.emulator.companies()
    ]
    assert companies[1].company_id == UK and companies[1].name == "Meridian Advisory UK Ltd"


def test_a_customer_is_found_by_name_and_created_once(fusion: Fusion) -> None:
    first = fusion.emulator.accounts()[0]
    name = str(first["OrganizationName"])
    assert fusion.connector.find_customer(fusion.client, UK, name) == first["PartyNumber"]
    assert fusion.connector.find_customer(fusion.client, UK, "Nobody Ltd") is None
    document = CustomerDocument("cust-key-1", "cus_9", "Nobody Ltd", "GBP")
    made = fusion.connector.create_customer(fusion.client, UK, document)
    again = fusion.connector.create_customer(fusion.client, UK, document)
    assert made == again
    assert [a["OrganizationName"] for a in fusion.emulator.accounts()].count("Nobody Ltd") == 1
    assert fusion.connector.find_customer(fusion.client, UK, "Nobody Ltd") == made


def test_a_lost_customer_reply_creates_nothing_more(fusion: Fusion) -> None:
    fusion.emulator.lose_next_response(1)
    document = CustomerDocument("cust-key-2", "cus_8", "Lost Reply plc", "GBP")
    made = fusion.connector.create_customer(fusion.client, UK, document)
    names = [a["OrganizationName"] for a in fusion.emulator.accounts()]
    assert names.count("Lost Reply plc") == 1 and made


def test_invoices_are_created_completed_and_never_twice(fusion: Fusion) -> None:
    documents = [document(fusion, f"P2C-{n}") for n in range(7)]
    results = posted(fusion.connector.post_invoices(fusion.client, UK, documents))
    assert [r.number for r in results] == [f"P2C-{n}" for n in range(7)]
    assert {r.status for r in results} == {"Complete"}
    assert all(r.total == r.amount_due == Decimal("1200.00") for r in results)
    held = ours(fusion)
    assert len(held) == 7 and {i["InvoiceStatus"] for i in held} == {"Complete"}
    assert {i["CrossReference"] for i in held} == {f"key-P2C-{n}" for n in range(7)}
    writes = len(fusion.writes())
    again = posted(fusion.connector.post_invoices(fusion.client, UK, documents))
    assert [r.invoice_id for r in again] == [r.invoice_id for r in results]
    assert len(ours(fusion)) == 7 and len(fusion.writes()) == writes  # found, nothing sent


def test_one_refused_invoice_does_not_hold_back_its_batch(fusion: Fusion) -> None:
    good = [document(fusion, f"P2C-{n}") for n in range(3)]
    bad = InvoiceDocument("key-bad", invoice("P2C-BAD"), "999999")  # no such customer
    results = fusion.connector.post_invoices(fusion.client, UK, [good[0], bad, *good[1:]])
    refused = results[1]
    assert isinstance(refused, RecordError) and not isinstance(refused, PostedInvoice)
    assert "P2C-BAD" in str(refused) and "bill-to customer 999999 isn't valid" in str(refused)
    assert [r.number for r in results if isinstance(r, PostedInvoice)] == [
        "P2C-0",
        "P2C-1",
        "P2C-2",
    ]
    assert sorted(str(i["TransactionNumber"]) for i in ours(fusion)) == ["P2C-0", "P2C-1", "P2C-2"]


def test_a_lost_batch_reply_then_a_repost_creates_nothing_more(fusion: Fusion) -> None:
    documents = [document(fusion, f"P2C-{n}") for n in range(3)]
    fusion.emulator.lose_next_response(1)  # the create batch is applied, its reply lost
    results = posted(fusion.connector.post_invoices(fusion.client, UK, documents))
    assert [r.status for r in results] == ["Complete"] * 3
    assert len(ours(fusion)) == 3
    fusion.emulator.lose_next_response(1)  # now the completing batch's reply is lost
    more = [document(fusion, f"P2C-{n}") for n in range(3, 5)]
    results = posted(fusion.connector.post_invoices(fusion.client, UK, more))
    assert [r.status for r in results] == ["Complete"] * 2 and len(ours(fusion)) == 5
    again = posted(fusion.connector.post_invoices(fusion.client, UK, documents + more))
    assert [r.number for r in again] == [f"P2C-{n}" for n in range(5)]
    assert len(ours(fusion)) == 5


def test_find_invoices_reads_what_the_business_unit_holds(fusion: Fusion) -> None:
    posted(fusion.connector.post_invoices(fusion.client, UK, [document(fusion, "P2C-1")]))
    history = fusion.emulator.invoices(UK)[0]
    found = fusion.connector.find_invoices(
        fusion.client, UK, ["P2C-1", str(history["TransactionNumber"]), "NOPE"]
    )
    assert sorted(found) == sorted(["P2C-1", str(history["TransactionNumber"])])
    other = fusion.connector.find_invoices(fusion.client, "Meridian Advisory GmbH BU", ["P2C-1"])
    assert other == {}


def test_a_credit_memo_left_incomplete_is_completed_not_taken_as_posted(fusion: Fusion) -> None:
    (inv,) = posted(fusion.connector.post_invoices(fusion.client, UK, [document(fusion, "P2C-8")]))
    line = InvoiceLine(
        description="Hours removed", quantity=Decimal(1), unit_amount=Decimal(150),
        amount=Decimal(150),
    )  # fmt: skip
    note = CreditNoteDocument("cn-8", "P2C-CN-8", fusion.customer(), "P2C-8", inv.invoice_id,
                              date(2026, 11, 20), "GBP", (line,))  # fmt: skip
    settings = fusion.connector.settings
    body = credit_memo_body(note, business_unit=UK, source=settings.transaction_source,
                            transaction_type=settings.credit_memo_type)  # fmt: skip
    # created, then the poster stopped (a crash) before completing it
    call_json(fusion.client, "POST", "receivablesCreditMemos", json=body)
    assert fusion.connector.find_credit_notes(fusion.client, UK, ["P2C-CN-8"]) == {}
    (made,) = fusion.connector.post_credit_notes(fusion.client, UK, [note])
    assert isinstance(made, PostedCreditNote) and made.status == "Complete"
    numbers = [m["TransactionNumber"] for m in fusion.emulator.credit_memos(UK)]
    assert numbers.count("P2C-CN-8") == 1
    assert set(fusion.connector.find_credit_notes(fusion.client, UK, ["P2C-CN-8"])) == {"P2C-CN-8"}


def test_a_credit_note_is_posted_once_and_applied_once(fusion: Fusion) -> None:
    (inv,) = posted(fusion.connector.post_invoices(fusion.client, UK, [document(fusion, "P2C-7")]))
    line = InvoiceLine(
        description="Hours removed",
        quantity=Decimal(2),
        unit_amount=Decimal(150),
        amount=Decimal(300),
    )
    note = CreditNoteDocument("cn-key", "P2C-CN-1", fusion.customer(), "P2C-7", inv.invoice_id,
                              date(2026, 11, 20), "GBP", (line,))  # fmt: skip
    fusion.emulator.lose_next_response(1)  # the create's reply is lost
    (made,) = fusion.connector.post_credit_notes(fusion.client, UK, [note])
    (again,) = fusion.connector.post_credit_notes(fusion.client, UK, [note])
    assert isinstance(made, PostedCreditNote) and isinstance(again, PostedCreditNote)
    assert made.credit_note_id == again.credit_note_id and made.status == "Complete"
    assert made.total == Decimal(300) and made.remaining_credit == Decimal(300)
    numbers = [m["TransactionNumber"] for m in fusion.emulator.credit_memos(UK)]
    assert numbers.count("P2C-CN-1") == 1

    def apply(key: str) -> Decimal:
        return fusion.connector.apply_credit_note(
            fusion.client,
            UK,
            CreditApplication(
                key, made.credit_note_id, inv.invoice_id, Decimal(300), date(2026, 11, 21)
            ),
        )

    fusion.emulator.lose_next_response(1)  # applied, the reply lost: found by its key
    assert apply("apply-1") == Decimal(300)
    assert apply("apply-1") == Decimal(300)
    (after,) = fusion.connector.find_invoices(fusion.client, UK, ["P2C-7"]).values()
    assert after.amount_due == Decimal(900)
    with pytest.raises(RecordError, match="exceeds"):
        apply("apply-2")


def test_invoice_and_payment_reads_are_incremental(fusion: Fusion) -> None:
    connector, client = fusion.connector, fusion.client
    first = [connector.to_invoice(r) for p in connector.invoice_pages(client, UK, None) for r in p]
    assert len(first) == len(fusion.emulator.invoices(UK))
    newest = max(i.updated_at for i in first if i is not None)
    fusion.clock.advance(hours=1)
    (inv,) = posted(connector.post_invoices(client, UK, [document(fusion, "P2C-9")]))
    fusion.clock.advance(hours=1)
    fusion.emulator.record_payment(UK, inv.invoice_id, Decimal("200.00"), date(2026, 11, 24))
    changed = [r for p in connector.invoice_pages(client, UK, newest) for r in p]
    read = [connector.to_invoice(r) for r in changed]
    assert {i.number for i in read if i is not None} >= {"P2C-9"}
    p2c = next(i for i in read if i is not None and i.number == "P2C-9")
    assert p2c.amount_due == Decimal("1000.00") and p2c.status == "posted"
    assert p2c.source_id == inv.invoice_id and p2c.total == Decimal("1200.00")
    payments_since = NOW + timedelta(minutes=90)
    raws = [r for p in connector.payment_pages(client, UK, payments_since) for r in p]
    payments = [pay for raw in raws for pay in connector.to_payments(raw)]
    assert [(p.invoice_id, p.amount, p.received_on) for p in payments] == [
        (inv.invoice_id, Decimal("200.00"), date(2026, 11, 24))
    ]
    top = max(p.updated_at for p in payments)
    quiet = [r for p in connector.payment_pages(client, UK, top) for r in p]
    assert [r["StandardReceiptId"] for r in quiet] == [r["StandardReceiptId"] for r in raws]


def test_history_maps_to_canonical_records(fusion: Fusion) -> None:
    connector, client = fusion.connector, fusion.client
    customers = [connector.to_customer(r) for p in connector.customer_pages(client, UK) for r in p]
    assert len(customers) == len(fusion.emulator.accounts())
    invoices = [
        connector.to_invoice(r) for p in connector.invoice_pages(client, UK, None) for r in p
    ]
    assert all(i is not None and i.total == sum(x.amount for x in i.lines) for i in invoices)
    payments = [
        x
        for p in connector.payment_pages(client, UK, None)
        for r in p
        for x in connector.to_payments(r)
    ]
    by_invoice = {i.source_id: i for i in invoices if i is not None}
    assert payments and all(p.invoice_id in by_invoice for p in payments)
    assert any(i.status == "paid" for i in by_invoice.values())


def test_a_429_is_retried_after_the_time_fusion_asks() -> None:
    box = Fusion(requests_per_minute=2, time_scale=0.01)  # 2 calls in any 0.6 s
    patient = RetryPolicy(attempts=3, initial=0.001, maximum=0.01, jitter=0.0, max_retry_after=2)
    box.connector = OracleFusionConnector(
        box.connector.settings, transport=box.wire, policy=patient
    )
    box.client = box.connector.client()
    try:
        for _ in range(4):
            box.connector.companies(box.client)
    finally:
        box.client.close()
    assert 429 in box.wire.statuses
    assert box.wire.statuses[-1] == 200


def test_a_429_beyond_the_retries_is_a_rate_limit_with_retry_after() -> None:
    box = Fusion(requests_per_minute=1, time_scale=10.0)
    try:
        box.connector.companies(box.client)
        with pytest.raises(RateLimitedError) as raised:
            box.connector.companies(box.client)
    finally:
        box.client.close()
    assert raised.value.retry_after is not None and raised.value.retry_after > 1
    assert "rate limit" in str(raised.value)


def test_wrong_credentials_are_an_auth_error(fusion: Fusion) -> None:
    settings = OracleFusionSettings(password=SecretStr("wrong"))
    connector = OracleFusionConnector(settings, transport=fusion.wire, policy=FAST)
    with connector.client() as client, pytest.raises(AuthError, match="401"):
        connector.companies(client)


def test_a_bearer_token_is_accepted(fusion: Fusion) -> None:
    settings = OracleFusionSettings(token=SecretStr(fusion.emulator.issue_token()))
    connector = OracleFusionConnector(settings, transport=fusion.wire, policy=FAST)
    with connector.client() as client:
        assert len(connector.companies(client)) == 3


def test_fusion_error_bodies_become_readable_record_errors(fusion: Fusion) -> None:
    with pytest.raises(RecordError) as raised:
        call_json(fusion.client, "GET", "receivablesInvoices", params={"q": "Amount=1 and (("})
    assert raised.value.status == 400
    assert "oracle_fusion GET" in str(raised.value) and "q expects conditions" in str(raised.value)
    bad = InvoiceDocument("key-x", invoice("P2C-X"), "999999")
    (refused,) = fusion.connector.post_invoices(fusion.client, UK, [bad])
    assert isinstance(refused, RecordError) and refused.status == 400
    assert str(refused) == "oracle_fusion refused P2C-X: The bill-to customer 999999 isn't valid."


def test_no_secret_in_logs_or_spans(
    fusion: Fusion, spans: InMemorySpanExporter, debug_logs: pytest.LogCaptureFixture
) -> None:
    fusion.connector.companies(fusion.client)
    posted(fusion.connector.post_invoices(fusion.client, UK, [document(fusion, "P2C-S")]))
    secret = fusion.connector.settings.password.get_secret_value()
    header = fusion.wire.requests[0].headers["Authorization"].split(" ", 1)[1]
    logged = "\n".join(f"{r.getMessage()} {r.args!r}" for r in debug_logs.records)
    attributes = " ".join(
        f"{s.name} {dict(s.attributes or {})}" for s in spans.get_finished_spans()
    )
    assert spans.get_finished_spans()
    for leaked in (secret, header):
        assert leaked not in logged and leaked not in attributes
