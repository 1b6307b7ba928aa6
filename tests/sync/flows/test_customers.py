"""Customer & contract flow against the sandbox: one canonical customer per real customer, known
from every system; provisioning of a new deal happens once; ambiguity is an exception."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from collectors.entities import canonical_id
from sandbox import server
from sandbox.server import Sandbox
from sandbox.vendors.kantata.projection import kantata_id
from sandbox.vendors.salesforce.records import account_id, contract_id, opportunity_id
from sandbox.vendors.xero_projection import contact_id
from sandbox.world.model import Customer, Opportunity, World
from sync.engine import Engine as SyncEngine
from sync.store.db import session_factory
from sync.store.tables import (
    BusinessEventRow,
    ContractRow,
    CustomerRow,
    ExceptionRow,
    ProjectRow,
    XrefRow,
)
from tests.sync import sandboxed
from tests.sync.sandboxed import TODAY, engine_for, xrefs

REFERENCE = ("customers", "people", "reference")


def run(engine: SyncEngine, flows: tuple[str, ...] = REFERENCE) -> None:
    sandboxed.run(engine, flows)


def test_one_canonical_customer_per_world_customer_known_in_every_system(
    sandbox: Sandbox, store: Engine
) -> None:
    run(engine_for(sandbox, store))
    world = sandbox.world
    links = xrefs(store, "customer")
    entities = {e.id: e for e in world.legal_entities}
    regions = {r.id: r.name for r in world.regions}
    with session_factory(store)() as s:
        rows = {c.id: c for c in s.scalars(select(CustomerRow))}
        projects = {p.id: p for p in s.scalars(select(ProjectRow))}
    assert sorted(c.name for c in rows.values()) == sorted(c.name for c in world.customers)
    for customer in world.customers:
        canonical = links[("salesforce", account_id(customer.id))]
        entity = entities[customer.legal_entity_id]
        assert links[("harvest", str(customer.id))] == canonical
        assert links[("xero", contact_id(entity, customer.id))] == canonical
        for project in (p for p in world.projects if p.customer_id == customer.id):
            assert links[("kantata", kantata_id("workspace", project.id))] == canonical
            row = projects[canonical_id("harvest", "project", project.id)]
            assert row.customer_id == canonical
            assert row.contract_id == canonical_id(
                "salesforce", "contract", contract_id(project.contract_id)
            )
        row = rows[canonical]  # the CRM's terms, not Harvest's defaults
        assert (row.legal_entity, row.payment_terms_days) == (
            entity.name,
            customer.payment_terms_days,
        )
        assert row.region == regions[customer.region_id] and row.source == "salesforce"
    for system in ("salesforce", "harvest", "xero"):
        per_customer = [cid for (sys, _), cid in links.items() if sys == system]
        assert sorted(per_customer) == sorted(rows), system


def test_second_run_changes_nothing_and_provisions_nothing(sandbox: Sandbox, store: Engine) -> None:
    engine = engine_for(sandbox, store)
    engine.run_once()

    def state() -> tuple[Any, ...]:
        with session_factory(store)() as s:
            counts = tuple(
                s.scalar(select(func.count()).select_from(table))
                for table in (CustomerRow, ContractRow, ProjectRow, XrefRow)
            )
            events = s.execute(
                select(BusinessEventRow.name, func.count()).group_by(BusinessEventRow.name)
            ).all()
        vendors = (
            len(sandbox.emulators["kantata"].workspaces()),
            len(sandbox.harvest.created("clients")),
            len(sandbox.harvest.created("projects")),
            len(sandbox.harvest.created("user_assignments")),
            len(sandbox.xero.contacts()),
        )
        return counts, sorted(events), vendors

    before = state()
    engine.run_once()
    assert state() == before
    assert before[2] == (len(sandbox.world.projects), 0, 0, 0, len(sandbox.world.customers))


NEW = 900


def _with_new_deal(world: World) -> None:
    """A customer the CRM just won, unknown to Harvest, Xero and Kantata: its contract is still a
    draft (no workspace, no project) until the test activates it."""
    model = world.customers[0]
    customer = replace(model, id=NEW, name="Initech Holdings", code="INIT", parent_id=None)
    won = Opportunity(NEW, NEW, "Initech — ERP rollout", Decimal(120000), customer.currency,
                      "Closed Won", TODAY - timedelta(days=3), True,
                      model.created_at, model.updated_at)  # fmt: skip
    contract = replace(
        world.contracts[0], id=NEW, customer_id=NEW, opportunity_id=NEW, number=f"{NEW:08d}",
        name="Initech ERP rollout", start=TODAY + timedelta(days=7),
        end=TODAY + timedelta(days=180), status="draft", activated_at=None,
    )  # fmt: skip
    world.customers.append(customer)
    world.opportunities.append(won)
    world.contracts.append(contract)


@pytest.fixture
def deal(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    """The tiny firm, where the new deal exists only in Salesforce (the emulators before it,
    the ERPs and Harvest, were built from the world without it)."""
    real, port = server.EMULATORS["salesforce"]

    def crm(world: World, **options: Any) -> Any:
        _with_new_deal(world)
        return real(world, **options)

    monkeypatch.setitem(server.EMULATORS, "salesforce", (crm, port))
    box = Sandbox(seed=7, today=TODAY)
    yield box
    box.stop()


def test_a_new_won_deal_is_provisioned_everywhere_exactly_once(
    deal: Sandbox, sqlite_store: Engine
) -> None:
    assert isinstance(deal.world.customers[-1], Customer)
    engine = engine_for(deal, sqlite_store)
    run(engine)  # the draft is not a contract yet: nothing is provisioned for it
    kantata = deal.emulators["kantata"]
    assert len(kantata.workspaces()) == len(deal.world.projects)
    assert deal.harvest.created("clients") == []
    deal.emulators["salesforce"].activate(contract_id(NEW))
    run(engine)
    run(engine)
    created = [w for w in kantata.workspaces() if w["title"] == "Initech ERP rollout"]
    assert len(created) == 1 and len(kantata.workspaces()) == len(deal.world.projects) + 1
    assert [c["name"] for c in deal.harvest.created("clients")] == ["Initech Holdings"]
    assert [p["name"] for p in deal.harvest.created("projects")] == ["Initech ERP rollout"]
    contacts = [c for c in deal.xero.contacts() if c["Name"] == "Initech Holdings"]
    assert len(contacts) == 1
    links = xrefs(sqlite_store, "customer")
    canonical = links[("salesforce", account_id(NEW))]
    assert links[("harvest", str(deal.harvest.created("clients")[0]["id"]))] == canonical
    assert links[("xero", contacts[0]["ContactID"])] == canonical
    assert links[("kantata", created[0]["id"])] == canonical
    project = canonical_id("harvest", "project", deal.harvest.created("projects")[0]["id"])
    with session_factory(sqlite_store)() as s:
        row = s.get(ProjectRow, project)
        events = s.execute(
            select(BusinessEventRow.name, func.count())
            .where(BusinessEventRow.name.in_(("opportunity.won", "contract.activated")))
            .where(BusinessEventRow.entity_id.in_((
                canonical_id("salesforce", "opportunity", opportunity_id(NEW)),
                canonical_id("salesforce", "contract", contract_id(NEW)),
            )))
            .group_by(BusinessEventRow.name)
        ).all()  # fmt: skip
        provisioned = s.scalar(
            select(func.count())
            .select_from(BusinessEventRow)
            .where(BusinessEventRow.name.in_(("customer.provisioned", "project.provisioned")))
        )
    assert row is not None and row.customer_id == canonical
    assert row.contract_id == canonical_id("salesforce", "contract", contract_id(NEW))
    assert sorted(events) == [("contract.activated", 1), ("opportunity.won", 1)]
    assert provisioned == 4  # Xero contact, Harvest client, Kantata workspace, Harvest project


def test_two_accounts_of_one_name_are_an_exception_not_a_guess(
    sandbox: Sandbox, sqlite_store: Engine
) -> None:
    first, second = sandbox.world.customers[:2]
    sandbox.emulators["salesforce"].update_account(account_id(second.id), Name=first.name)
    run(engine_for(sandbox, sqlite_store))
    with session_factory(sqlite_store)() as s:
        ambiguous = s.scalars(
            select(ExceptionRow).where(ExceptionRow.category == "identity_ambiguous")
        ).all()
    links = xrefs(sqlite_store, "customer")
    # Harvest's client of that name could be either account: it is linked to neither
    assert ("harvest", str(first.id)) not in links
    assert any(first.name in e.reason and e.flow == "reference" for e in ambiguous)
    assert all(e.status == "open" and e.reason for e in ambiguous)
    a, b = links[("salesforce", account_id(first.id))], links[("salesforce", account_id(second.id))]
    assert a != b
