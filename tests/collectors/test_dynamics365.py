"""The Dynamics 365 Finance connector against its emulator, in-process: companies, customers,
at-most-once posting of invoices and credit notes (refusals, re-posts, lost replies), settlement,
incremental reads of invoices and payments, errors as the right classes, Retry-After, secrets."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from collectors.dynamics365 import Dynamics365Connector, Dynamics365Settings
from collectors.entities import Invoice, InvoiceLine, canonical_id
from collectors.erp import (
    CreditApplication,
    CreditNoteDocument,
    CustomerDocument,
    Erp,
    InvoiceDocument,
    PostedCreditNote,
    PostedInvoice,
)
from collectors.errors import AuthError, ConfigError, RecordError
from collectors.http import RetryPolicy, call_json
from collectors.pacing import Limit, Pacer
from sandbox.transport import InProcessTransport
from sandbox.vendors.dynamics365 import Dynamics365Emulator
from sandbox.world.build import build_world
from sandbox.world.model import World
from tests.sandbox.clock import SleepingClock

FAST = RetryPolicy(attempts=4, initial=0.001, maximum=0.01, jitter=0.0)
LINE = InvoiceLine(
    description="Advisory", quantity=Decimal(10), unit_amount=Decimal(150), amount=Decimal(1500)
)


@pytest.fixture(scope="module")
def world() -> World:
    return build_world(7, size="small", today=date(2026, 11, 25))


@pytest.fixture
def emulator(world: World) -> Dynamics365Emulator:
    return Dynamics365Emulator(world)


def connect(emulator: Dynamics365Emulator, **settings: Any) -> Dynamics365Connector:
    transport = InProcessTransport(emulator.app)
    options = {"page_size": 20} | settings
    return Dynamics365Connector(Dynamics365Settings(**options), transport=transport, policy=FAST)


@pytest.fixture
def connector(emulator: Dynamics365Emulator) -> Dynamics365Connector:
    return connect(emulator)


@pytest.fixture
def client(connector: Dynamics365Connector) -> Iterator[httpx.Client]:
    with connector.client() as client:
        yield client


def invoice(number: str, *lines: InvoiceLine) -> Invoice:
    chosen = lines or (LINE, LINE)
    return Invoice(
        id=canonical_id("plan2cash", "invoice", number),
        source="plan2cash",
        source_id=number,
        updated_at=datetime(2026, 11, 1, tzinfo=UTC),
        number=number,
        customer_id="c",
        contract_id="k",
        currency="USD",
        period_start=date(2026, 10, 1),
        period_end=date(2026, 10, 31),
        issue_date=date(2026, 11, 1),
        due_date=date(2026, 12, 1),
        lines=chosen,
        total=sum((line.amount for line in chosen), Decimal(0)),
    )


def customer(connector: Dynamics365Connector, client: httpx.Client) -> str:
    return connector.create_customer(
        client, "us01", CustomerDocument("key-c", "cust-1", "Initech Corp", "USD")
    )


def headers_of(emulator: Dynamics365Emulator, number: str) -> list[dict[str, Any]]:
    return [h for h in emulator.invoices("us01") if h["ExternalInvoiceId"] == number]


def test_it_is_an_erp(connector: Dynamics365Connector) -> None:
    assert isinstance(connector, Erp)
    assert connector.name == "dynamics365" and connector.max_batch == 50


def test_companies(connector: Dynamics365Connector, client: httpx.Client, world: World) -> None:
    companies = connector.companies(client)
    assert [c.company_id for c in companies] == ["us01", "gb01", "de01"]
    assert [c.name for c in companies] == [e.name for e in world.legal_entities]


def test_customers_are_found_and_created_once(
    connector: Dynamics365Connector, client: httpx.Client, world: World
) -> None:
    existing = next(c for c in world.customers if c.legal_entity_id == 2)
    found = connector.find_customer(client, "gb01", existing.name)
    assert found is not None and found.startswith("gb01/")
    first, second = customer(connector, client), customer(connector, client)
    assert first == second == connector.find_customer(client, "us01", "initech corp")
    raw = [r for page in connector.customer_pages(client, "us01") for r in page]
    assert sum(r["OrganizationName"] == "Initech Corp" for r in raw) == 1
    mapped = connector.to_customer(next(r for r in raw if r["OrganizationName"] == "Initech Corp"))
    assert mapped is not None and mapped.source_id == first and mapped.currency == "USD"


def test_a_batch_posts_each_invoice_once_and_a_refusal_holds_nothing_back(
    connector: Dynamics365Connector, client: httpx.Client, emulator: Dynamics365Emulator
) -> None:
    ref = customer(connector, client)
    documents = [InvoiceDocument(f"k{n}", invoice(f"P2C-{n}"), ref) for n in range(3)]
    documents.insert(1, InvoiceDocument("kx", invoice("P2C-X"), "us01/NOPE"))
    outcomes = connector.post_invoices(client, "us01", documents)
    refused = outcomes[1]
    assert isinstance(refused, RecordError)
    assert "P2C-X" in str(refused) and "'NOPE'" in str(refused) and "Infolog" in str(refused)
    posted = [o for o in outcomes if isinstance(o, PostedInvoice)]
    assert [p.number for p in posted] == ["P2C-0", "P2C-1", "P2C-2"]
    assert all(p.total == p.amount_due == Decimal(3000) and p.status == "Open" for p in posted)
    again = connector.post_invoices(client, "us01", [documents[0], documents[2]])
    assert again == [posted[0], posted[1]]
    assert all(len(headers_of(emulator, f"P2C-{n}")) == 1 for n in range(3))
    assert connector.find_invoices(client, "us01", ["P2C-1", "P2C-X"]) == {"P2C-1": posted[1]}


@pytest.mark.parametrize("lost", [1, 2, 3])
def test_a_lost_reply_then_a_repost_creates_nothing(
    connector: Dynamics365Connector,
    client: httpx.Client,
    emulator: Dynamics365Emulator,
    lost: int,
) -> None:
    """``lost`` picks the write whose reply is lost: the header, its line, or the posting."""
    ref = customer(connector, client)
    document = InvoiceDocument("k9", invoice("P2C-9", LINE), ref)
    writes = iter(range(1, 4))
    original = emulator._take_loss

    def take_loss() -> bool:
        return next(writes, 0) == lost or original()

    emulator._take_loss = take_loss  # type: ignore[method-assign]
    (first,) = connector.post_invoices(client, "us01", [document])
    (second,) = connector.post_invoices(client, "us01", [document])
    assert isinstance(first, PostedInvoice) and first == second
    (header,) = headers_of(emulator, "P2C-9")
    assert header["IsPosted"] == "Yes"
    assert [r.invoice_id for r in emulator.receivables()].count(header["InvoiceId"]) == 1


def test_a_lost_reply_on_the_emulator_switch(
    connector: Dynamics365Connector, client: httpx.Client, emulator: Dynamics365Emulator
) -> None:
    ref = customer(connector, client)
    emulator.lose_next_response(1)
    (posted,) = connector.post_invoices(client, "us01", [InvoiceDocument("k", invoice("L-1"), ref)])
    assert isinstance(posted, PostedInvoice) and len(headers_of(emulator, "L-1")) == 1


def test_credit_note_posts_and_settles_once(
    connector: Dynamics365Connector, client: httpx.Client, emulator: Dynamics365Emulator
) -> None:
    ref = customer(connector, client)
    (posted,) = connector.post_invoices(client, "us01", [InvoiceDocument("k", invoice("I-1"), ref)])
    assert isinstance(posted, PostedInvoice)
    note = CreditNoteDocument(
        "cn", "CN-1", ref, "I-1", posted.invoice_id, date(2026, 11, 5), "USD", (LINE,)
    )
    (credit,) = connector.post_credit_notes(client, "us01", [note])
    assert isinstance(credit, PostedCreditNote)
    assert (credit.total, credit.remaining_credit) == (Decimal(1500), Decimal(1500))
    assert connector.find_credit_notes(client, "us01", ["CN-1", "I-1"]) == {"CN-1": credit}
    assert connector.find_invoices(client, "us01", ["CN-1"]) == {}
    for _ in range(2):  # the second is a replay: nothing is settled twice
        applied = connector.apply_credit_note(
            client,
            "us01",
            CreditApplication(
                "apply-1",
                credit.credit_note_id,
                posted.invoice_id,
                Decimal(1500),
                date(2026, 11, 6),
            ),
        )
        assert applied == Decimal(1500)
    (found,) = connector.find_invoices(client, "us01", ["I-1"]).values()
    assert found.amount_due == Decimal(1500) and found.status == "Open"
    bigger = CreditNoteDocument(
        "cn2", "CN-2", ref, "I-1", posted.invoice_id, date(2026, 11, 5), "USD", (LINE, LINE)
    )
    (second,) = connector.post_credit_notes(client, "us01", [bigger])
    assert isinstance(second, PostedCreditNote)
    with pytest.raises(RecordError, match=r"Only 1500\.00 remains open"):
        connector.apply_credit_note(
            client,
            "us01",
            CreditApplication(
                "apply-2",
                second.credit_note_id,
                posted.invoice_id,
                Decimal(3000),
                date(2026, 11, 6),
            ),
        )


def read_all(pages: Iterator[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    return [raw for page in pages for raw in page]


def test_incremental_invoices_and_payments(
    connector: Dynamics365Connector, client: httpx.Client, emulator: Dynamics365Emulator
) -> None:
    invoices = read_all(connector.invoice_pages(client, "us01", None))
    mapped = [connector.to_invoice(raw) for raw in invoices]
    assert invoices and all(m is not None and m.source == "dynamics365" for m in mapped)
    high = max(m.updated_at for m in mapped if m is not None)
    quiet = [
        connector.to_invoice(r) for r in read_all(connector.invoice_pages(client, "us01", high))
    ]
    assert all(m is not None and m.updated_at == high for m in quiet)  # the inclusive bound only
    open_one = next(m for m in mapped if m is not None and m.amount_due)
    payments = read_all(connector.payment_pages(client, "us01", None))
    newest = max(p.updated_at for raw in payments for p in connector.to_payments(raw))
    local_id = open_one.source_id.split("/", 1)[1]
    emulator.record_payment("us01", local_id, open_one.amount_due or Decimal(0), date(2026, 11, 24))
    fresh = [p for raw in read_all(connector.payment_pages(client, "us01", newest))
             for p in connector.to_payments(raw)]  # fmt: skip
    assert [p.invoice_id for p in fresh if p.updated_at > newest] == [open_one.source_id]
    changed = [
        connector.to_invoice(r) for r in read_all(connector.invoice_pages(client, "us01", high))
    ]
    paid = next(m for m in changed if m is not None and m.source_id == open_one.source_id)
    assert (paid.status, paid.amount_due) == ("paid", Decimal(0))
    assert paid.lines == open_one.lines and paid.number == open_one.number


def test_refusals_and_auth_become_the_right_errors(
    connector: Dynamics365Connector, client: httpx.Client, emulator: Dynamics365Emulator
) -> None:
    grouped = connect(emulator, customer_group="77")
    with grouped.client() as other, pytest.raises(RecordError, match="Customer group"):
        grouped.create_customer(other, "us01", CustomerDocument("k", "c", "Bad Group", "USD"))
    wrong = connect(emulator, client_secret="wrong")
    with wrong.client() as other, pytest.raises(AuthError, match="AADSTS7000215"):
        wrong.companies(other)
    with pytest.raises(ConfigError, match="Resource not found"):  # read from the OData body
        call_json(client, "GET", "Nonsense")


def test_retry_after_is_honoured(world: World) -> None:
    emulator = Dynamics365Emulator(world, request_limit=3, time_scale=0.001)
    clock = SleepingClock()
    pacer = Pacer([Limit(6000, 300)], name="d365", clock=clock, sleep=clock.sleep)
    settings = Dynamics365Settings(page_size=20)
    connector = Dynamics365Connector(
        settings, transport=InProcessTransport(emulator.app), policy=FAST, pacer=pacer
    )
    with connector.client() as client:
        for _ in range(5):
            assert len(connector.companies(client)) == 3
    assert clock.slept and max(clock.slept) >= 1.0  # the pacer held for Retry-After: 1


def test_no_secret_in_logs_or_spans(
    emulator: Dynamics365Emulator,
    debug_logs: pytest.LogCaptureFixture,
    spans: InMemorySpanExporter,
) -> None:
    connector = connect(emulator)
    with connector.client() as client:
        ref = customer(connector, client)
        connector.post_invoices(client, "us01", [InvoiceDocument("k", invoice("S-1"), ref)])
        read_all(connector.payment_pages(client, "us01", None))
    logged = "\n".join(f"{r.getMessage()} {r.args!r}" for r in debug_logs.records)
    traced = " ".join(f"{s.name} {dict(s.attributes or {})}" for s in spans.get_finished_spans())
    assert spans.get_finished_spans()
    for secret in ("sandbox-d365-secret", *connector._auth._token.split()):  # type: ignore[union-attr]
        assert secret not in logged and secret not in traced
