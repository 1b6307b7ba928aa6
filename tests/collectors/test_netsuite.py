"""The NetSuite connector against the emulator in-process: the ERP protocol end to end."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import httpx
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import SecretStr

from collectors.entities import InvoiceLine
from collectors.erp import (
    CreditApplication,
    CreditNoteDocument,
    CustomerDocument,
    Erp,
    InvoiceDocument,
)
from collectors.errors import AuthError, RecordError
from collectors.http import RetryPolicy
from collectors.netsuite import NetSuiteConnector, NetSuiteSettings, to_customer
from sandbox.transport import InProcessTransport
from sandbox.vendors.netsuite import NetSuiteEmulator
from sandbox.world.build import build_world
from sandbox.world.model import World
from tests.collectors.records import erp_invoice
from tests.collectors.transports import Counting
from tests.sandbox.test_netsuite import other_key

FAST = RetryPolicy(attempts=4, initial=0.001, maximum=0.01, jitter=0.0, max_retry_after=0.05)
UK = "2"


@pytest.fixture(scope="module")
def world() -> World:
    return build_world(7, size="small", today=date(2026, 11, 25))


@pytest.fixture
def emulator(world: World) -> NetSuiteEmulator:
    return NetSuiteEmulator(world)


@pytest.fixture
def wire(emulator: NetSuiteEmulator) -> Counting:
    return Counting(InProcessTransport(emulator.app))


def settings_for(emulator: NetSuiteEmulator, **overrides: object) -> NetSuiteSettings:
    fields: dict[str, object] = {
        "certificate_id": emulator.certificate_id,
        "private_key": SecretStr(emulator.private_key_pem),
        "page_size": 25,
    }
    return NetSuiteSettings.model_validate(fields | overrides)


@pytest.fixture
def connector(emulator: NetSuiteEmulator, wire: Counting) -> NetSuiteConnector:
    return NetSuiteConnector(settings_for(emulator), transport=wire, policy=FAST)


@pytest.fixture
def client(connector: NetSuiteConnector) -> Iterator[httpx.Client]:
    with connector.client() as open_client:
        yield open_client


def customer_ref(connector: NetSuiteConnector, client: httpx.Client) -> str:
    raw = next(iter(connector.customer_pages(client, UK)))[0]
    return str(raw["id"])


def document(number: str, customer: str, *, amount: str = "1200.00") -> InvoiceDocument:
    return erp_invoice(number, customer, amount=amount, currency="GBP")


def test_it_is_an_erp_and_lists_the_subsidiaries(
    connector: NetSuiteConnector, client: httpx.Client
) -> None:
    assert isinstance(connector, Erp)
    names = [c.name for c in connector.companies(client)]
    assert names == ["Meridian Advisory Ltd", "Meridian Advisory UK Ltd", "Meridian Advisory GmbH"]


def test_customers_are_found_and_created_once(
    connector: NetSuiteConnector, client: httpx.Client, emulator: NetSuiteEmulator
) -> None:
    known = next(iter(connector.customer_pages(client, UK)))[0]
    assert connector.find_customer(client, UK, known["companyName"]) == known["id"]
    assert connector.find_customer(client, UK, "Nobody Ltd") is None
    new = CustomerDocument(key="cust-1", customer_id="c-1", name="Nobody Ltd", currency="GBP")
    first = connector.create_customer(client, UK, new)
    assert connector.create_customer(client, UK, new) == first
    assert connector.find_customer(client, UK, "Nobody Ltd") == first
    made = [c for c in emulator.books.all("customer") if c["companyName"] == "Nobody Ltd"]
    assert len(made) == 1 and made[0]["currency"]["refName"] == "GBP"
    assert (
        to_customer({**made[0], "lastModifiedDate": made[0]["lastModifiedDate"]}).name
        == "Nobody Ltd"
    )


def test_a_batch_posts_each_invoice_once_and_a_refusal_holds_back_none(
    connector: NetSuiteConnector, client: httpx.Client, emulator: NetSuiteEmulator
) -> None:
    customer = customer_ref(connector, client)
    batch = [document("P-1", customer), document("P-2", "999999"), document("P-3", customer)]
    before = len(emulator.books.all("invoice"))
    first = connector.post_invoices(client, UK, batch)
    assert isinstance(first[1], RecordError)
    assert "INVALID_FLD_VALUE" in str(first[1]) and "entity" in str(first[1])
    posted = [r for r in first if not isinstance(r, RecordError)]
    assert [p.number for p in posted] == ["P-1", "P-3"]
    assert all(p.total == p.amount_due == Decimal("1200.00") and p.status == "A" for p in posted)
    again = connector.post_invoices(client, UK, [batch[0], batch[2]])
    assert [p.invoice_id for p in again] == [p.invoice_id for p in posted]  # type: ignore[union-attr]
    assert len(emulator.books.all("invoice")) == before + 2
    found = connector.find_invoices(client, UK, ["P-1", "P-3", "P-2"])
    assert sorted(found) == ["P-1", "P-3"]


def test_a_lost_reply_then_a_repost_creates_nothing_more(
    connector: NetSuiteConnector, client: httpx.Client, emulator: NetSuiteEmulator
) -> None:
    customer = customer_ref(connector, client)
    before = len(emulator.books.all("invoice"))
    emulator.lose_next_response()
    (result,) = connector.post_invoices(client, UK, [document("L-1", customer)])
    assert not isinstance(result, RecordError) and result.number == "L-1"
    (again,) = connector.post_invoices(client, UK, [document("L-1", customer)])
    assert not isinstance(again, RecordError) and again.invoice_id == result.invoice_id
    assert len(emulator.books.all("invoice")) == before + 1


def test_a_credit_note_is_posted_and_applied_once(
    connector: NetSuiteConnector, client: httpx.Client, emulator: NetSuiteEmulator
) -> None:
    customer = customer_ref(connector, client)
    (posted,) = connector.post_invoices(client, UK, [document("C-1", customer)])
    assert not isinstance(posted, RecordError)
    line = InvoiceLine(description="Hours corrected", quantity=Decimal(1),
                       unit_amount=Decimal(200), amount=Decimal(200))  # fmt: skip
    note = CreditNoteDocument(
        key="cn-1", number="CN-C-1", customer_ref=customer, invoice_number="C-1",
        invoice_ref=posted.invoice_id, issued=date(2026, 11, 10), currency="GBP", lines=(line,),
    )  # fmt: skip
    (memo,) = connector.post_credit_notes(client, UK, [note])
    assert not isinstance(memo, RecordError) and memo.remaining_credit == Decimal(200)
    for _ in range(2):
        applied = connector.apply_credit_note(
            client,
            UK,
            CreditApplication(
                "apply-cn-1",
                memo.credit_note_id,
                posted.invoice_id,
                Decimal(200),
                date(2026, 11, 10),
            ),
        )
        assert applied == Decimal(200)
    after = connector.find_invoices(client, UK, ["C-1"])["C-1"]
    assert after.amount_due == Decimal("1000.00")
    assert connector.find_credit_notes(client, UK, ["CN-C-1"])["CN-C-1"].remaining_credit == 0
    with pytest.raises(RecordError, match="apply"):
        connector.apply_credit_note(
            client,
            UK,
            CreditApplication(
                "apply-too-much",
                memo.credit_note_id,
                posted.invoice_id,
                Decimal(5000),
                date(2026, 11, 10),
            ),
        )


def read_all(pages: Iterator[list[dict[str, object]]]) -> list[dict[str, object]]:
    return [raw for page in pages for raw in page]


def test_invoices_and_payments_read_incrementally(
    connector: NetSuiteConnector, client: httpx.Client, emulator: NetSuiteEmulator
) -> None:
    invoices = read_all(connector.invoice_pages(client, UK, None))
    mapped = [connector.to_invoice(raw) for raw in invoices]
    assert len(mapped) == len(emulator.invoices(UK)) and all(m is not None for m in mapped)
    newest = max(m.updated_at for m in mapped if m is not None)
    quiet = read_all(connector.invoice_pages(client, UK, newest))
    assert all(connector.to_invoice(r).updated_at <= newest for r in quiet)  # type: ignore[union-attr]
    open_ = next(r for r in emulator.receivables() if r.company_id == UK and r.amount_due > 0)
    payments_before = read_all(connector.payment_pages(client, UK, None))
    high = max(p.updated_at for raw in payments_before for p in connector.to_payments(raw))
    emulator.record_payment(UK, open_.invoice_id, open_.amount_due, date(2026, 11, 24))
    fresh = [p for raw in read_all(connector.payment_pages(client, UK, high))
             for p in connector.to_payments(raw)]  # fmt: skip
    paid = [p for p in fresh if p.invoice_id == open_.invoice_id and p.updated_at > high]
    assert len(paid) == 1 and paid[0].amount == open_.amount_due
    changed = read_all(connector.invoice_pages(client, UK, high))
    now_paid = [connector.to_invoice(r) for r in changed if r["id"] == open_.invoice_id]
    assert now_paid[0] is not None and now_paid[0].status == "paid"
    assert now_paid[0].amount_due == 0


def test_retry_after_on_a_concurrency_429_is_honoured(
    emulator: NetSuiteEmulator, wire: Counting, spans: InMemorySpanExporter
) -> None:
    for _ in range(emulator.gate.limit):  # the account is busy (the token endpoint is not gated)
        emulator.gate.enter()
    released = Releasing(wire, emulator)
    connector = NetSuiteConnector(settings_for(emulator), transport=released, policy=FAST)
    with connector.client() as client:
        assert len(connector.companies(client)) == 3
    assert released.refused == 1
    waits = [s.attributes.get("retry.wait_s") for s in spans.get_finished_spans()
             if s.attributes and s.attributes.get("attempt") == 2]  # fmt: skip
    assert waits == [FAST.max_retry_after]  # Retry-After (1 s), capped by the policy


class Releasing(httpx.BaseTransport):
    """Frees the emulator's busy slots once the first request has been refused with 429."""

    def __init__(self, inner: httpx.BaseTransport, emulator: NetSuiteEmulator) -> None:
        self.inner, self.emulator, self.refused = inner, emulator, 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if response.status_code == 429:
            self.refused += 1
            for _ in range(self.emulator.gate.limit):
                self.emulator.gate.leave()
        return response


def test_a_wrong_key_is_an_auth_error_naming_the_refusal(emulator: NetSuiteEmulator) -> None:
    settings = settings_for(emulator, private_key=SecretStr(other_key()))
    connector = NetSuiteConnector(settings, transport=InProcessTransport(emulator.app), policy=FAST)
    with connector.client() as client, pytest.raises(AuthError, match="invalid_client"):
        connector.companies(client)


def test_no_secret_reaches_logs_or_spans(
    connector: NetSuiteConnector,
    client: httpx.Client,
    wire: Counting,
    spans: InMemorySpanExporter,
    debug_logs: pytest.LogCaptureFixture,
) -> None:
    customer = customer_ref(connector, client)
    connector.post_invoices(client, UK, [document("S-1", customer), document("S-2", "999999")])
    read_all(connector.payment_pages(client, UK, None))
    tokens = {r.headers["Authorization"].split(" ", 1)[1] for r in wire.requests
              if "Authorization" in r.headers}  # fmt: skip
    assertions = {
        part.split("=", 1)[1]
        for r in wire.requests
        if r.url.path.endswith("/token")
        for part in r.content.decode().split("&")
        if part.startswith("client_assertion=")
    }
    pem = connector.settings.private_key.get_secret_value()
    secrets = [*tokens, *assertions, pem, pem.splitlines()[1]]
    assert tokens and assertions
    logged = "\n".join(f"{r.getMessage()} {r.args!r}" for r in debug_logs.records)
    attributes = " ".join(
        f"{s.name} {dict(s.attributes or {})}" for s in spans.get_finished_spans()
    )
    for secret in secrets:
        assert secret not in logged and secret not in attributes
