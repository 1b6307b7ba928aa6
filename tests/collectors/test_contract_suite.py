"""One contract suite over every connector, against the sandbox emulators.

Each connector plugs in through one small ``Adapter`` entry (see ``ADAPTERS``): how to build it on
a sandbox, which streams it reads, how a raw record becomes a canonical entity, where the cursor
is, and which secrets must never show. The suite then checks, for every stream: paging terminates
within the pages the record count requires; every record becomes a valid canonical entity (or a
per-record ``SchemaDriftError``); the cursor parses and never goes backwards; a second incremental
run with no changes reads nothing new; and no secret reaches the logs (httpx's included) or the
spans.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol, TypeVar

import httpx
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import SecretStr, ValidationError

from collectors import (
    bamboohr,
    dynamics365,
    harvest,
    kantata,
    netsuite,
    oracle_fusion,
    salesforce,
    xero,
)
from collectors.entities import Entity
from collectors.erp import Erp, PostedInvoice
from collectors.errors import RecordError, SchemaDriftError
from collectors.http import RetryPolicy
from collectors.kantata.mapping import to_project
from collectors.timestamps import parse_utc
from sandbox.server import Sandbox
from sandbox.world.catalog import ERPS
from tests.collectors.records import erp_invoice, xero_invoice

TODAY = date(2026, 11, 25)
FAST = RetryPolicy(attempts=3, initial=0.001, maximum=0.01, jitter=0.0)


class Connector(Protocol):
    def client(self) -> httpx.Client: ...


C = TypeVar("C", bound=Connector)
Pages = Callable[[str, datetime | None], Iterator[list[dict[str, Any]]]]


@dataclass
class Reader:
    """A connector opened on a sandbox: what the suite needs to drive and judge it."""

    pages: Pages
    normalize: dict[str, Callable[[dict[str, Any]], Entity]]  # stream → raw → entity
    cursor: Callable[[dict[str, Any]], datetime | None]
    key: dict[str, str]
    page_size: int
    secrets: list[str]
    planted: set[Any] = field(default_factory=set)  # ids the sandbox made invalid on purpose
    close: Callable[[], None] = lambda: None
    seen_headers: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Adapter:
    """One connector in the suite: its name, the streams to check, how to open it on a sandbox."""

    name: str
    streams: tuple[str, ...]
    open: Callable[[Sandbox], Reader]


class Watching(httpx.BaseTransport):
    """Passes requests through and remembers credential headers, so that tokens issued during
    the run (not only configured secrets) are looked for in logs and spans too."""

    def __init__(self, inner: httpx.BaseTransport, into: list[str]) -> None:
        self.inner, self.into = inner, into

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        auth = request.headers.get("Authorization", "")
        if auth:
            self.into.append(auth.split(" ", 1)[-1])
        return self.inner.handle_request(request)


def watched(
    box: Sandbox, vendor: str, make: Callable[..., C], settings: Any
) -> tuple[C, httpx.Client, dict[str, Any]]:
    """A connector ``make(settings)`` on the sandbox's ``vendor``, behind :class:`Watching`; its
    open client; and the ``Reader`` fields that close it and list the credentials it sent."""
    seen: list[str] = []
    connector = make(settings, transport=Watching(box.transports()[vendor], seen), policy=FAST)
    client = connector.client()
    return connector, client, {"close": client.close, "seen_headers": seen}


def open_harvest(box: Sandbox) -> Reader:
    settings = harvest.HarvestSettings(per_page=50)
    connector, client, wiring = watched(box, "harvest", harvest.HarvestConnector, settings)
    return Reader(
        pages=lambda stream, since: connector.pages(client, stream, since),
        normalize={
            "clients": harvest.to_customer,
            "projects": lambda raw: harvest.to_project_and_contract(raw)[0],
            "users": harvest.to_resource,
            "user_assignments": harvest.to_assignment,
            "time_entries": harvest.to_time_entry,
        },
        cursor=lambda raw: harvest.parse_datetime(raw.get("updated_at")),
        key={name: "id" for name in connector.streams},
        page_size=50,
        secrets=[settings.token.get_secret_value()],
        planted=set(box.firm.faults),
        **wiring,
    )


def open_xero(box: Sandbox) -> Reader:
    settings = xero.XeroSettings(page_size=3)
    connector, client, wiring = watched(box, "xero", xero.XeroConnector, settings)
    tenant = connector.tenant_id(client)
    contact = str(box.xero.contacts()[0]["ContactID"])
    invoices = [(f"k{n}", xero_invoice(f"CS-{n}", contact)) for n in range(7)]
    connector.put_invoices(client, tenant, invoices)  # the sandbox books start empty
    return Reader(
        pages=lambda stream, since: connector.pages(client, stream, tenant, since),
        normalize={"contacts": xero.to_customer, "invoices": xero.to_invoice},
        cursor=lambda raw: xero.parse_ms_date(raw.get("UpdatedDateUTC")),
        key={name: s.key for name, s in connector.streams.items()},
        page_size=3,
        secrets=[settings.client_secret.get_secret_value()],
        **wiring,
    )


def open_salesforce(box: Sandbox) -> Reader:
    settings = salesforce.SalesforceSettings(login_url=box.base_url("salesforce"), batch_size=200)
    connector, client, wiring = watched(box, "salesforce", salesforce.SalesforceConnector, settings)
    return Reader(
        pages=lambda stream, since: connector.pages(client, stream, since),
        normalize={"accounts": salesforce.to_customer, "contracts": salesforce.to_contract},
        cursor=salesforce.cursor_of,
        key={"accounts": "Id", "contracts": "Id"},
        page_size=200,
        secrets=[settings.client_secret.get_secret_value()],
        **wiring,
    )


def open_kantata(box: Sandbox) -> Reader:
    settings = kantata.KantataSettings(base_url=f"{box.base_url('kantata')}/api/v1", per_page=2)
    connector, client, wiring = watched(box, "kantata", kantata.KantataConnector, settings)
    context: dict[str, kantata.KantataPage] = {}  # record id → the page that side-loaded it

    def pages(stream: str, since: datetime | None) -> Iterator[list[dict[str, Any]]]:
        for page in connector.pages(client, stream, since):
            context.update({str(raw["id"]): page for raw in page.records})
            yield page.records

    return Reader(
        pages=pages,
        normalize={"workspaces": lambda raw: to_project(raw, context[str(raw["id"])])},
        cursor=lambda raw: harvest.parse_datetime(raw.get("updated_at")),
        key={"workspaces": "id"},
        page_size=2,
        secrets=[settings.token.get_secret_value()],
        **wiring,
    )


def open_bamboohr(box: Sandbox) -> Reader:
    settings = bamboohr.BambooHRSettings(
        base_url=f"{box.base_url('bamboohr')}/api/gateway.php/meridian/v1", page_limit=5
    )
    connector, client, wiring = watched(box, "bamboohr", bamboohr.BambooHRConnector, settings)
    return Reader(
        pages=lambda stream, since: connector.pages(client, stream, since),
        normalize={"employees": bamboohr.to_resource},
        cursor=lambda raw: datetime.fromisoformat(raw[bamboohr.LAST_CHANGED]),
        key={"employees": "employeeId"},
        page_size=5,
        secrets=[settings.api_key.get_secret_value()],
        **wiring,
    )


def open_dynamics365(box: Sandbox) -> Reader:
    settings = dynamics365.Dynamics365Settings(page_size=3)
    connector, client, wiring = watched(
        box, "dynamics365", dynamics365.Dynamics365Connector, settings
    )
    company = connector.companies(client)[0].company_id
    (first, *_) = next(iter(connector.customer_pages(client, company)))
    ref = dynamics365.qualified(company, first["CustomerAccount"])
    documents = [erp_invoice(f"CS-{n}", ref) for n in range(7)]
    posted = connector.post_invoices(client, company, documents)  # the tiny firm has no history
    emulator = box.emulators["dynamics365"]
    for done in posted[:4]:
        assert isinstance(done, PostedInvoice)
        local_id = dynamics365.local(company, done.invoice_id)
        emulator.record_payment(company, local_id, done.amount_due, TODAY)
    return Reader(
        pages=lambda stream, since: (
            connector.invoice_pages(client, company, since)
            if stream == "invoices"
            else connector.payment_pages(client, company, since)
        ),
        normalize={
            "invoices": sales_invoice(connector),
            "payments": lambda raw: connector.to_payments(raw)[0],
        },
        cursor=lambda raw: parse_utc(raw.get("SysModifiedDateTime")),
        key={"invoices": "Invoice", "payments": "Voucher"},
        page_size=3,
        secrets=[settings.client_secret.get_secret_value()],
        **wiring,
    )


def sales_invoice(connector: Erp) -> Callable[[dict[str, Any]], Entity]:
    """The ERP's reading of a raw invoice, which for an invoice plan2cash posted is never
    ``None`` (not a sales invoice)."""

    def read(raw: dict[str, Any]) -> Entity:
        invoice = connector.to_invoice(raw)
        assert invoice is not None, f"{raw!r} is not read as a sales invoice"
        return invoice

    return read


def open_oracle_fusion(box: Sandbox) -> Reader:
    settings = oracle_fusion.OracleFusionSettings(page_size=3)
    make = oracle_fusion.OracleFusionConnector
    connector, client, wiring = watched(box, "oracle_fusion", make, settings)
    company = connector.companies(client)[0].company_id
    customer = str(box.emulators["oracle_fusion"].accounts()[0]["PartyNumber"])
    invoices = [erp_invoice(f"CS-{n}", customer) for n in range(7)]
    posted = connector.post_invoices(client, company, invoices)  # the tiny firm has no history
    for result in posted[:4]:
        assert not isinstance(result, Exception), result
        box.emulators["oracle_fusion"].record_payment(
            company, result.invoice_id, Decimal("100.00"), TODAY
        )
    streams = {
        "customers": lambda since: connector.customer_pages(client, company),
        "invoices": lambda since: connector.invoice_pages(client, company, since),
        "payments": lambda since: connector.payment_pages(client, company, since),
    }
    return Reader(
        pages=lambda stream, since: streams[stream](since),
        normalize={
            "customers": oracle_fusion.to_customer,
            "invoices": sales_invoice(connector),
            "payments": lambda raw: oracle_fusion.to_payments(raw)[0],
        },
        cursor=lambda raw: parse_utc(raw.get("LastUpdateDate")),
        key={"customers": "PartyNumber", "invoices": "CustomerTransactionId",
             "payments": "StandardReceiptId"},
        page_size=3,
        secrets=[settings.password.get_secret_value()],
        **wiring,
    )  # fmt: skip


def open_netsuite(box: Sandbox) -> Reader:
    emulator = box.emulators["netsuite"]
    settings = netsuite.NetSuiteSettings(
        base_url=f"{box.base_url('netsuite')}/services/rest",
        token_url=f"{box.base_url('netsuite')}/services/rest/auth/oauth2/v1/token",
        certificate_id=emulator.certificate_id,
        private_key=SecretStr(emulator.private_key_pem),
        page_size=3,
    )
    connector, client, wiring = watched(box, "netsuite", netsuite.NetSuiteConnector, settings)
    company = connector.companies(client)[0].company_id
    customer = str(next(iter(connector.customer_pages(client, company)))[0]["id"])
    documents = [erp_invoice(f"CS-{n}", customer) for n in range(7)]
    posted = connector.post_invoices(client, company, documents)  # the tiny firm has no history
    first = posted[0]
    assert not isinstance(first, RecordError)
    emulator.record_payment(company, first.invoice_id, first.amount_due / 2, TODAY)
    streams = {
        "customers": lambda since: connector.customer_pages(client, company),
        "invoices": lambda since: connector.invoice_pages(client, company, since),
        "payments": lambda since: connector.payment_pages(client, company, since),
    }
    return Reader(
        pages=lambda stream, since: streams[stream](since),
        normalize={
            "customers": netsuite.to_customer,
            "invoices": sales_invoice(connector),
            "payments": lambda raw: netsuite.to_payments(raw)[0],
        },
        cursor=lambda raw: parse_utc(raw.get("lastModifiedDate")),
        key=dict.fromkeys(streams, "id"),
        page_size=3,
        secrets=[settings.private_key.get_secret_value()],
        **wiring,
    )


# One entry per connector.
ADAPTERS = [
    Adapter(
        "harvest",
        ("clients", "projects", "users", "user_assignments", "time_entries"),
        open_harvest,
    ),
    Adapter("xero", ("contacts", "invoices"), open_xero),
    Adapter("salesforce", ("accounts", "contracts"), open_salesforce),
    # the tiny firm has no milestones (all time-and-materials); Kantata's own tests map them
    Adapter("kantata", ("workspaces",), open_kantata),
    Adapter("bamboohr", ("employees",), open_bamboohr),
    # D365 customers have no modification time (no cursor): only invoices and payments fit
    Adapter("dynamics365", ("invoices", "payments"), open_dynamics365),
    Adapter("oracle_fusion", ("customers", "invoices", "payments"), open_oracle_fusion),
    Adapter("netsuite", ("customers", "invoices", "payments"), open_netsuite),
]
PARAMS = [
    pytest.param(adapter, stream, id=f"{adapter.name}-{stream}")
    for adapter in ADAPTERS
    for stream in adapter.streams
]


@pytest.fixture
def box() -> Iterator[Sandbox]:
    with Sandbox(7, today=TODAY, entities=len(ERPS), erps=ERPS) as sandbox:
        yield sandbox


def read(reader: Reader, stream: str, since: datetime | None) -> list[list[dict[str, Any]]]:
    pages: list[list[dict[str, Any]]] = []
    for page in reader.pages(stream, since):
        pages.append(page)
        assert len(pages) < 10_000, "paging does not terminate"
    return pages


@pytest.mark.parametrize(("adapter", "stream"), PARAMS)
def test_connector_contract(
    adapter: Adapter,
    stream: str,
    box: Sandbox,
    spans: InMemorySpanExporter,
    debug_logs: pytest.LogCaptureFixture,
) -> None:
    reader = adapter.open(box)
    try:
        first = read(reader, stream, None)
        records = [r for page in first for r in page]
        # paging terminates, with no more pages than the record count requires
        assert len(first) <= max(1, math.ceil(len(records) / reader.page_size)) + 1
        assert records, f"{adapter.name} {stream}: the sandbox should hold some records"
        # every record becomes a valid canonical entity, or a per-record schema drift
        for raw in records:
            try:
                entity = reader.normalize[stream](raw)
            except SchemaDriftError:
                continue
            except ValidationError:
                assert raw.get(reader.key[stream]) in reader.planted, f"{raw!r} is refused"
                continue
            except (KeyError, TypeError, ValueError) as exc:
                pytest.fail(f"{adapter.name} {stream} record {raw.get('id')!r} crashed: {exc!r}")
            assert isinstance(entity, Entity) and entity.source == adapter.name
        # the cursor parses, and the high-water mark is what the engine would store
        cursors = [reader.cursor(r) for r in records]
        assert all(c is not None and c.tzinfo is not None for c in cursors)
        high = max(c for c in cursors if c is not None)
        # a second incremental run with no changes reads nothing new
        key = reader.key[stream]
        known = {r[key] for r in records}
        second = [r for page in read(reader, stream, high) for r in page]
        assert {r[key] for r in second} <= known
        again = [reader.cursor(r) for r in second]
        assert all(c is not None and c <= high for c in again)
        assert max((c for c in again if c is not None), default=high) >= high or not second
    finally:
        reader.close()
    # no secret in logs or spans
    secrets = [s for s in {*reader.secrets, *reader.seen_headers} if s]
    assert secrets
    logged = "\n".join(f"{r.getMessage()} {r.args!r}" for r in debug_logs.records)
    attributes = " ".join(
        f"{s.name} {dict(s.attributes or {})}" for s in spans.get_finished_spans()
    )
    assert spans.get_finished_spans(), "vendor calls should leave spans"
    for secret in secrets:
        assert secret not in logged, f"{adapter.name}: a secret reached the logs"
        assert secret not in attributes, f"{adapter.name}: a secret reached a span"
