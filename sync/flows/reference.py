"""Reference data from the time system: customers, contracts, projects, people, assignments.

Harvest clients, projects, users and user assignments are read incrementally (``updated_since``,
cursor per stream in the store) and upserted as canonical rows with their cross-references. A
record that does not validate becomes an exception; the rest of the page is stored.

Harvest is not the system of record for customers, contracts or people, so it writes only what it
owns (DESIGN §2): a client resolves to the canonical customer the CRM made (cross-reference, else
its one unclaimed namesake; two are an ``identity_ambiguous`` exception) and leaves that row alone;
a project is filed under its resolved customer and, once provisioning linked it, under the CRM
contract instead of the stand-in contract Harvest implies; a person's row keeps what BambooHR says
and takes only the cost rate from Harvest; an assignment is one row per project and person
(``identity.assignment_id``) whose rate Harvest owns. Projects and people keep Harvest's canonical
ids: time entries name them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import polars as pl
from pydantic import BaseModel
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from collectors import harvest
from collectors.entities import Assignment, Customer, Entity, Project, canonical_id
from sync.flows import identity
from sync.flows.context import FlowContext, FlowResult
from sync.flows.unreadable import RecordKind, map_records
from sync.pipeline import with_last
from sync.rules import MONEY, Reference
from sync.store.db import transaction, upsert
from sync.store.repo import Problem, get_cursor, link, report_problems, resolve_problems, set_cursor
from sync.store.tables import (
    AssignmentRow,
    Base,
    ContractRow,
    CustomerRow,
    ProjectRow,
    RateCardRow,
    ResourceRow,
)
from sync.store.vocabulary import Flow
from sync.telemetry import current_trace_id, tracer

FLOW = Flow.REFERENCE
Mapper = Callable[[dict[str, Any]], list[tuple[type[Base], str, Entity]]]


def run(ctx: FlowContext) -> FlowResult:
    result = FlowResult()
    with ctx.harvest.client() as client:
        for stream, mapper in _mappers().items():
            result.add(_sync_stream(ctx, client, stream, mapper))
    return result


def _mappers() -> dict[str, Mapper]:
    def customer(raw: dict[str, Any]) -> list[tuple[type[Base], str, Entity]]:
        return [(CustomerRow, "customer", harvest.to_customer(raw))]

    def project(raw: dict[str, Any]) -> list[tuple[type[Base], str, Entity]]:
        proj, contract = harvest.to_project_and_contract(raw)
        return [(ContractRow, "contract", contract), (ProjectRow, "project", proj)]

    def resource(raw: dict[str, Any]) -> list[tuple[type[Base], str, Entity]]:
        return [(ResourceRow, "resource", harvest.to_resource(raw))]

    def assignment(raw: dict[str, Any]) -> list[tuple[type[Base], str, Entity]]:
        return [(AssignmentRow, "assignment", harvest.to_assignment(raw))]

    return {
        "clients": customer,
        "projects": project,
        "users": resource,
        "user_assignments": assignment,
    }


def _sync_stream(ctx: FlowContext, client: Any, stream: str, mapper: Mapper) -> FlowResult:
    result = FlowResult()
    with ctx.sessions() as session:
        cursor = get_cursor(session, "harvest", stream)
    since = _since(cursor, ctx.settings.billing.cursor_lag_seconds)
    newest = cursor
    for page, last in with_last(ctx.harvest.pages(client, stream, since)):
        with tracer.start_as_current_span(
            f"reference {stream} page", attributes={"records": len(page)}
        ):
            rows, problems, done = _map_page(stream, page, mapper)
            newest = (
                max(
                    [
                        newest or "",
                        *(r["updated_at"] for r in page if _stamped(r)),
                    ]
                )
                or None
            )
            with transaction(ctx.sessions) as session:
                rows, problems, done = _resolve(session, stream, rows, problems, done)
                _store(session, rows)
                report_problems(session, FLOW, problems, trace_id=current_trace_id())
                resolve_problems(session, FLOW, done, note="record synced")
                if last and newest:
                    set_cursor(session, "harvest", stream, newest)
        result.records_in += len(page)
        result.records_out += sum(len(v) for v in rows.values())
        result.exceptions += len(problems)
    return result


def _stamped(raw: Any) -> bool:
    return isinstance(raw, dict) and isinstance(raw.get("updated_at"), str)


def _since(cursor: str | None, lag_seconds: int) -> datetime | None:
    parsed = harvest.parse_datetime(cursor)
    return parsed - timedelta(seconds=lag_seconds) if parsed else None


KINDS = {
    "clients": RecordKind("harvest", "clients", "Harvest client", "customer"),
    "projects": RecordKind("harvest", "projects", "Harvest project", "project"),
    "users": RecordKind("harvest", "users", "Harvest user", "resource"),
    "user_assignments": RecordKind(
        "harvest", "user_assignments", "Harvest user assignment", "assignment"
    ),
}


def _map_page(
    stream: str, page: list[dict[str, Any]], mapper: Mapper
) -> tuple[dict[type[Base], list[tuple[str, Entity]]], list[Problem], list[str]]:
    mapped = map_records(KINDS[stream], page, mapper)
    rows: dict[type[Base], list[tuple[str, Entity]]] = {}
    for items in mapped.entities:
        for table, entity_type, entity in items:
            rows.setdefault(table, []).append((entity_type, entity))
    return rows, mapped.problems, mapped.keys


Rows = dict[type[Base], list[tuple[str, Entity]]]
# Rows other systems write too: Harvest updates only these columns of them. Any other row is
# Harvest's to update while Harvest made it (CRM and HR rows are left alone), plus these columns.
HARVEST_OWNS: dict[type[Base], list[str]] = {
    ProjectRow: [
        "contract_id",
        "customer_id",
        "code",
        "name",
        "status",
        "currency",
        "start",
        "end",
    ],
    ResourceRow: ["cost_rate"],
    AssignmentRow: ["project_id", "resource_id", "rate_override", "active", "updated_at"],
}


def _resolve(
    session: Session, stream: str, rows: Rows, problems: list[Problem], done: list[str]
) -> tuple[Rows, list[Problem], list[str]]:
    """Canonical ids for a mapped page (see the module docstring)."""
    if stream == "clients":
        return _resolve_clients(session, rows, problems, done)
    if stream == "projects":
        customers = _harvest_customers(session)
        contracts = identity.xrefs(session, "contract", harvest.VENDOR)
        out: Rows = {ContractRow: [], ProjectRow: []}
        for kind, entity in rows.get(ProjectRow, []):
            assert isinstance(entity, Project)
            crm = contracts.get(entity.source_id)
            update = {"customer_id": customers.get(entity.customer_id, entity.customer_id)}
            if crm is not None:
                update["contract_id"] = crm
            out[ProjectRow].append((kind, entity.model_copy(update=update)))
        for kind, entity in rows.get(ContractRow, []):
            if entity.source_id not in contracts:  # the stand-in, until a CRM contract is linked
                owner = str(getattr(entity, "customer_id", ""))
                update = {"customer_id": customers.get(owner, owner)}
                out[ContractRow].append((kind, entity.model_copy(update=update)))
        return out, problems, done
    if stream == "user_assignments":
        out = {AssignmentRow: []}
        for kind, entity in rows.get(AssignmentRow, []):
            assert isinstance(entity, Assignment)
            pair = identity.assignment_id(entity.project_id, entity.resource_id)
            out[AssignmentRow].append((kind, entity.model_copy(update={"id": pair})))
        return out, problems, done
    return rows, problems, done


def _harvest_customers(session: Session) -> dict[str, str]:
    """The Harvest-derived customer id (what the mapping names) → the canonical customer."""
    known = identity.xrefs(session, "customer", harvest.VENDOR)
    return {canonical_id(harvest.VENDOR, "customer", ext): cid for ext, cid in known.items()}


def _resolve_clients(
    session: Session, rows: Rows, problems: list[Problem], done: list[str]
) -> tuple[Rows, list[Problem], list[str]]:
    known = identity.xrefs(session, "customer", harvest.VENDOR)
    index = identity.customer_index(session, harvest.VENDOR)
    resolved: list[tuple[str, Entity]] = []
    for kind, entity in rows.get(CustomerRow, []):
        assert isinstance(entity, Customer)
        names = [identity.normal_name(entity.name)]
        found = identity.resolve(known, entity.source_id, index, names, entity.id)
        key = f"harvest:clients:{entity.source_id}"
        if found.canonical_id is None:
            problems.append(identity.ambiguous(key, "Harvest customer", entity.name, found, None))
            done.remove(key)
            continue
        identity.claim(known, index, entity.source_id, found.canonical_id, names)
        resolved.append((kind, entity.model_copy(update={"id": found.canonical_id})))
    return {CustomerRow: resolved}, problems, done


def _store(session: Session, rows: Rows) -> None:
    for table, items in rows.items():
        if not items:
            continue
        records = [_row(entity) for _, entity in items]
        owned = HARVEST_OWNS.get(table)
        if table not in (ProjectRow, AssignmentRow):
            harvest_made = table.source == harvest.VENDOR  # type: ignore[attr-defined]
            upsert(session, table, records, keys=["id"], where=harvest_made)
        if owned:
            upsert(session, table, records, keys=["id"], update=owned)
        link(session, items[0][0], [(e.id, e.source, e.source_id) for _, e in items])
        if table is AssignmentRow:  # rows of the time a Harvest assignment had its own id
            stale = [canonical_id(harvest.VENDOR, "assignment", e.source_id) for _, e in items]
            session.execute(delete(AssignmentRow).where(AssignmentRow.id.in_(stale)))


def _row(entity: BaseModel) -> dict[str, Any]:
    data = entity.model_dump()
    if "lines" in data:  # JSON column: dates and decimals as text
        data["lines"] = entity.model_dump(mode="json")["lines"]
    return data


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def load_reference(session: Session) -> Reference:
    """The store's projects, contracts, people, assignments and rate cards as frames."""

    def frame(stmt: Any, schema: dict[str, Any]) -> pl.DataFrame:
        rows = session.execute(stmt).all()
        return pl.DataFrame([tuple(r) for r in rows], schema=schema, orient="row")

    projects = frame(
        select(
            ProjectRow.id,
            ProjectRow.contract_id,
            ProjectRow.customer_id,
            ProjectRow.name,
            ProjectRow.status,
            ProjectRow.end,
            ProjectRow.currency,
            CustomerRow.currency,
        ).outerjoin(CustomerRow, CustomerRow.id == ProjectRow.customer_id),
        {
            "project_id": pl.String,
            "contract_id": pl.String,
            "customer_id": pl.String,
            "project_name": pl.String,
            "project_status": pl.String,
            "project_end": pl.Date,
            "project_currency": pl.String,
            "customer_currency": pl.String,
        },
    )
    contracts = frame(
        select(
            ContractRow.id,
            ContractRow.name,
            ContractRow.status,
            ContractRow.start,
            ContractRow.end,
            ContractRow.currency,
            ContractRow.not_to_exceed,
        ),
        {
            "contract_id": pl.String,
            "contract_name": pl.String,
            "contract_status": pl.String,
            "contract_start": pl.Date,
            "contract_end": pl.Date,
            "currency": pl.String,
            "not_to_exceed": MONEY,
        },
    )
    resources = frame(
        select(ResourceRow.id, ResourceRow.name, ResourceRow.role, ResourceRow.termination_date),
        {
            "resource_id": pl.String,
            "resource_name": pl.String,
            "role": pl.String,
            "termination_date": pl.Date,
        },
    )
    assignments = frame(
        select(
            AssignmentRow.project_id,
            AssignmentRow.resource_id,
            AssignmentRow.active,
            AssignmentRow.rate_override,
            AssignmentRow.role,
        ),
        {
            "project_id": pl.String,
            "resource_id": pl.String,
            "assigned": pl.Boolean,
            "assignment_rate": MONEY,
            "assignment_role": pl.String,
        },
    ).unique(subset=["project_id", "resource_id"], keep="first")
    cards = [
        (
            card.contract_id,
            line["role"],
            Decimal(str(line["rate"])),
            _date(line["effective_from"]),
            _date(line.get("effective_to")),
        )
        for card in session.scalars(select(RateCardRow))
        for line in card.lines
    ]
    rate_cards = pl.DataFrame(
        cards,
        orient="row",
        schema={
            "contract_id": pl.String,
            "role": pl.String,
            "card_rate": MONEY,
            "effective_from": pl.Date,
            "effective_to": pl.Date,
        },
    )
    return Reference(projects, contracts, resources, assignments, rate_cards)
