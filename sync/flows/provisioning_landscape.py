"""What the other systems hold when contracts are provisioned, read once per run: Harvest clients
and projects, Kantata workspaces, the ERP's customers per company (read when first needed), and
the cross-references that already link them, as natural-key indexes (``identity.Index``).

``Plan`` collects what one contract's provisioning writes, so that it is written in one
transaction at the end (``provisioning._save``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx
from sqlalchemy.orm import Session

from collectors import harvest
from collectors.entities import Project
from collectors.erp import Erp
from sync.books import Books, org_system
from sync.flows import identity, reference
from sync.flows.context import FlowContext
from sync.flows.unreadable import RecordKind, map_records
from sync.store.outbox import Route
from sync.store.repo import Problem


def customer_kind(erp: Erp) -> RecordKind:
    """An ERP's customer records, as their exceptions are keyed and named."""
    ids = erp.record_ids["customer"]
    return RecordKind(erp.name, "customer", f"{erp.label} customer", "customer", ids)


@dataclass
class Landscape:
    """What the other systems hold now, with natural-key indexes over external ids."""

    http: dict[str, httpx.Client]  # the run's client per system besides the ERPs
    books: Books  # which ERP company books a customer (its legal entity's), and their clients
    contacts: dict[Route, identity.Index]  # ERP customers per company, read when first needed
    contacts_taken: dict[str, set[str]]  # ERP → its customer ids linked to a customer of ours
    contacts_kept: dict[tuple[str, str], dict[str, str]]  # (customer, ERP) → company → its id
    clients: identity.Index
    client_ids: dict[str, str]  # Harvest-derived customer id → Harvest client id
    projects: identity.Index  # "client id:name" → Harvest project ids
    codes: dict[str, str | None]  # Harvest project id → its code
    workspaces: dict[str, list[Project]]  # canonical contract id → Kantata workspaces
    namesakes: identity.Index  # canonical customers by normalised name
    known: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    unreadable: list[Problem] = field(default_factory=list)  # ERP customers that cannot be read
    readable: list[str] = field(default_factory=list)  # the keys of those that can

    def contact_index(self, route: Route) -> identity.Index:
        """The active customers of ``route``'s company by normalised name."""
        if route not in self.contacts:
            books = self.books.at(route)
            pages = books.erp.customer_pages(books.client, route.company)
            raws = (raw for page in pages for raw in page)
            read = map_records(customer_kind(books.erp), raws, books.erp.to_customer)
            self.unreadable += read.problems
            self.readable += read.keys
            customers = [c for c in read.entities if c is not None and c.active]
            self.contacts[route] = identity.Index.of(
                (identity.normal_name(c.name), c.source_id) for c in customers
            )
            self.contacts[route].taken = self.contacts_taken.setdefault(route.erp, set())
        return self.contacts[route]

    def linked(self, entity_type: str, system: str) -> dict[str, str]:
        """canonical id → external id, for links of ``system`` (kept current during the run)."""
        return self.known.setdefault((entity_type, system), {})


@dataclass
class Plan:
    """What one contract's provisioning writes, in one transaction at the end."""

    links: list[tuple[str, str, str, str]] = field(default_factory=list)
    projects: list[dict[str, Any]] = field(default_factory=list)
    events: list[tuple[str, str, str, dict[str, Any]]] = field(default_factory=list)

    def link(self, entity_type: str, canonical: str, system: str, external: str) -> None:
        self.links.append((entity_type, canonical, system, external))


def read_landscape(
    ctx: FlowContext, session: Session, kantata: httpx.Client, time: httpx.Client, books: Books
) -> Landscape:
    # Harvest clients and projects that cannot be read are the reference flow's exceptions, and
    # Kantata workspaces the rate cards'; here they match nothing until fixed
    listed = (r for page in ctx.harvest.pages(time, "clients") for r in page)
    clients = map_records(reference.KINDS["clients"], listed, harvest.to_customer).entities
    client_ids = {c.id: c.source_id for c in clients}
    listed = (r for page in ctx.harvest.pages(time, "projects") for r in page)
    projects = [
        project
        for project, _ in map_records(
            reference.KINDS["projects"], listed, harvest.to_project_and_contract
        ).entities
    ]
    workspaces: dict[str, list[Project]] = {}
    for batch in ctx.kantata.projects(kantata):
        for workspace in batch.entities:
            workspaces.setdefault(workspace.contract_id, []).append(workspace)
    land = Landscape(
        http={"kantata": kantata, "harvest": time},
        books=books,
        contacts={},
        contacts_taken={erp: set(identity.xrefs(session, "customer", erp)) for erp in ctx.erps},
        contacts_kept=_kept_contacts(session, list(ctx.erps)),
        clients=identity.Index.of(
            ((identity.normal_name(c.name), c.source_id) for c in clients),
            identity.xrefs(session, "customer", "harvest"),
        ),
        client_ids=client_ids,
        projects=identity.Index.of(
            (
                (key, p.source_id)
                for p in projects
                for key in project_keys(client_ids.get(p.customer_id), p.name, p.start)
            ),
            identity.xrefs(session, "project", "harvest"),
        ),
        codes={p.source_id: p.code for p in projects},
        workspaces=workspaces,
        namesakes=identity.customer_index(session, "none"),
    )
    for entity_type, system in (("customer", "harvest"), *PROJECT_LINKS):
        pairs = identity.xrefs(session, entity_type, system)
        land.linked(entity_type, system).update({c: e for e, c in pairs.items()})
    return land


def _kept_contacts(session: Session, erps: list[str]) -> dict[tuple[str, str], dict[str, str]]:
    kept: dict[tuple[str, str], dict[str, str]] = {}
    for erp in erps:
        for pair, customer in identity.xrefs(session, "customer", org_system(erp)).items():
            company, _, contact = pair.partition(":")
            kept.setdefault((customer, erp), {})[company] = contact
    return kept


PROJECT_LINKS = (("customer", "salesforce"), ("project", "kantata"), ("project", "harvest"))


def project_keys(client_id: str | None, name: str, start: date | None) -> list[str]:
    """A Harvest project is found by client and name, and by start date too when one client
    has two projects of the same name (the same engagement sold twice)."""
    if not client_id:
        return []
    named = f"{client_id}:{identity.normal_name(name)}"
    return [named, f"{named}:{start}"]
