"""Provisioning an activated contract everywhere it must exist: the customer in its ERP and as a
Harvest client, the contract's Kantata workspace and the Harvest project time is logged on.

Each system is read once per run (ERP customers, clients, projects, workspaces) and a contract's
records are found there before anything is created: by cross-reference, else by normalised name
among the records not yet linked to another customer or project, else created through the
connectors' look-up-before-create calls (an ERP customer in the company of the customer's legal
entity, ``sync.books``, as the outbox posts there). So a crash between a
create and the commit that links it is healed by the next run's look-up, never by a second create.
Contracts that ended before today are linked where their records exist, never provisioned.

The canonical project is the Harvest project's (time entries name Harvest projects); its Kantata
workspace and the Harvest stand-in contract are cross-referenced to it and to the CRM contract, so
the Harvest reference flow files the project under the CRM's customer and contract.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from collectors.entities import Project, canonical_id, now_utc
from collectors.errors import RecordError, RetryableError
from collectors.kantata import WorkspaceRequest
from sync.books import Books, org_system
from sync.flows import identity
from sync.flows.context import FlowContext, FlowResult
from sync.flows.provisioning_landscape import Landscape, Plan, project_keys, read_landscape
from sync.store.db import transaction, upsert
from sync.store.outbox import Route
from sync.store.problems import held_payloads
from sync.store.repo import Problem, link, report_problems, resolve_problems
from sync.store.tables import ContractRow, CustomerRow, ProjectRow
from sync.store.vocabulary import OPEN_STATUSES, ExceptionCategory, Flow
from sync.telemetry import current_trace_id, record_events, tracer

FLOW = Flow.CUSTOMERS
STAGE = "provision"
# what the PSA and the CRM own on a project row the time system also writes
PROJECT_OWNED = ["contract_id", "customer_id", "region", "legal_entity", "budget"]


def waiting(ctx: FlowContext) -> set[str]:
    """Contracts whose provisioning failed or was ambiguous: tried again on every run."""
    with ctx.sessions() as session:
        payloads = held_payloads(session, FLOW, OPEN_STATUSES, stage=STAGE)
    return {str(p["contract_id"]) for p in payloads if "contract_id" in p}


def provision(ctx: FlowContext, contract_ids: set[str]) -> FlowResult:
    if not contract_ids:
        return FlowResult()
    with ctx.sessions() as session:
        contracts = session.scalars(
            select(ContractRow).where(ContractRow.id.in_(contract_ids)).order_by(ContractRow.id)
        ).all()
        owners = {c.customer_id for c in contracts}
        customers = {
            c.id: c for c in session.scalars(select(CustomerRow).where(CustomerRow.id.in_(owners)))
        }
    result = FlowResult(records_in=len(contracts))
    with (
        ctx.kantata.client() as kantata,
        ctx.harvest.client() as time,
        Books(ctx.erps, ctx.settings.erp, ctx.sessions) as books,
        tracer.start_as_current_span("customers provision", attributes={"records": len(contracts)}),
    ):
        with ctx.sessions() as session:
            land = read_landscape(ctx, session, kantata, time, books)
        for contract in contracts:
            plan, problem = Plan(), None
            try:
                problem = _contract(ctx, land, plan, contract, customers.get(contract.customer_id))
            except (RecordError, RetryableError) as exc:
                problem = _failed(contract, f"a system refused or did not answer: {exc}")
            _save(ctx, contract, plan, problem)
            result.records_out += problem is None
            result.exceptions += problem is not None
    with transaction(ctx.sessions) as session:
        report_problems(session, FLOW, land.unreadable, trace_id=current_trace_id())
        resolve_problems(session, FLOW, land.readable, note="record read")
    result.exceptions += len(land.unreadable)
    return result


def _contract(
    ctx: FlowContext, land: Landscape, plan: Plan, contract: ContractRow, customer: Any
) -> Problem | None:
    if customer is None:
        return _failed(contract, f"its customer {contract.customer_id} is not in the store")
    live = contract.status == "active" and (contract.end is None or contract.end >= ctx.today())
    where = land.books.for_customer(customer, contract.id)
    contact = (
        _system_customer(ctx, land, plan, contract, customer, where.route, live)
        if where.route is not None
        else _failed(contract, where.reason, category=ExceptionCategory.NO_LEGAL_ENTITY)
    )
    client = _system_customer(ctx, land, plan, contract, customer, None, live)
    if isinstance(contact, Problem) or isinstance(client, Problem):
        return contact if isinstance(contact, Problem) else client  # type: ignore[return-value]
    workspaces = land.workspaces.get(contract.id) or _workspace(ctx, land, plan, contract, live)
    for workspace in workspaces:
        problem = _project(ctx, land, plan, contract, customer, workspace, client, live)
        if problem is not None:
            return problem
    return None


def _system_customer(
    ctx: FlowContext,
    land: Landscape,
    plan: Plan,
    contract: ContractRow,
    customer: CustomerRow,
    route: Route | None,
    live: bool,
) -> str | Problem | None:
    """The customer's record in ``route``'s ERP company (its legal entity's), or with no route
    its Harvest client: linked, found by name among the unlinked ones, or created."""
    system = route.erp if route else "harvest"
    if route is not None:
        linked = land.contacts_kept.setdefault((customer.id, route.erp), {})
        index = land.contact_index(route)
    else:
        linked = land.linked("customer", system)
        index = land.clients
    slot = route.company if route else customer.id
    if slot in linked:
        return linked[slot]
    name = identity.normal_name(customer.name)
    if len(twins := land.namesakes.candidates(name)) > 1:  # which one is the system's record?
        return _ambiguous(
            contract, customer.name, "the CRM", identity.Resolved(None, "", tuple(twins))
        )
    found = index.candidates(name)
    if len(found) > 1 or (not found and index.by_key.get(name)):
        # two namesakes, or the name is another customer's there: creating would merge them
        candidates = tuple(sorted(found or index.by_key[name]))
        return _ambiguous(contract, customer.name, system, identity.Resolved(None, "", candidates))
    if found:
        external, event = found[0], "customer.linked"
    elif not live:
        return None
    elif route is not None:  # looked up again, created, and remembered per company
        made = land.books.customer(route, customer)
        external, event = made.customer_ref, "customer.provisioned"
        if made.new:
            attributes = {"system": system, "external_id": external, "company": route.company}
            plan.events.append(("customer.linked", "customer", customer.id, attributes))
    else:
        time = land.http["harvest"]
        external = str(
            ctx.harvest.ensure_client(time, name=customer.name, currency=customer.currency)
        )
        event = "customer.provisioned"
    index.taken.add(external)
    linked[slot] = external
    plan.link("customer", customer.id, system, external)
    if route is not None:
        plan.link("customer", customer.id, org_system(route.erp), f"{route.company}:{external}")
    attributes = {"system": system, "external_id": external} | (
        {"company": route.company} if route else {}
    )
    plan.events.append((event, "customer", customer.id, attributes))
    return external


def _workspace(
    ctx: FlowContext, land: Landscape, plan: Plan, contract: ContractRow, live: bool
) -> list[Project]:
    """The contract's workspace when the read did not show it: looked up, or created."""
    if not live:
        return []
    account = land.linked("customer", "salesforce").get(contract.customer_id)
    kantata = land.http["kantata"]
    existing = ctx.kantata.find_workspace(kantata, contract.source_id)
    if existing is not None:
        return [_stub(contract, existing)]
    if account is None:
        raise RecordError(f"customer {contract.customer_id} has no Salesforce account id")
    request = WorkspaceRequest(
        title=contract.name,
        currency=contract.currency,
        contract_ref=contract.source_id,
        account_ref=account,
        start=contract.start,
        due=contract.end,
        price=contract.not_to_exceed,
    )
    workspace = ctx.kantata.create_workspace(kantata, request)
    attributes = {"system": "kantata", "external_id": workspace.source_id}
    plan.events.append(("project.provisioned", "contract", contract.id, attributes))
    land.workspaces.setdefault(contract.id, []).append(workspace)
    return [workspace]


def _stub(contract: ContractRow, workspace_id: str) -> Project:
    return Project(
        id=canonical_id("kantata", "project", workspace_id),
        source="kantata",
        source_id=workspace_id,
        updated_at=now_utc(),
        contract_id=contract.id,
        customer_id=contract.customer_id,
        name=contract.name,
        currency=contract.currency,
        start=contract.start,
        end=contract.end,
    )


def _project(
    ctx: FlowContext,
    land: Landscape,
    plan: Plan,
    contract: ContractRow,
    customer: CustomerRow,
    workspace: Project,
    client: str | None,
    live: bool,
) -> Problem | None:
    """The workspace's Harvest project (linked, found by client and name, or created) and the
    canonical project both are known as."""
    by_workspace = {e: c for c, e in land.linked("project", "kantata").items()}
    harvest_of = land.linked("project", "harvest")
    known = by_workspace.get(workspace.source_id)
    project_id = harvest_of.get(known) if known else None
    if project_id is None:
        keys = project_keys(client, workspace.name, workspace.start)
        found = land.projects.candidates(keys[0]) if keys else []
        if len(found) > 1:
            found = land.projects.candidates(keys[1])
        if len(found) > 1:
            resolved = identity.Resolved(None, "ambiguous", tuple(sorted(found)))
            return _ambiguous(contract, workspace.name, "harvest", resolved, "project")
        if found:
            project_id = found[0]
        elif live and client is not None:
            project_id = str(
                ctx.harvest.ensure_project(
                    land.http["harvest"],
                    client_id=int(client),
                    name=workspace.name,
                    starts_on=workspace.start,
                    ends_on=workspace.end,
                )
            )
            attributes = {"system": "harvest", "external_id": project_id}
            plan.events.append(("project.provisioned", "contract", contract.id, attributes))
    canonical = (
        canonical_id("harvest", "project", project_id) if project_id else known or workspace.id
    )
    if project_id is not None:
        land.projects.taken.add(project_id)
        harvest_of[canonical] = project_id
        plan.link("project", canonical, "harvest", project_id)
        plan.link("contract", contract.id, "harvest", project_id)
    land.linked("project", "kantata")[canonical] = workspace.source_id
    plan.link("project", canonical, "kantata", workspace.source_id)
    plan.link("customer", customer.id, "kantata", workspace.source_id)
    plan.projects.append(_project_row(canonical, workspace, contract, customer, project_id, land))
    return None


def _project_row(
    canonical: str,
    workspace: Project,
    contract: ContractRow,
    customer: CustomerRow,
    harvest_id: str | None,
    land: Landscape,
) -> dict[str, Any]:
    return workspace.model_dump() | {
        "id": canonical,
        "contract_id": contract.id,
        "customer_id": customer.id,
        "code": land.codes.get(harvest_id) if harvest_id else None,
        "region": customer.region,
        "legal_entity": customer.legal_entity,
    }


def _failed(contract: ContractRow, why: str, *, category: str = "provisioning_failed") -> Problem:
    return Problem(
        record_key=f"{STAGE}:contract:{contract.id}",
        stage=STAGE,
        category=category,
        reason=f"Contract {contract.name!r} could not be provisioned: {why}. It is tried again.",
        payload={"contract_id": contract.id},
        entity_type="contract",
        entity_id=contract.id,
    )


def _ambiguous(
    contract: ContractRow,
    name: str,
    system: str,
    resolved: identity.Resolved,
    what: str = "customer",
) -> Problem:
    listed = ", ".join(resolved.candidates)
    return Problem(
        record_key=f"{STAGE}:contract:{contract.id}",
        stage=STAGE,
        category=identity.AMBIGUOUS,
        reason=(
            f"The {what} {name!r} of contract {contract.name!r} matches "
            f"{len(resolved.candidates)} records in {system} ({listed}); link the right one by "
            "hand (a cross-reference) or rename the others."
        ),
        payload={"contract_id": contract.id},
        entity_type="contract",
        entity_id=contract.id,
    )


def _save(ctx: FlowContext, contract: ContractRow, plan: Plan, problem: Problem | None) -> None:
    moment = ctx.clock()  # business time: when the project was provisioned
    with transaction(ctx.sessions) as session:
        for entity_type, canonical, system, external in plan.links:
            link(session, entity_type, [(canonical, system, external)])
        upsert(session, ProjectRow, plan.projects, keys=["id"], update=PROJECT_OWNED)
        for name, entity_type, entity_id, attributes in plan.events:
            record_events(session, name, entity_type, [(entity_id, moment)], attributes=attributes)
        if problem is not None:
            report_problems(session, FLOW, [problem], trace_id=current_trace_id())
        else:
            key = f"{STAGE}:contract:{contract.id}"
            resolve_problems(session, FLOW, [key], note="provisioned")
