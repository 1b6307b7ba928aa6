"""The flows talk to ``collectors.erp.Erp``, never to a vendor: a legal entity mapped to a second
ERP (a tiny in-memory one here) gets its invoices, customers, refusals, status and payments
there, with cursors and cross-references of its own, while the other entities' stay in Xero."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import ClassVar

import httpx
import pytest
from sqlalchemy import Engine, select, update

from collectors.entities import Customer, Invoice, Payment, canonical_id
from collectors.erp import (
    Company,
    CreditApplication,
    CreditNoteDocument,
    CustomerDocument,
    Erp,
    InvoiceDocument,
    PostedCreditNote,
    PostedInvoice,
    Raw,
)
from collectors.errors import RecordError
from collectors.http import VendorClient
from sandbox.server import Sandbox
from sync.engine import Engine as SyncEngine
from sync.settings import Settings
from sync.settings_erp import EntityBooks, ErpSettings
from sync.store.db import session_factory
from sync.store.repo import get_cursor
from sync.store.tables import (
    CustomerRow,
    ExceptionRow,
    InvoiceRow,
    OutboxRow,
    PaymentRow,
    XrefRow,
)
from tests.sync import sandboxed
from tests.sync.sandboxed import FAST, TODAY

UK_BOOKS = "sub-uk"


class LedgerErp:
    """An ERP held in memory, as the protocol sees one: companies by id, customers, invoices by
    number (each created at most once per number), payments; ``refuse`` names invoices it
    refuses."""

    name: ClassVar[str] = "netsuite"
    label: ClassVar[str] = "NetSuite"
    record_ids: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "customer": ("id",),
        "invoice": ("id",),
        "payment": ("id",),
    }

    def __init__(self, companies: dict[str, str]) -> None:
        self.names = companies
        self.customers: dict[str, dict[str, Raw]] = {c: {} for c in companies}
        self.invoices: dict[str, dict[str, Raw]] = {c: {} for c in companies}
        self.payments: dict[str, list[Raw]] = {c: [] for c in companies}
        self.refuse: set[str] = set()

    @property
    def max_batch(self) -> int:
        return 3

    def client(self) -> VendorClient:
        return VendorClient(vendor=self.name, policy=FAST, pacing=lambda request: None)

    def companies(self, client: httpx.Client) -> list[Company]:
        return [Company(i, n) for i, n in self.names.items()]

    def customer_pages(self, client: httpx.Client, company: str) -> Iterator[list[Raw]]:
        yield list(self.customers[company].values())

    def to_customer(self, raw: Raw) -> Customer | None:
        return Customer(
            id=canonical_id(self.name, "customer", raw["id"]),
            source=self.name,
            source_id=raw["id"],
            updated_at=raw["updated"],
            name=raw["name"],
            currency=raw["currency"],
        )

    def find_customer(self, client: httpx.Client, company: str, name: str) -> str | None:
        found = [c["id"] for c in self.customers[company].values() if c["name"] == name]
        return found[0] if found else None

    def create_customer(
        self, client: httpx.Client, company: str, customer: CustomerDocument
    ) -> str:
        made = {"id": f"C-{customer.key}", "name": customer.name, "currency": customer.currency}
        self.customers[company].setdefault(made["id"], {**made, "updated": _now()})
        return made["id"]

    def find_invoices(
        self, client: httpx.Client, company: str, numbers: Sequence[str]
    ) -> dict[str, PostedInvoice]:
        held = self.invoices[company]
        return {n: _posted(held[n]) for n in numbers if n in held}

    def post_invoices(
        self, client: httpx.Client, company: str, invoices: Sequence[InvoiceDocument]
    ) -> list[PostedInvoice | RecordError]:
        outcomes: list[PostedInvoice | RecordError] = []
        for doc in invoices:
            number = doc.invoice.number
            if number in self.refuse:
                why = "Subsidiary is closed for posting"
                outcomes.append(RecordError(f"netsuite refused {number}", details=why))
                continue
            raw = self.invoices[company].setdefault(
                number,
                {
                    "id": f"NS-{number}",
                    "invoice": doc.invoice,
                    "customer": doc.customer_ref,
                    "amount_due": doc.invoice.total,
                    "updated": _now(),
                },
            )
            outcomes.append(_posted(raw))
        return outcomes

    def find_credit_notes(
        self, client: httpx.Client, company: str, numbers: Sequence[str]
    ) -> dict[str, PostedCreditNote]:
        return {}

    def post_credit_notes(
        self, client: httpx.Client, company: str, notes: Sequence[CreditNoteDocument]
    ) -> list[PostedCreditNote | RecordError]:
        return [RecordError("credit notes are not kept here") for _ in notes]

    def apply_credit_note(
        self, client: httpx.Client, company: str, application: CreditApplication
    ) -> Decimal:
        raise RecordError("credit notes are not kept here")

    def invoice_pages(
        self, client: httpx.Client, company: str, since: datetime | None
    ) -> Iterator[list[Raw]]:
        yield [r for r in self.invoices[company].values() if since is None or r["updated"] >= since]

    def to_invoice(self, raw: Raw) -> Invoice | None:
        invoice: Invoice = raw["invoice"]
        return invoice.model_copy(
            update={
                "id": canonical_id(self.name, "invoice", raw["id"]),
                "source": self.name,
                "source_id": raw["id"],
                "updated_at": raw["updated"],
                "status": "paid" if raw["amount_due"] == 0 else "posted",
                "amount_due": raw["amount_due"],
            }
        )

    def payment_pages(
        self, client: httpx.Client, company: str, since: datetime | None
    ) -> Iterator[list[Raw]]:
        yield [p for p in self.payments[company] if since is None or p["updated"] >= since]

    def to_payments(self, raw: Raw) -> list[Payment]:
        return [
            Payment(
                id=canonical_id(self.name, "payment", raw["id"]),
                source=self.name,
                source_id=raw["id"],
                updated_at=raw["updated"],
                invoice_id=raw["invoice_id"],
                received_on=raw["on"],
                amount=raw["amount"],
                currency=raw["currency"],
            )
        ]

    def pay_in_full(self, company: str, number: str) -> None:
        raw = self.invoices[company][number]
        paid = {"amount": raw["amount_due"], "currency": raw["invoice"].currency, "on": TODAY}
        self.payments[company].append(
            {"id": f"P-{number}", "invoice_id": raw["id"], "updated": _now(), **paid}
        )
        raw.update(amount_due=Decimal(0), updated=_now())


def _now() -> datetime:
    return datetime.now(UTC)


def _posted(raw: Raw) -> PostedInvoice:
    invoice: Invoice = raw["invoice"]
    return PostedInvoice(raw["id"], invoice.number, "open", invoice.total, raw["amount_due"])


def test_the_ledger_is_an_erp() -> None:
    assert isinstance(LedgerErp({}), Erp)


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """The tiny firm with two legal entities: Globex Logistics is billed by the UK entity."""
    with Sandbox(seed=7, today=TODAY, entities=2) as box:
        yield box


def two_erps(box: Sandbox, store: Engine) -> tuple[SyncEngine, LedgerErp]:
    """An engine whose UK entity keeps its books in the ledger (company ``sub-uk``), the rest
    in Xero, with every customer's legal entity set as the CRM has it."""
    uk = box.world.legal_entities[1].name
    ledger = LedgerErp({UK_BOOKS: "Meridian UK (NetSuite)", "sub-us": "Another subsidiary"})
    engine = sandboxed.engine_for(box, store)
    mapped = ErpSettings(entities={uk: EntityBooks(erp="netsuite", company=UK_BOOKS)})
    # the settings would refuse an ERP with no section: the ledger has none, so it is added as
    # the registry adds a configured one, beside Xero
    engine.context.settings = Settings(database_url=str(store.url)).model_copy(
        update={"erp": mapped}
    )
    engine.context.erps = {**engine.context.erps, "netsuite": ledger}
    sandboxed.run(engine, ("reference", "billable", "invoicing"))
    names = {e.id: e.name for e in box.world.legal_entities}
    with engine.context.sessions.begin() as s:
        for c in box.world.customers:
            entity = names[c.legal_entity_id]
            s.execute(
                update(CustomerRow).where(CustomerRow.name == c.name).values(legal_entity=entity)
            )
    return engine, ledger


def entity_of_invoices(box: Sandbox, store: Engine) -> dict[str, str]:
    """Invoice number → the legal entity of its customer, from the world's truth."""
    entity = {c.name: c.legal_entity_id for c in box.world.customers}
    names = {e.id: e.name for e in box.world.legal_entities}
    with session_factory(store)() as s:
        rows = s.execute(
            select(InvoiceRow.number, CustomerRow.name).join(
                CustomerRow, CustomerRow.id == InvoiceRow.customer_id
            )
        ).all()
    return {number: names[entity[name]] for number, name in rows}


def test_an_entity_mapped_to_another_erp_gets_its_invoices_there(
    sandbox: Sandbox, store: Engine
) -> None:
    engine, ledger = two_erps(sandbox, store)
    assert engine.run_flow("outbox").status == "succeeded"
    uk, us = (e.name for e in reversed(sandbox.world.legal_entities))
    entity = entity_of_invoices(sandbox, store)
    in_xero = {
        i["InvoiceNumber"]: t for t in sandbox.xero.tenant_ids for i in sandbox.xero.invoices(t)
    }
    assert set(ledger.invoices[UK_BOOKS]) == {n for n, e in entity.items() if e == uk} != set()
    assert set(in_xero) == {n for n, e in entity.items() if e == us} != set()
    assert set(in_xero.values()) == {sandbox.world.legal_entities[0].xero_tenant_id}
    assert ledger.invoices["sub-us"] == {}
    with session_factory(store)() as s:
        totals = dict(s.execute(select(InvoiceRow.number, InvoiceRow.total)).all())
        items = s.scalars(select(OutboxRow)).all()
        linked = set(s.execute(select(XrefRow.system, XrefRow.external_id)).all())
    assert {n: raw["invoice"].total for n, raw in ledger.invoices[UK_BOOKS].items()} == {
        n: Decimal(totals[n]) for n in ledger.invoices[UK_BOOKS]
    }
    assert {i.status for i in items} == {"delivered"}
    for item in items:  # each item keeps its route, and names its ERP
        erp = "netsuite" if item.payload["company"] == UK_BOOKS else "xero"
        assert (item.payload["erp"], item.system) == (erp, erp)
    customer = next(iter(ledger.customers[UK_BOOKS]))
    assert ("netsuite", customer) in linked and ("netsuite_org", f"{UK_BOOKS}:{customer}") in linked
    assert {("netsuite", raw["id"]) for raw in ledger.invoices[UK_BOOKS].values()} <= linked


def test_a_refusal_names_the_erp_that_refused(sandbox: Sandbox, store: Engine) -> None:
    engine, ledger = two_erps(sandbox, store)
    uk = sandbox.world.legal_entities[1].name
    refused = next(n for n, e in entity_of_invoices(sandbox, store).items() if e == uk)
    ledger.refuse.add(refused)
    engine.run_flow("outbox")
    with session_factory(store)() as s:
        (problem,) = s.scalars(
            select(ExceptionRow).where(ExceptionRow.category == "erp_rejected")
        ).all()
    assert problem.reason == (
        f"NetSuite refused invoice {refused}: Subsidiary is closed for posting. "
        "Fix the data and replay."
    )
    assert refused not in ledger.invoices[UK_BOOKS]


def test_status_back_reads_each_erp_with_cursors_of_its_own(
    sandbox: Sandbox, store: Engine
) -> None:
    engine, ledger = two_erps(sandbox, store)
    engine.run_flow("outbox")
    paid = next(iter(ledger.invoices[UK_BOOKS]))
    ledger.pay_in_full(UK_BOOKS, paid)
    assert engine.run_flow("status_back").status == "succeeded"
    with session_factory(store)() as s:
        row = s.scalars(select(InvoiceRow).where(InvoiceRow.number == paid)).one()
        payments = s.scalars(select(PaymentRow)).all()
        cursors = {
            (system, stream): get_cursor(s, system, stream)
            for system in ("netsuite", "xero")
            for stream in (f"invoices:{UK_BOOKS}", f"payments:{UK_BOOKS}")
        }
    assert (row.status, Decimal(row.amount_due)) == ("paid", 0)
    assert [(p.source, p.invoice_id, Decimal(p.amount)) for p in payments] == [
        ("netsuite", row.id, Decimal(row.total))
    ]
    assert cursors[("netsuite", f"invoices:{UK_BOOKS}")] is not None
    assert cursors[("netsuite", f"payments:{UK_BOOKS}")] is not None
    assert cursors[("xero", f"invoices:{UK_BOOKS}")] is None


def test_an_item_routed_to_an_erp_no_longer_configured_is_held_not_moved(
    sandbox: Sandbox, store: Engine
) -> None:
    engine, _ = two_erps(sandbox, store)
    with engine.context.sessions.begin() as s:
        item = s.scalars(select(OutboxRow).order_by(OutboxRow.id)).first()
        assert item is not None
        item.payload = {**item.payload, "erp": "oracle_fusion", "company": "BU-1"}
        held = item.id
    engine.run_flow("outbox")
    with session_factory(store)() as s:
        item = s.get(OutboxRow, held)
        problems = s.scalars(
            select(ExceptionRow).where(ExceptionRow.category == "no_legal_entity")
        ).all()
    assert item is not None and item.status == "failed"
    assert [p.payload["outbox_id"] for p in problems] == [held]
    assert "oracle_fusion company BU-1, which is no longer configured" in problems[0].reason
