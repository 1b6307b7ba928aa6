"""What the other systems hold when contracts are provisioned, read once per run: Harvest clients
and projects, Kantata workspaces, Xero contacts per organisation (read when first needed), and
the cross-references that already link them, as natural-key indexes (``identity.Index``).

``Plan`` collects what one contract's provisioning writes, so that it is written in one
transaction at the end (``provisioning._save``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx
from sqlalchemy.orm import Session

from collectors import harvest, xero
from collectors.entities import Project
from sync import tenancy
from sync.flows import identity, reference
from sync.flows.context import FlowContext
from sync.flows.unreadable import RecordKind, map_records
from sync.store.repo import Problem
from sync.tenancy import Tenancy

CONTACT = RecordKind("xero", "contact", "Xero contact", "customer", ("ContactID",))


@dataclass
class Landscape:
    """What the other systems hold now, with natural-key indexes over external ids."""

    http: dict[str, httpx.Client]  # the run's client per system
    tenancy: Tenancy  # which Xero organisation books a customer (its legal entity's)
    contacts: dict[str, identity.Index]  # per organisation, read when first needed
    contacts_taken: set[str]
    contacts_kept: dict[str, dict[str, str]]  # customer → organisation → contact
    clients: identity.Index
    client_ids: dict[str, str]  # Harvest-derived customer id → Harvest client id
    projects: identity.Index  # "client id:name" → Harvest project ids
    codes: dict[str, str | None]  # Harvest project id → its code
    workspaces: dict[str, list[Project]]  # canonical contract id → Kantata workspaces
    namesakes: identity.Index  # canonical customers by normalised name
    known: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    unreadable: list[Problem] = field(default_factory=list)  # Xero contacts that cannot be read
    readable: list[str] = field(default_factory=list)  # the keys of those that can

    def contact_index(self, ctx: FlowContext, tenant: str) -> identity.Index:
        if tenant not in self.contacts:
            pages = ctx.xero.pages(self.http["xero"], "contacts", tenant)
            read = map_records(CONTACT, (raw for page in pages for raw in page), xero.to_customer)
            self.unreadable += read.problems
            self.readable += read.keys
            contacts = read.entities
            self.contacts[tenant] = identity.Index.of(
                ((identity.normal_name(c.name), c.source_id) for c in contacts if c.active),
            )
            self.contacts[tenant].taken = self.contacts_taken
        return self.contacts[tenant]

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
    ctx: FlowContext, session: Session, kantata: httpx.Client, time: httpx.Client, erp: httpx.Client
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
        http={"kantata": kantata, "harvest": time, "xero": erp},
        tenancy=Tenancy(ctx.xero, erp, ctx.settings.xero, ctx.sessions),
        contacts={},
        contacts_taken=set(identity.xrefs(session, "customer", "xero")),
        contacts_kept=_kept_contacts(session),
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


def _kept_contacts(session: Session) -> dict[str, dict[str, str]]:
    kept: dict[str, dict[str, str]] = {}
    for pair, customer in identity.xrefs(session, "customer", tenancy.ORG_SYSTEM).items():
        tenant, _, contact = pair.partition(":")
        kept.setdefault(customer, {})[tenant] = contact
    return kept


PROJECT_LINKS = (("customer", "salesforce"), ("project", "kantata"), ("project", "harvest"))


def project_keys(client_id: str | None, name: str, start: date | None) -> list[str]:
    """A Harvest project is found by client and name, and by start date too when one client
    has two projects of the same name (the same engagement sold twice)."""
    if not client_id:
        return []
    named = f"{client_id}:{identity.normal_name(name)}"
    return [named, f"{named}:{start}"]
