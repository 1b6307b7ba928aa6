"""The Xero connector against the sandbox emulator: invoices, credit notes and payments; strict
mock transports only for replies the emulator never gives (a summarised refusal to a batch sent
with ``summarizeErrors=false``, a refusal naming no document)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import orjson
import pytest

from collectors.entities import InvoiceLine
from collectors.erp import CreditApplication
from collectors.errors import RecordError
from collectors.http import RetryPolicy
from collectors.xero import (
    PostedCreditNote,
    PostedInvoice,
    XeroConnector,
    XeroSettings,
    batch_key,
    credit_note_body,
    parse_ms_date,
    to_customer,
    to_invoice,
    to_payment,
)
from sandbox.server import Sandbox
from tests.collectors import transports
from tests.collectors.records import xero_invoice

FAST = RetryPolicy(attempts=3, initial=0.001, maximum=0.01, jitter=0.0)


class Counting(transports.Counting):
    def writes(self) -> list[httpx.Request]:
        return [
            r for r in self.requests if r.method in ("PUT", "POST") and "/api.xro" in r.url.path
        ]


@pytest.fixture
def box() -> Iterator[Sandbox]:
    with Sandbox(7, today=date(2026, 11, 25)) as sandbox:
        yield sandbox


@pytest.fixture
def wire(box: Sandbox) -> Counting:
    return Counting(box.transports()["xero"])


@pytest.fixture
def xero(wire: Counting) -> XeroConnector:
    return XeroConnector(XeroSettings(), transport=wire, policy=FAST)


def contact(box: Sandbox) -> str:
    return str(box.xero.contacts()[0]["ContactID"])


def post_invoices(
    xero: XeroConnector, invoices: list[tuple[str, dict[str, Any]]]
) -> list[PostedInvoice | RecordError]:
    """``invoices`` posted to the connection's tenant, on a client of their own."""
    with xero.client() as client:
        return xero.put_invoices(client, xero.tenant_id(client), invoices)


def post_credit_notes(
    xero: XeroConnector, notes: list[tuple[str, dict[str, Any]]]
) -> list[PostedCreditNote | RecordError]:
    """``notes`` posted to the connection's tenant, on a client of their own."""
    with xero.client() as client:
        return xero.put_credit_notes(client, xero.tenant_id(client), notes)


def records(
    xero: XeroConnector,
    client: httpx.Client,
    stream: str,
    tenant: str,
    since: datetime | None = None,
) -> list[dict[str, Any]]:
    """Every record of ``stream`` modified since ``since`` (all when ``None``), every page read."""
    return [r for page in xero.pages(client, stream, tenant, since) for r in page]


def a_minute_ahead() -> datetime:
    return datetime.now(UTC) + timedelta(minutes=1)


def read_all_then_a_minute_ahead(
    xero: XeroConnector, stream: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every record of ``stream``, then those modified since a minute from now."""
    with xero.client() as client:
        tenant = xero.tenant_id(client)
        everything = records(xero, client, stream, tenant)
        return everything, records(xero, client, stream, tenant, a_minute_ahead())


def test_one_bad_invoice_does_not_fail_its_batch(
    box: Sandbox, xero: XeroConnector, wire: Counting
) -> None:
    who = contact(box)
    batch = [
        ("k1", xero_invoice("T-1", who)),
        ("k2", xero_invoice("T-2", who, description="")),
        ("k3", xero_invoice("T-3", who)),
    ]
    results = post_invoices(xero, batch)
    assert [type(r) for r in results] == [PostedInvoice, RecordError, PostedInvoice]
    refused = results[1]
    assert isinstance(refused, RecordError) and "Description cannot be empty" in str(refused)
    assert {i["InvoiceNumber"] for i in box.xero.invoices()} == {"T-1", "T-3"}
    (put,) = wire.writes()
    assert put.url.params["summarizeErrors"] == "false"
    assert put.headers["Idempotency-Key"] == batch_key(["k1", "k2", "k3"])
    assert len(orjson.loads(put.content)["Invoices"]) == 3


def test_a_lost_reply_is_retried_as_the_same_request_and_creates_nothing_twice(
    box: Sandbox, xero: XeroConnector, wire: Counting
) -> None:
    who = contact(box)
    box.xero.lose_next_response(1)
    results = post_invoices(
        xero, [("a", xero_invoice("L-1", who)), ("b", xero_invoice("L-2", who))]
    )
    assert all(isinstance(r, PostedInvoice) for r in results)
    assert sorted(i["InvoiceNumber"] for i in box.xero.invoices()) == ["L-1", "L-2"]
    first, second = wire.writes()
    assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"]
    assert first.content == second.content


def test_more_than_fifty_invoices_go_in_requests_of_fifty(
    box: Sandbox, xero: XeroConnector, wire: Counting
) -> None:
    who = contact(box)
    invoices = [(f"k{i}", xero_invoice(f"B-{i:03d}", who)) for i in range(55)]
    results = post_invoices(xero, invoices)
    assert len(results) == 55 and all(isinstance(r, PostedInvoice) for r in results)
    assert [len(orjson.loads(r.content)["Invoices"]) for r in wire.writes()] == [50, 5]
    assert [r.number for r in results] == [f"B-{i:03d}" for i in range(55)]  # type: ignore[union-attr]


def test_batch_keys_are_stable_bounded_and_order_free() -> None:
    assert batch_key(["p2c-inv_1"]) == "p2c-inv_1"
    many = [f"p2c-inv_{i}" for i in range(50)]
    assert batch_key(many) == batch_key(list(reversed(many)))
    assert batch_key(many) != batch_key(many[:49])
    assert len(batch_key(many)) <= 128
    assert len(batch_key(["x" * 300])) == 128


def test_find_invoices_looks_many_numbers_up_in_one_call(
    box: Sandbox, xero: XeroConnector, wire: Counting
) -> None:
    who = contact(box)
    with xero.client() as client:
        tenant = xero.tenant_id(client)
        xero.put_invoices(
            client, tenant, [("a", xero_invoice("F-1", who)), ("b", xero_invoice("F-2", who))]
        )
        before = len(wire.requests)
        found = xero.find_invoices(client, tenant, ["F-1", "F-2", "F-9"])
    assert set(found) == {"F-1", "F-2"} and len(wire.requests) == before + 1


def test_invoices_are_read_incrementally_and_map_to_canonical_invoices(
    box: Sandbox, xero: XeroConnector, wire: Counting
) -> None:
    who = contact(box)
    post_invoices(xero, [("a", xero_invoice("I-1", who))])
    everything, later = read_all_then_a_minute_ahead(xero, "invoices")
    assert [r["InvoiceNumber"] for r in everything] == ["I-1"] and later == []
    assert "If-Modified-Since" in wire.requests[-1].headers
    invoice = to_invoice(everything[0])
    assert invoice.number == "I-1" and invoice.total == Decimal("375.00")
    assert invoice.status == "posted" and invoice.amount_due == Decimal("375.00")
    assert invoice.updated_at.tzinfo is UTC


def test_contacts_map_to_customers(box: Sandbox, xero: XeroConnector) -> None:
    with xero.client() as client:
        tenant = xero.tenant_id(client)
        raw = records(xero, client, "contacts", tenant)
    customers = [to_customer(r) for r in raw]
    assert customers and all(c.source == "xero" for c in customers)


def test_every_accounting_call_is_paced_per_tenant(box: Sandbox, xero: XeroConnector) -> None:
    with xero.client() as client:
        tenant = xero.tenant_id(client)
        xero.find_invoices(client, tenant, ["nothing"])
        xero.find_customer(client, tenant, "nobody")
    pacer = xero.pacers.get(tenant)
    assert pacer.admitted == 2 and pacer.concurrency == 5


def test_ms_json_dates() -> None:
    assert parse_ms_date("/Date(1539993600000+0000)/") == datetime(2018, 10, 20, tzinfo=UTC)
    assert parse_ms_date("/Date(1552326816230)/") == datetime(
        2019, 3, 11, 17, 53, 36, 230000, tzinfo=UTC
    )
    assert parse_ms_date("/Date(-86400000+0000)/") == datetime(1969, 12, 31, tzinfo=UTC)
    assert parse_ms_date("2018-10-20") is None and parse_ms_date(None) is None


def credit_note(number: str, contact_id: str, *, amount: str = "150") -> dict[str, Any]:
    line = InvoiceLine(
        description="Correction",
        quantity=Decimal(1),
        unit_amount=Decimal(amount),
        amount=Decimal(amount),
    )
    return credit_note_body(
        number=number,
        contact_id=contact_id,
        issued=date(2026, 11, 25),
        currency="USD",
        lines=[line],
        account_code="200",
        reference="P2C-202610-ACME",
    )


def test_credit_notes_are_put_in_batches_with_per_note_outcomes(
    box: Sandbox, xero: XeroConnector, wire: Counting
) -> None:
    who = contact(box)
    stranger = "5b96e86b-418e-48e8-8949-308c14aec278"
    notes = [
        ("p2c-cn-1", credit_note("CN-1", who)),
        ("p2c-cn-2", credit_note("CN-2", stranger)),
        ("p2c-cn-3", credit_note("CN-3", who, amount="75.5")),
    ]
    with xero.client() as client:
        tenant = xero.tenant_id(client)
        results = xero.put_credit_notes(client, tenant, notes)
    assert [type(r) for r in results] == [PostedCreditNote, RecordError, PostedCreditNote]
    first, refused, third = results
    assert isinstance(first, PostedCreditNote) and first.status == "AUTHORISED"
    assert isinstance(third, PostedCreditNote) and third.total == Decimal("75.5")
    assert isinstance(refused, RecordError) and "could not be found" in str(refused)
    stored = {n["CreditNoteNumber"]: n for n in box.xero.credit_notes()}
    assert (
        set(stored) == {"CN-1", "CN-3"} and stored["CN-1"]["CreditNoteID"] == first.credit_note_id
    )
    (put,) = wire.writes()
    assert put.method == "PUT" and put.url.path.endswith("/CreditNotes")
    assert put.url.params["summarizeErrors"] == "false"
    assert put.headers["xero-tenant-id"] == tenant
    assert put.headers["Idempotency-Key"] == batch_key(["p2c-cn-1", "p2c-cn-2", "p2c-cn-3"])
    assert orjson.loads(put.content)["CreditNotes"][0]["Type"] == "ACCRECCREDIT"


def test_a_lost_credit_note_reply_is_retried_and_creates_nothing_twice(
    box: Sandbox, xero: XeroConnector, wire: Counting
) -> None:
    who = contact(box)
    box.xero.lose_next_response(1)
    results = post_credit_notes(xero, [("k", credit_note("CN-L", who))])
    assert all(isinstance(r, PostedCreditNote) for r in results)
    assert [n["CreditNoteNumber"] for n in box.xero.credit_notes()] == ["CN-L"]
    first, second = wire.writes()
    assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"] == "k"


def test_credit_notes_are_read_incrementally(box: Sandbox, xero: XeroConnector) -> None:
    who = contact(box)
    post_credit_notes(xero, [("a", credit_note("CN-R1", who))])
    everything, none = read_all_then_a_minute_ahead(xero, "credit_notes")
    assert [r["CreditNoteNumber"] for r in everything] == ["CN-R1"] and none == []
    assert parse_ms_date(everything[0]["UpdatedDateUTC"]) is not None


def test_payments_are_read_incrementally_page_by_page_and_mapped(
    box: Sandbox, wire: Counting
) -> None:
    xero = XeroConnector(XeroSettings(page_size=2), transport=wire, policy=FAST)
    who = contact(box)
    with xero.client() as client:
        tenant = xero.tenant_id(client)
        (posted,) = xero.put_invoices(client, tenant, [("p", xero_invoice("PAY-1", who))])  # 375.00
        assert isinstance(posted, PostedInvoice)
        start = datetime.now(UTC).replace(microsecond=0)
        for amount, day in ((Decimal("100.5"), 20), (Decimal("74.5"), 22), (Decimal("200"), 24)):
            box.xero.record_payment(tenant, posted.invoice_id, amount, date(2026, 11, day))
        before = len(wire.requests)
        raw = records(xero, client, "payments", tenant, start)
        none = records(xero, client, "payments", tenant, a_minute_ahead())
    assert len(raw) == 3 and none == []
    reads = wire.requests[before:]
    assert [r.url.params["page"] for r in reads[:2]] == ["1", "2"]
    assert reads[0].headers["If-Modified-Since"] == start.strftime("%Y-%m-%dT%H:%M:%S")
    payments = [to_payment(r) for r in raw]
    assert [p.amount for p in payments] == [Decimal("100.50"), Decimal("74.50"), Decimal("200.00")]
    assert payments[0].received_on == date(2026, 11, 20) and payments[0].currency == "USD"
    assert {p.invoice_id for p in payments} == {to_invoice(box.xero.invoices()[0]).id}
    (invoice,) = box.xero.invoices()
    assert invoice["Status"] == "PAID" and invoice["AmountDue"] == 0


# --- replies the emulator never gives: strict mock transports -----------------------------------

Handler = Callable[[httpx.Request], httpx.Response]


def mocked(*handlers: Handler) -> tuple[XeroConnector, list[httpx.Request]]:
    """A connector whose every call must be answered by the next handler, in order."""
    seen: list[httpx.Request] = []
    queue = list(handlers)

    def route(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/token"):
            return httpx.Response(200, json={"access_token": "t", "expires_in": 1800})
        seen.append(request)
        if not queue:
            raise AssertionError(f"unexpected call {request.method} {request.url}")
        return queue.pop(0)(request)

    settings = XeroSettings(tenant_id="tenant-1")
    return XeroConnector(settings, transport=httpx.MockTransport(route), policy=FAST), seen


def test_a_whole_batch_refusal_refuses_the_named_invoice_and_resends_the_rest() -> None:
    """Should Xero summarise errors anyway (400 for the batch, nothing saved), the invoice it
    names is refused with its reasons and the others go again, without it."""

    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            400,
            json={
                "ErrorNumber": 10,
                "Type": "ValidationException",
                "Message": "A validation exception occurred",
                "Elements": [
                    {"InvoiceNumber": "W-2", "ValidationErrors": [{"Message": "Bad account"}]}
                ],
            },
        )

    def accept(request: httpx.Request) -> httpx.Response:
        sent = orjson.loads(request.content)["Invoices"]
        assert [i["InvoiceNumber"] for i in sent] == ["W-1", "W-3"]
        return httpx.Response(
            200, json={"Invoices": [{**i, "InvoiceID": f"id-{i['InvoiceNumber']}"} for i in sent]}
        )

    connector, seen = mocked(refuse, accept)
    batch = [
        ("a", xero_invoice("W-1", "c")),
        ("b", xero_invoice("W-2", "c")),
        ("c", xero_invoice("W-3", "c")),
    ]
    with connector.client() as client:
        results = connector.put_invoices(client, "tenant-1", batch)
    assert [type(r) for r in results] == [PostedInvoice, RecordError, PostedInvoice]
    assert "Bad account" in str(results[1])
    assert seen[0].headers["Idempotency-Key"] != seen[1].headers["Idempotency-Key"]


def test_a_refusal_naming_nobody_refuses_the_whole_batch() -> None:
    connector, _ = mocked(lambda r: httpx.Response(400, json={"Message": "Bad request"}))
    with connector.client() as client:
        results = connector.put_invoices(
            client, "tenant-1", [("a", xero_invoice("X-1", "c")), ("b", xero_invoice("X-2", "c"))]
        )
    assert all(isinstance(r, RecordError) and "Bad request" in str(r) for r in results)


def test_every_organisation_of_the_connection_is_listed() -> None:
    with Sandbox(7, today=date(2026, 11, 25), entities=2) as box:
        xero = XeroConnector(XeroSettings(), transport=box.transports()["xero"], policy=FAST)
        with xero.client() as client:
            tenants = xero.tenants(client)
            first = xero.tenant_id(client)
    assert [(t.tenant_id, t.name) for t in tenants] == [
        (e.xero_tenant_id, e.name) for e in box.world.legal_entities
    ]
    assert first == tenants[0].tenant_id


def test_a_credit_note_is_found_by_number_and_allocated_to_its_invoice(
    box: Sandbox, xero: XeroConnector
) -> None:
    who = contact(box)
    with xero.client() as client:
        tenant = xero.tenant_id(client)
        (invoice,) = xero.put_invoices(client, tenant, [("inv-a1", xero_invoice("INV-A1", who))])
        assert isinstance(invoice, PostedInvoice)
        xero.put_credit_notes(client, tenant, [("cn-a1", credit_note("CN-A1", who, amount="100"))])
        xero.put_credit_notes(client, tenant, [("cn-a2", credit_note("CN-A2", who))])
        found = xero.find_credit_notes(client, tenant, ["CN-A1", "CN-MISSING"])
        assert set(found) == {"CN-A1"} and found["CN-A1"].remaining_credit == Decimal(100)
        note = found["CN-A1"].credit_note_id
        on = date(2026, 11, 25)
        applied = xero.apply_credit_note(
            client,
            tenant,
            CreditApplication("a", note, invoice.invoice_id, Decimal(100), on),
        )
        with pytest.raises(RecordError, match="remaining credit"):
            xero.apply_credit_note(
                client,
                tenant,
                CreditApplication("b", note, invoice.invoice_id, Decimal(1), on),
            )
        after = xero.find_credit_notes(client, tenant, ["CN-A1"])["CN-A1"]
    assert applied == Decimal(100) and after.remaining_credit == 0 and after.status == "PAID"
    stored = next(i for i in box.xero.invoices() if i["InvoiceNumber"] == "INV-A1")
    assert Decimal(str(stored["AmountDue"])) == invoice.total - 100
