"""Posting per legal entity: each customer's invoices land in its legal entity's books, the ERP
and company ``[erp]`` maps it to (by configuration, by name, or where the ERP already keeps the
customer); a customer with no resolvable books is an exception with its value at risk, never a
wrong post. Here every entity's books are a Xero organisation; ``test_erps`` adds a second ERP."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from sqlalchemy import Engine, select, update

from sandbox.server import Sandbox
from sync.access import Identity, Role
from sync.engine import Engine as SyncEngine
from sync.replay import ExceptionFilter, replay
from sync.settings import Settings
from sync.settings_erp import EntityBooks, ErpSettings
from sync.store.db import session_factory
from sync.store.tables import CustomerRow, ExceptionRow, InvoiceRow, OutboxRow
from tests.sync import sandboxed
from tests.sync.sandboxed import TODAY


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """The tiny firm with two legal entities: Globex Logistics is billed by the UK entity."""
    with Sandbox(seed=7, today=TODAY, entities=2) as box:
        yield box


def engine_for(box: Sandbox, store: Engine, tenants: dict[str, str] | None = None) -> SyncEngine:
    """An engine whose ``[erp] entities`` map each of ``tenants``' entities to that Xero tenant."""
    entities = {name: EntityBooks(erp="xero", company=t) for name, t in (tenants or {}).items()}
    settings = Settings(database_url=str(store.url), erp=ErpSettings(entities=entities))
    return sandboxed.engine_for(box, store, settings=settings)


def invoice(engine: SyncEngine, legal_entities: dict[str, str | None]) -> None:
    """Invoices composed, with customers' legal entities as the CRM would have set them."""
    sandboxed.run(engine, ("reference", "billable", "invoicing"))
    with engine.context.sessions.begin() as s:
        for customer, entity in legal_entities.items():
            s.execute(
                update(CustomerRow).where(CustomerRow.name == customer).values(legal_entity=entity)
            )


def crm_entities(box: Sandbox) -> dict[str, str | None]:
    names = {e.id: e.name for e in box.world.legal_entities}
    return {c.name: names[c.legal_entity_id] for c in box.world.customers}


def where_posted(box: Sandbox) -> dict[str, str]:
    """Invoice number → the tenant that holds it."""
    return {i["InvoiceNumber"]: t for t in box.xero.tenant_ids for i in box.xero.invoices(t)}


def expected_tenants(box: Sandbox, store: Engine) -> dict[str, str]:
    """Invoice number → the tenant of its customer's legal entity, from the world's truth."""
    entity = {c.name: c.legal_entity_id for c in box.world.customers}
    tenant = {e.id: e.xero_tenant_id for e in box.world.legal_entities}
    with session_factory(store)() as s:
        rows = s.execute(
            select(InvoiceRow.number, CustomerRow.name).join(
                CustomerRow, CustomerRow.id == InvoiceRow.customer_id
            )
        ).all()
    return {number: tenant[entity[name]] for number, name in rows}


@pytest.mark.parametrize("known", ["from the CRM", "not at all"])
def test_invoices_land_in_their_legal_entitys_organisation(
    sandbox: Sandbox, store: Engine, known: str
) -> None:
    engine = engine_for(sandbox, store)
    entities = crm_entities(sandbox) if known == "from the CRM" else {}
    invoice(engine, entities)
    assert engine.run_flow("outbox").status == "succeeded"
    posted = where_posted(sandbox)
    assert posted == expected_tenants(sandbox, store)
    assert len(set(posted.values())) == 2 and len(posted) == len(sandbox.firm.expected_invoices())
    with session_factory(store)() as s:
        assert set(s.scalars(select(OutboxRow.status))) == {"delivered"}
        routes = {(p["erp"], p["company"]) for p in s.scalars(select(OutboxRow.payload))}
        systems = set(s.scalars(select(OutboxRow.system)))
    assert routes == {("xero", t) for t in sandbox.xero.tenant_ids} and systems == {"xero"}


def test_configuration_maps_an_entity_whose_name_differs(sandbox: Sandbox, store: Engine) -> None:
    uk = sandbox.world.legal_entities[1].xero_tenant_id
    # spelt as a person may copy it: the ERP's ids are matched as the ERP does, case aside
    engine = engine_for(sandbox, store, tenants={"Meridian UK": uk.upper()})
    invoice(engine, {**crm_entities(sandbox), "Globex Logistics": "Meridian UK"})
    engine.run_flow("outbox")
    assert where_posted(sandbox) == expected_tenants(sandbox, store)


def test_an_unresolvable_customer_is_an_exception_not_a_post(
    sandbox: Sandbox, store: Engine
) -> None:
    engine = engine_for(sandbox, store)
    invoice(engine, {**crm_entities(sandbox), "Globex Logistics": "Meridian Atlantis"})
    engine.run_flow("outbox")
    expected = expected_tenants(sandbox, store)
    with session_factory(store)() as s:
        held = s.scalars(select(InvoiceRow).where(InvoiceRow.status == "failed")).all()
        problems = s.scalars(
            select(ExceptionRow).where(ExceptionRow.category == "no_legal_entity")
        ).all()
    assert held and {p.entity_id for p in problems} == {i.id for i in held}
    assert all(p.flow == "outbox" and "Meridian Atlantis" in p.reason for p in problems)
    assert sorted(p.value_at_risk for p in problems) == sorted(Decimal(i.total) for i in held)
    assert where_posted(sandbox) == {
        n: t for n, t in expected.items() if n not in {i.number for i in held}
    }
    # the fix: map the entity, replay, and the invoices land in the UK organisation
    fixed = engine_for(sandbox, store, tenants={"Meridian Atlantis": sandbox.xero.tenant_ids[1]})
    report = replay(
        fixed.context,
        ExceptionFilter(category="no_legal_entity"),
        actor=Identity("test", Role.OPERATOR, "test"),
        reason="mapped",
    )
    assert {o.result for o in report.outcomes} == {"queued"}
    fixed.run_flow("outbox")
    assert where_posted(sandbox) == expected


def test_status_back_reads_every_organisation(sandbox: Sandbox, store: Engine) -> None:
    engine = engine_for(sandbox, store)
    invoice(engine, crm_entities(sandbox))
    engine.run_flow("outbox")
    uk = sandbox.world.legal_entities[1].xero_tenant_id
    paid = sandbox.xero.invoices(uk)[0]
    sandbox.xero.record_payment(uk, paid["InvoiceID"], Decimal(str(paid["AmountDue"])), TODAY)
    assert engine.run_flow("status_back").status == "succeeded"
    with session_factory(store)() as s:
        row = s.scalars(select(InvoiceRow).where(InvoiceRow.number == paid["InvoiceNumber"])).one()
    assert (row.status, row.amount_due) == ("paid", 0)


def test_an_item_routed_when_xero_was_the_only_erp_keeps_its_tenant(
    sandbox: Sandbox, store: Engine
) -> None:
    """Items routed before ``[erp]`` carry only ``tenant_id``: they go to that Xero tenant as
    routed then, never routed again (here every one to the first tenant, whatever its entity)."""
    engine = engine_for(sandbox, store)
    invoice(engine, crm_entities(sandbox))
    first = sandbox.xero.tenant_ids[0]
    with engine.context.sessions.begin() as s:
        for item in s.scalars(select(OutboxRow)):
            item.payload = {**item.payload, "tenant_id": first}
    assert engine.run_flow("outbox").status == "succeeded"
    posted = where_posted(sandbox)
    assert set(posted.values()) == {first}
    assert set(posted) == set(expected_tenants(sandbox, store))
    with session_factory(store)() as s:
        outcomes = {(i.status, i.system) for i in s.scalars(select(OutboxRow))}
    assert outcomes == {("delivered", "xero")}
