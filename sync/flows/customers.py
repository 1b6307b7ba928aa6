"""Customer & contract (DESIGN §4, flow 1): the CRM's accounts, won deals and activated contracts
become canonical customers and contracts; Kantata's rate cards become the contracts' rate cards;
what a new contract needs elsewhere is provisioned (``sync.flows.provisioning``).

Salesforce is the system of record for customers and contracts, so its values replace whatever
the store holds. An account is resolved to one canonical customer (``sync.flows.identity``): its
cross-reference, else the one unclaimed customer of the same normalised name (a Harvest client
seen first), else a new one; two candidates are an ``identity_ambiguous`` exception. Each stream
is incremental on ``SystemModstamp`` with a cursor per stream; a record that cannot be read is an
exception and the rest of its page is stored. A contract whose account is not known yet, or whose
provisioning failed, waits as an exception and is tried again on every run until it goes through.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from collectors import salesforce
from collectors.entities import Contract, Customer
from collectors.errors import RecordError
from collectors.salesforce.mapping import customer_id as salesforce_customer_id
from collectors.salesforce.mapping import parse_datetime
from sync.flows import identity, provisioning
from sync.flows.context import FlowContext, FlowResult
from sync.flows.unreadable import RecordKind, map_records, resolve_readable, settle, unreadable
from sync.pipeline import with_last
from sync.store.db import transaction, upsert
from sync.store.problems import held_payloads
from sync.store.repo import (
    OPEN_STATUSES,
    Problem,
    get_cursor,
    link,
    report_problems,
    set_cursor,
)
from sync.store.tables import ContractRow, CustomerRow, RateCardRow
from sync.store.vocabulary import Flow
from sync.telemetry import current_trace_id, record_events, tracer

FLOW = Flow.CUSTOMERS
SYSTEM = "salesforce"
UNKNOWN_CUSTOMER = "unknown_customer"
PageStore = Callable[[Session, list[dict[str, Any]]], FlowResult]


def run(ctx: FlowContext) -> FlowResult:
    result = FlowResult()
    activated: set[str] = set()
    with ctx.salesforce.client() as client:
        result.add(_stream(ctx, client, "accounts", _store_accounts))
        result.add(_stream(ctx, client, "opportunities", _store_won))
        result.add(_waiting_contracts(ctx, activated))
        result.add(_stream(ctx, client, "contracts", _contracts_into(activated)))
    result.add(provisioning.provision(ctx, activated | provisioning.waiting(ctx)))
    result.add(_rate_cards(ctx))
    return result


def _stream(ctx: FlowContext, client: httpx.Client, stream: str, store: PageStore) -> FlowResult:
    """One Salesforce stream from its cursor: each page stored in one transaction, the cursor
    saved with the last page."""
    result = FlowResult()
    with ctx.sessions() as session:
        cursor = get_cursor(session, SYSTEM, stream)
    since = _since(cursor, ctx.settings.billing.cursor_lag_seconds)
    newest = parse_datetime(cursor) if cursor else None
    for page, last in with_last(ctx.salesforce.pages(client, stream, since)):
        with tracer.start_as_current_span(
            f"customers {stream} page", attributes={"records": len(page)}
        ):
            newest = max(filter(None, [newest, *map(_stamp, page)]), default=None)
            with transaction(ctx.sessions) as session:
                result.add(store(session, page))
                if last and newest is not None:
                    set_cursor(session, SYSTEM, stream, newest.isoformat())
    return result


def _since(cursor: str | None, lag_seconds: int) -> datetime | None:
    return parse_datetime(cursor) - timedelta(seconds=lag_seconds) if cursor else None


def _stamp(raw: Any) -> datetime | None:
    try:
        return salesforce.cursor_of(raw)
    except RecordError:
        return None


def _kind(name: str, entity_type: str) -> RecordKind:
    key = salesforce.STREAMS["accounts"].stream.key
    return RecordKind(SYSTEM, name, f"Salesforce {name}", entity_type, (key,))


ACCOUNT = _kind("account", "customer")
OPPORTUNITY = _kind("opportunity", "opportunity")
CONTRACT = _kind("contract", "contract")
RATE_CARD = RecordKind("kantata", "rate_card", "Kantata rate card", "rate_card")
WORKSPACE = RecordKind("kantata", "workspace", "Kantata workspace", "project")


def _finish(
    session: Session, page: list[dict[str, Any]], problems: list[Problem], done: list[str]
) -> FlowResult:
    settle(session, FLOW, problems, done, note="record synced")
    return FlowResult(len(page), len(done), len(problems))


# --- accounts → customers ------------------------------------------------------------------------


def _store_accounts(session: Session, page: list[dict[str, Any]]) -> FlowResult:
    known = identity.xrefs(session, "customer", SYSTEM)
    index = identity.customer_index(session, SYSTEM)
    customers: list[Customer] = []
    matched: list[str] = []
    mapped = map_records(ACCOUNT, page, salesforce.to_customer)
    problems, done = mapped.problems, []
    for (raw, customer), key in zip(mapped.read, mapped.keys, strict=True):
        names = [identity.normal_name(customer.name)]
        found = identity.resolve(known, customer.source_id, index, names, customer.id)
        if found.canonical_id is None:
            what = "Salesforce customer"
            problems.append(identity.ambiguous(key, what, customer.name, found, raw))
            continue
        identity.claim(known, index, customer.source_id, found.canonical_id, names)
        customers.append(customer.model_copy(update={"id": found.canonical_id}))
        matched += [found.canonical_id] if found.how == "match" else []
        done.append(key)
    resolved = {salesforce_customer_id(ext): cid for ext, cid in known.items()}
    rows = [
        c.model_dump()
        | {"parent_id": resolved.get(c.parent_id, c.parent_id) if c.parent_id else None}
        for c in customers
    ]
    upsert(session, CustomerRow, rows, keys=["id"])
    link(session, "customer", [(c.id, SYSTEM, c.source_id) for c in customers])
    record_events(
        session,
        "customer.linked",
        "customer",
        [(c.id, c.updated_at) for c in customers if c.id in matched],
        attributes={"system": SYSTEM},
    )
    return _finish(session, page, problems, done)


def resolved_customers(session: Session) -> dict[str, str]:
    """The Salesforce-derived customer id (what the mapping names) → the canonical customer."""
    known = identity.xrefs(session, "customer", SYSTEM)
    return {salesforce_customer_id(ext): cid for ext, cid in known.items()}


# --- won opportunities ---------------------------------------------------------------------------


def _store_won(session: Session, page: list[dict[str, Any]]) -> FlowResult:
    known = identity.xrefs(session, "opportunity", SYSTEM)
    customers = resolved_customers(session)
    mapped = map_records(OPPORTUNITY, page, salesforce.to_won_opportunity)
    problems, done = mapped.problems, mapped.keys
    for won in mapped.entities:
        if won.source_id in known:
            continue
        known[won.source_id] = won.id
        link(session, "opportunity", [(won.id, SYSTEM, won.source_id)])
        record_events(
            session,
            "opportunity.won",
            "opportunity",
            [(won.id, won.updated_at)],
            attributes={
                "name": won.name,
                "customer_id": customers.get(won.customer_id, won.customer_id),
                "amount": str(won.amount) if won.amount is not None else None,
                "currency": won.currency,
            },
        )
    return _finish(session, page, problems, done)


# --- activated contracts -------------------------------------------------------------------------


def _contracts_into(activated: set[str]) -> PageStore:
    def store(session: Session, page: list[dict[str, Any]]) -> FlowResult:
        return _store_contracts(session, page, activated)

    return store


def _store_contracts(
    session: Session, page: list[dict[str, Any]], activated: set[str]
) -> FlowResult:
    customers = resolved_customers(session)
    contracts: list[Contract] = []
    mapped = map_records(CONTRACT, page, salesforce.to_contract)
    problems, done = mapped.problems, []
    for (raw, contract), key in zip(mapped.read, mapped.keys, strict=True):
        owner = customers.get(contract.customer_id)
        if owner is None:
            problems.append(_waiting_for_customer(key, contract, raw))
            continue
        contracts.append(contract.model_copy(update={"customer_id": owner}))
        done.append(key)
    ids = [c.id for c in contracts]
    seen = set(session.scalars(select(ContractRow.id).where(ContractRow.id.in_(ids))))
    upsert(session, ContractRow, [c.model_dump() for c in contracts], keys=["id"])
    link(session, "contract", [(c.id, SYSTEM, c.source_id) for c in contracts])
    for contract in contracts:
        if contract.id not in seen and contract.status == "active":
            record_events(
                session,
                "contract.activated",
                "contract",
                [(contract.id, contract.updated_at)],
                attributes={"customer_id": contract.customer_id, "name": contract.name},
            )
    activated.update(ids)
    return _finish(session, page, problems, done)


def _waiting_for_customer(key: str, contract: Contract, raw: dict[str, Any]) -> Problem:
    return Problem(
        record_key=key,
        stage="link",
        category=UNKNOWN_CUSTOMER,
        reason=(
            f"Contract {contract.name!r} belongs to a Salesforce account plan2cash has not synced "
            "(missing, unreadable or ambiguous); it is stored once its account is."
        ),
        payload=raw,
        entity_type="contract",
        entity_id=contract.id,
    )


def _waiting_contracts(ctx: FlowContext, activated: set[str]) -> FlowResult:
    """Contracts held for their account, tried again from their stored payloads."""
    with ctx.sessions() as session:
        page = held_payloads(session, FLOW, OPEN_STATUSES, categories=[UNKNOWN_CUSTOMER])
    if not page:
        return FlowResult()
    with transaction(ctx.sessions) as session:
        return _store_contracts(session, page, activated)


# --- rate cards from the PSA ---------------------------------------------------------------------


def _rate_cards(ctx: FlowContext) -> FlowResult:
    """Kantata's rate cards, one per contract that has a workspace on one."""
    with ctx.sessions() as session:
        cursor = get_cursor(session, "kantata", "rate_cards")
    since = datetime.fromisoformat(cursor) if cursor else None
    with ctx.kantata.client() as client, tracer.start_as_current_span("customers rate cards"):
        batch = ctx.kantata.rate_cards(client, since)
    problems = [unreadable(RATE_CARD, error.details, error) for error in batch.errors]
    problems += [unreadable(WORKSPACE, error.details, error) for error in batch.workspaces]
    rows = [
        card.model_dump() | {"lines": card.model_dump(mode="json")["lines"]}
        for card in batch.entities
    ]
    with transaction(ctx.sessions) as session:
        upsert(session, RateCardRow, rows, keys=["id"])
        report_problems(session, FLOW, problems, trace_id=current_trace_id())
        held = {p.record_key for p in problems}
        resolve_readable(session, FLOW, RATE_CARD, held)
        resolve_readable(session, FLOW, WORKSPACE, held)
        if batch.cursor is not None:
            set_cursor(session, "kantata", "rate_cards", batch.cursor.isoformat())
    return FlowResult(len(rows) + len(problems), len(rows), len(problems))
