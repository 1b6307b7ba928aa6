"""Which ERP and company (set of books) a customer's documents go to: one per legal entity.

A firm keeps one set of books per legal entity, each in the ERP configured for it, and a document
posted to the wrong books is a wrong set of accounts, so a customer's route is resolved, most
explicit first:

1. the legal entity of the customer (else of the contract's project) → its ``[erp] entities``
   entry: that ERP, and its ``company``, else the ERP's company whose name is the entity's name
   (case and spacing aside). An entity with no entry goes to the default ERP's company of its
   name. Configuration wins because company names drift ("Demo Company (UK)"); the name match is
   the default because it needs no setup where the CRM's legal entity is the books' legal name;
2. no legal entity on record, across the default ERP: its only company, when it reaches one;
   else the company where plan2cash already keeps the customer's record; else the one company
   holding a customer of exactly the customer's name (the ERP owns legal entities, and it
   already books this customer there).

Anything else is unresolvable, and the caller makes it a ``no_legal_entity`` exception naming the
ERP rather than a guess. Customers are found or created in the route's company (``Books.customer``)
and remembered per company in the cross-reference map by ``remember``, in the caller's
transaction: system ``<erp>`` for the customer's id there, ``<erp>_org`` for ``<company>:<id>``.

``Books`` reads the store (in sessions of its own, never writing) and the ERPs, each through one
client opened when first needed and closed with the ``Books``; what it finds that the store does
not hold yet is handed back for the caller to write.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from collectors.erp import Company, CustomerDocument, Erp
from collectors.errors import RetryableError
from sync.settings_erp import ErpSettings, entity_key
from sync.store.outbox import Route
from sync.store.repo import link
from sync.store.tables import CustomerRow, ProjectRow, XrefRow
from sync.telemetry import record_events


def org_system(erp: str) -> str:
    """The cross-reference system that keeps ``<company>:<customer id>`` for ``erp``."""
    return f"{erp}_org"


@dataclass(frozen=True)
class Resolution:
    """A route, or ``None`` with the reason a person can act on."""

    route: Route | None
    reason: str


@dataclass(frozen=True)
class ErpCustomer:
    """A customer's record in one company; ``new`` when the store does not remember it yet."""

    route: Route
    customer_ref: str
    new: bool


@dataclass(frozen=True)
class CompanyBooks:
    """One company's books, as one run reaches them: the route, its ERP and the run's client."""

    route: Route
    erp: Erp
    client: httpx.Client


class Books:
    """Routing for one run: each ERP's companies are listed once; an ERP that could not list
    them (a transient failure) answers with that failure for the rest of the run."""

    def __init__(
        self, erps: Mapping[str, Erp], settings: ErpSettings, sessions: sessionmaker[Session]
    ) -> None:
        self.erps = erps
        self.settings = settings
        self.sessions = sessions
        self._stack = ExitStack()
        self._clients: dict[str, httpx.Client] = {}
        self._companies: dict[str, list[Company]] = {}
        self._unreachable: dict[str, RetryableError] = {}
        self._by_customer: dict[str, Resolution] = {}
        self._customers: dict[tuple[Route, str], str] = {}

    def __enter__(self) -> Books:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._stack.close()

    def client(self, erp: str) -> httpx.Client:
        """The run's client for ``erp``, opened the first time it is asked for."""
        if erp not in self._clients:
            self._clients[erp] = self._stack.enter_context(self.erps[erp].client())
        return self._clients[erp]

    def at(self, route: Route) -> CompanyBooks:
        """The books ``route`` names, reached through the run's client for its ERP."""
        return CompanyBooks(route, self.erps[route.erp], self.client(route.erp))

    def companies(self, erp: str) -> list[Company]:
        """The companies ``erp``'s connection reaches (listed once per run)."""
        if erp in self._unreachable:
            raise self._unreachable[erp]
        if erp not in self._companies:
            try:
                self._companies[erp] = self.erps[erp].companies(self.client(erp))
            except RetryableError as error:
                self._unreachable[erp] = error
                raise
        return self._companies[erp]

    def for_customer(self, customer: CustomerRow, contract_id: str) -> Resolution:
        """Where ``customer``'s documents under ``contract_id`` go."""
        known = self._by_customer.get(f"{customer.id}:{contract_id}")
        if known is None:
            entity = customer.legal_entity or self._project_entity(contract_id)
            known = self.for_entity(entity) if entity else self._without_entity(customer)
            self._by_customer[f"{customer.id}:{contract_id}"] = known
        return known

    def for_entity(self, entity: str) -> Resolution:
        """The books of legal entity ``entity``: configured, else its ERP's company of its name."""
        books = self.settings.books_of(entity)
        erp = books.erp.value if books else self.settings.default.value
        label, companies = self.erps[erp].label, self.companies(erp)
        if books is not None and books.company:
            # company ids are the ERP's, whose case it ignores (D365's USMF is usmf)
            wanted = books.company.casefold()
            same = [c.company_id for c in companies if c.company_id.casefold() == wanted]
            if same:
                why = f"configured for legal entity {entity}"
                return Resolution(Route(erp, same[0]), why)
            return Resolution(
                None,
                f"Legal entity {entity} is configured for {label} company {books.company}, which "
                f"the {label} connection cannot reach. Authorise it there or fix [erp] entities.",
            )
        named = [c.company_id for c in companies if entity_key(c.name) == entity_key(entity)]
        if len(named) == 1:
            return Resolution(Route(erp, named[0]), f"the {label} company named {entity}")
        names = ", ".join(sorted(c.name for c in companies))
        return Resolution(
            None,
            f"Legal entity {entity} matches no {label} company by name (reachable: {names}). "
            "Map it in [erp] entities, then replay.",
        )

    def _without_entity(self, customer: CustomerRow) -> Resolution:
        erp = self.settings.default.value
        label, companies = self.erps[erp].label, self.companies(erp)
        if len(companies) == 1:
            return Resolution(Route(erp, companies[0].company_id), f"the only {label} company")
        with self.sessions() as session:
            kept = sorted(remembered(session, erp, customer.id))
        if len(kept) == 1:
            return Resolution(Route(erp, kept[0]), f"the {label} company that keeps its customer")
        client = self.client(erp)
        holding = [
            c.company_id
            for c in companies
            if self.erps[erp].find_customer(client, c.company_id, customer.name)
        ]
        if len(holding) == 1:
            return Resolution(Route(erp, holding[0]), f"the {label} company that has its name")
        where = "several" if holding else "none"
        return Resolution(
            None,
            f"Customer {customer.name} has no legal entity, and {where} of the "
            f"{len(companies)} {label} companies know it as a customer. Set its legal "
            "entity in the CRM (or map the entity in [erp] entities), then replay.",
        )

    def customer(self, route: Route, customer: CustomerRow) -> ErpCustomer:
        """The customer's record in ``route``'s company: remembered, found by exact name, or
        created. One found or created is ``new`` the first time only; the caller
        ``remember``s it."""
        known = self._customers.get((route, customer.id))
        if known is not None:
            return ErpCustomer(route, known, new=False)
        with self.sessions() as session:
            known = remembered(session, route.erp, customer.id).get(route.company)
        new = known is None
        if known is None:
            erp, client = self.erps[route.erp], self.client(route.erp)
            known = erp.find_customer(client, route.company, customer.name)
            if known is None:
                # the key Xero contacts were always created with, so a create whose reply was
                # lost before this naming is still replayed, not made twice
                key = f"p2c-contact-{route.company}-{customer.id}"
                document = CustomerDocument(
                    key=key,
                    customer_id=customer.id,
                    name=customer.name,
                    currency=customer.currency,
                    payment_terms_days=customer.payment_terms_days,
                )
                known = erp.create_customer(client, route.company, document)
        self._customers[(route, customer.id)] = known
        return ErpCustomer(route, known, new)

    def _project_entity(self, contract_id: str) -> str | None:
        with self.sessions() as session:
            return session.scalar(
                select(ProjectRow.legal_entity)
                .where(ProjectRow.contract_id == contract_id, ProjectRow.legal_entity.is_not(None))
                .limit(1)
            )


def remembered(session: Session, erp: str, customer_id: str) -> dict[str, str]:
    """Company → the customer's id there, in ``erp``, as remembered."""
    pairs = session.scalars(
        select(XrefRow.external_id).where(
            XrefRow.entity_type == "customer",
            XrefRow.canonical_id == customer_id,
            XrefRow.system == org_system(erp),
        )
    )
    return dict(p.split(":", 1) for p in pairs if ":" in p)


def remember(session: Session, customer_id: str, found: ErpCustomer, *, moment: datetime) -> None:
    """Keep a found or created customer record in the cross-reference map, per company."""
    erp, company = found.route.erp, found.route.company
    link(
        session,
        "customer",
        [
            (customer_id, org_system(erp), f"{company}:{found.customer_ref}"),
            (customer_id, erp, found.customer_ref),
        ],
    )
    record_events(
        session,
        "customer.linked",
        "customer",
        [(customer_id, moment)],
        attributes={"system": erp, "external_id": found.customer_ref, "company": company},
    )
