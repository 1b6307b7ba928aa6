"""Which Xero organisation (tenant) a customer's documents go to: one per legal entity.

A firm has one Xero organisation per legal entity, and an invoice posted to the wrong one is a
wrong set of books, so a customer's tenant is resolved, most explicit first:

1. the legal entity of the customer (else of the contract's project) → the tenant configured for
   it in ``[xero] tenants``, else the organisation whose name is that legal entity's name
   (case and spacing aside). Configuration wins because organisation names drift ("Demo Company
   (UK)"); the name match is the default because it needs no setup where the CRM's legal entity
   is the organisation's legal name, as in the sandbox;
2. no legal entity on record: the only organisation, when the connection reaches one;
3. the organisation where plan2cash already keeps the customer's contact, else the one
   organisation holding a contact of exactly the customer's name (the ERP owns legal entities,
   and it already books this customer there).

Anything else is unresolvable, and the caller makes it a ``no_legal_entity`` exception rather
than a guess. Contacts are found or created in the resolved tenant (``Tenancy.contact``) and
remembered per tenant in the cross-reference map (system ``xero_org``, external id
``<tenant>:<contact>``) by ``remember``, in the caller's transaction.

A ``Tenancy`` reads the store (in sessions of its own, never writing) and the ERP; what it finds
that the store does not hold yet is handed back for the caller to write.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from collectors.xero import XeroConnector, XeroSettings, XeroTenant
from sync.store.repo import link
from sync.store.tables import CustomerRow, ProjectRow, XrefRow
from sync.telemetry import record_events

ORG_SYSTEM = "xero_org"


@dataclass(frozen=True)
class Resolution:
    """A tenant, or ``None`` with the reason a person can act on."""

    tenant_id: str | None
    reason: str


@dataclass(frozen=True)
class Contact:
    """A customer's contact in a tenant; ``new`` when the store does not remember it yet."""

    tenant_id: str
    contact_id: str
    new: bool


def _norm(name: str) -> str:
    return " ".join(name.casefold().split())


class Tenancy:
    """Tenant resolution for one outbox run: the organisations are listed once."""

    def __init__(
        self,
        xero: XeroConnector,
        client: httpx.Client,
        settings: XeroSettings,
        sessions: sessionmaker[Session],
    ) -> None:
        self.xero = xero
        self.client = client
        self.settings = settings
        self.sessions = sessions
        self._tenants: list[XeroTenant] | None = None
        self._by_customer: dict[str, Resolution] = {}
        self._contacts: dict[tuple[str, str], str] = {}

    @property
    def tenants(self) -> list[XeroTenant]:
        """The reachable organisations; only the pinned one when ``[xero] tenant_id`` is set."""
        if self._tenants is None:
            pinned = self.settings.tenant_id
            listed = self.xero.tenants(self.client)
            if pinned:
                listed = [t for t in listed if t.tenant_id == pinned] or [XeroTenant(pinned, "")]
            self._tenants = listed
        return self._tenants

    def for_customer(self, customer: CustomerRow, contract_id: str) -> Resolution:
        """The tenant that books ``customer``'s documents under ``contract_id``."""
        known = self._by_customer.get(f"{customer.id}:{contract_id}")
        if known is None:
            known = self._resolve(customer, contract_id)
            self._by_customer[f"{customer.id}:{contract_id}"] = known
        return known

    def _resolve(self, customer: CustomerRow, contract_id: str) -> Resolution:
        entity = customer.legal_entity or self._project_entity(contract_id)
        if entity:
            return self.for_entity(entity)
        if len(self.tenants) == 1:
            return Resolution(self.tenants[0].tenant_id, "the only Xero organisation")
        with self.sessions() as session:
            kept = sorted(contacts(session, customer.id))
        if len(kept) == 1:
            return Resolution(kept[0], "the organisation that keeps its contact")
        holding = [
            t.tenant_id
            for t in self.tenants
            if self.xero.find_contact(self.client, t.tenant_id, customer.name)
        ]
        if len(holding) == 1:
            return Resolution(holding[0], "the organisation that has a contact of its name")
        where = "several" if holding else "none"
        return Resolution(
            None,
            f"Customer {customer.name} has no legal entity, and {where} of the "
            f"{len(self.tenants)} Xero organisations know it as a contact. Set its legal "
            "entity in the CRM (or map it in [xero] tenants), then replay.",
        )

    def for_entity(self, entity: str) -> Resolution:
        configured = {_norm(k): v for k, v in self.settings.tenants.items()}
        reachable = {t.tenant_id for t in self.tenants}
        if _norm(entity) in configured:
            tenant = configured[_norm(entity)]
            if tenant in reachable:
                return Resolution(tenant, f"configured for legal entity {entity}")
            return Resolution(
                None,
                f"Legal entity {entity} is configured for Xero tenant {tenant}, which this "
                "connection cannot reach. Authorise that organisation or fix [xero] tenants.",
            )
        named = [t.tenant_id for t in self.tenants if _norm(t.name) == _norm(entity)]
        if len(named) == 1:
            return Resolution(named[0], f"the organisation named {entity}")
        names = ", ".join(sorted(t.name for t in self.tenants))
        return Resolution(
            None,
            f"Legal entity {entity} matches no Xero organisation by name (reachable: {names}). "
            "Map it in [xero] tenants, then replay.",
        )

    def contact(self, tenant: str, customer: CustomerRow) -> Contact:
        """The customer's contact in ``tenant``: remembered, found by exact name, or created.
        One found or created is ``new`` the first time only; the caller ``remember``s it."""
        known = self._contacts.get((tenant, customer.id))
        if known is not None:
            return Contact(tenant, known, new=False)
        with self.sessions() as session:
            known = contacts(session, customer.id).get(tenant)
        new = known is None
        if known is None:
            known = self.xero.find_contact(
                self.client, tenant, customer.name
            ) or self.xero.create_contact(
                self.client,
                tenant,
                name=customer.name,
                currency=customer.currency,
                key=f"p2c-contact-{tenant}-{customer.id}",
            )
        self._contacts[(tenant, customer.id)] = known
        return Contact(tenant, known, new)

    def _project_entity(self, contract_id: str) -> str | None:
        with self.sessions() as session:
            return session.scalar(
                select(ProjectRow.legal_entity)
                .where(ProjectRow.contract_id == contract_id, ProjectRow.legal_entity.is_not(None))
                .limit(1)
            )


def contacts(session: Session, customer_id: str) -> dict[str, str]:
    """Tenant → the customer's contact id there, as remembered."""
    pairs = session.scalars(
        select(XrefRow.external_id).where(
            XrefRow.entity_type == "customer",
            XrefRow.canonical_id == customer_id,
            XrefRow.system == ORG_SYSTEM,
        )
    )
    return dict(p.split(":", 1) for p in pairs if ":" in p)


def remember(session: Session, customer_id: str, contact: Contact, *, moment: datetime) -> None:
    """Keep a found or created contact in the cross-reference map, per tenant."""
    link(
        session,
        "customer",
        [
            (customer_id, ORG_SYSTEM, f"{contact.tenant_id}:{contact.contact_id}"),
            (customer_id, "xero", contact.contact_id),
        ],
    )
    record_events(
        session,
        "customer.linked",
        "customer",
        [(customer_id, moment)],
        attributes={
            "system": "xero",
            "external_id": contact.contact_id,
            "tenant_id": contact.tenant_id,
        },
    )
