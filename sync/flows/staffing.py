"""Who works on what: Kantata participations as assignments, the Harvest user assignments they
need, and people who left while still staffed (part of the people flow, ``sync.flows.people``).

A participation names a workspace and a Kantata user. The workspace is the canonical project it
was linked to when its contract was provisioned (``sync.flows.provisioning``); the user is the
canonical resource with the same email (else name). The assignment is one row per project and
person (``identity.assignment_id``); Kantata owns its role, Harvest its rate and whether it is
active. A participation whose project and person Harvest knows, on a running project, gets its
Harvest user assignment if Harvest has none (Harvest cannot create users through plan2cash).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from collectors import harvest
from collectors.entities import Assignment, canonical_id
from collectors.errors import RecordError, RetryableError
from collectors.kantata import Person
from sync.flows import identity, reference
from sync.flows.context import FlowContext, FlowResult
from sync.flows.unreadable import RecordKind, map_records, resolve_readable, settle, unreadable
from sync.store.db import transaction, upsert
from sync.store.repo import (
    OPEN_STATUSES,
    Problem,
    get_cursor,
    link,
    report_problems,
    resolve_problems,
    set_cursor,
)
from sync.store.tables import AssignmentRow, ExceptionRow, ProjectRow, ResourceRow
from sync.store.vocabulary import Flow
from sync.telemetry import current_trace_id, record_events, tracer

FLOW = Flow.PEOPLE
PSA = "kantata"
TERMINATED = "terminated_with_assignments"
PARTICIPATION = RecordKind(PSA, "participation", "Kantata participation", "assignment")
USER = RecordKind(PSA, "user", "Kantata user", "resource")


def participations(ctx: FlowContext, psa: httpx.Client, time: httpx.Client) -> FlowResult:
    """Participations of linked workspaces changed since the cursor (running projects only, after
    the first read), stored as assignments; missing Harvest user assignments provisioned."""
    with ctx.sessions() as session:
        cursor = get_cursor(session, PSA, "participations")
        workspaces = _workspaces(session, running_only=cursor is not None)
    if not workspaces:
        return FlowResult()
    lag = timedelta(seconds=ctx.settings.billing.cursor_lag_seconds)
    since = datetime.fromisoformat(cursor) - lag if cursor else None
    with tracer.start_as_current_span(
        "people participations", attributes={"records": len(workspaces)}
    ):
        people: list[Person] = []
        found: list[Assignment] = []
        errors: list[RecordError] = []
        users: list[RecordError] = []
        for users_batch in ctx.kantata.people(psa):
            people += users_batch.entities
            users += users_batch.errors
        newest: datetime | None = None
        for batch in ctx.kantata.assignments(psa, sorted(workspaces), since):
            found += batch.entities
            errors += batch.errors
            newest = max(filter(None, [newest, batch.cursor]), default=None)
    with transaction(ctx.sessions) as session:
        rows, problems = _assignments(session, found, people, workspaces)
        problems += [unreadable(PARTICIPATION, e.details, e) for e in errors]
        problems += [unreadable(USER, e.details, e) for e in users]
        resolve_readable(session, FLOW, USER, {p.record_key for p in problems})
        upsert(session, AssignmentRow, rows, keys=["id"], update=["role"])
        link(session, "assignment", [(r["id"], PSA, r["source_id"]) for r in rows])
        settle(
            session,
            FLOW,
            problems,
            [PARTICIPATION.key({"id": r["source_id"]}) for r in rows],
            note="synced",
        )
        if newest is not None:
            set_cursor(session, PSA, "participations", newest.isoformat())
    result = FlowResult(len(found) + len(errors), len(rows), len(problems))
    result.add(_provision(ctx, time, rows))
    return result


def _workspaces(session: Session, *, running_only: bool) -> dict[str, str]:
    """Kantata workspace id → canonical project, for the workspaces provisioning linked."""
    linked = identity.xrefs(session, "project", PSA)
    if not running_only:
        return linked
    running = set(session.scalars(select(ProjectRow.id).where(ProjectRow.status == "active")))
    return {ws: project for ws, project in linked.items() if project in running}


def _people(session: Session, people: list[Person]) -> tuple[dict[str, str], list[Problem]]:
    """Kantata user id → canonical resource: cross-reference, else email, else name."""
    known = identity.xrefs(session, "resource", PSA)
    rows = session.execute(select(ResourceRow.id, ResourceRow.email, ResourceRow.name))
    resources = list(rows)
    taken = identity.claimed(session, "resource", PSA)
    emails = identity.Index.of(((identity.normal_email(e), r) for r, e, _ in resources), taken)
    names = identity.Index.of(((identity.normal_name(n), r) for r, _, n in resources), taken)
    out: dict[str, str] = {}
    problems: list[Problem] = []
    for person in people:
        email, name = identity.normal_email(person.email), identity.normal_name(person.name)
        found = identity.resolve(known, person.user_id, emails, [email], "")
        if found.how == "new":
            found = identity.resolve(known, person.user_id, names, [name], "")
        if found.how == "ambiguous":
            key = f"kantata:user:{person.user_id}"
            problems.append(identity.ambiguous(key, "Kantata person", person.name, found, None))
        elif found.canonical_id:
            out[person.user_id] = found.canonical_id
            emails.taken.add(found.canonical_id)
            names.taken.add(found.canonical_id)
    link(session, "resource", [(cid, PSA, uid) for uid, cid in out.items() if uid not in known])
    return out, problems


def _assignments(
    session: Session, found: list[Assignment], people: list[Person], workspaces: dict[str, str]
) -> tuple[list[dict[str, Any]], list[Problem]]:
    resources, problems = _people(session, people)
    by_user = {canonical_id(PSA, "resource", uid): cid for uid, cid in resources.items()}
    by_workspace = {canonical_id(PSA, "project", ws): cid for ws, cid in workspaces.items()}
    rows: list[dict[str, Any]] = []
    for assignment in found:
        project, resource = (
            by_workspace.get(assignment.project_id),
            by_user.get(assignment.resource_id),
        )
        if project is None or resource is None:
            problems.append(_unknown(assignment, project is None))
            continue
        pair = identity.assignment_id(project, resource)
        rows.append(
            assignment.model_dump() | {"id": pair, "project_id": project, "resource_id": resource}
        )
    return rows, problems


def _unknown(assignment: Assignment, project_missing: bool) -> Problem:
    what = (
        "its workspace is not linked to a project"
        if project_missing
        else "its person is not a known resource (no matching email or name)"
    )
    return Problem(
        record_key=f"kantata:participation:{assignment.source_id}",
        stage="identity",
        category="unknown_resource" if not project_missing else "unknown_project",
        reason=f"Kantata participation {assignment.source_id} cannot be stored: {what}.",
        entity_type="assignment",
        entity_id=assignment.id,
    )


def _harvest_pair(raw: dict[str, Any]) -> tuple[str, str]:
    """(Harvest project id, Harvest user id) of a user assignment."""
    return str((raw.get("project") or {}).get("id")), str((raw.get("user") or {}).get("id"))


def _provision(ctx: FlowContext, time: httpx.Client, rows: list[dict[str, Any]]) -> FlowResult:
    """Harvest user assignments for participations Harvest lacks (person and project known to
    Harvest, project running, person not gone)."""
    with ctx.sessions() as session:
        projects = {c: e for e, c in identity.xrefs(session, "project", harvest.VENDOR).items()}
        users = {c: e for e, c in identity.xrefs(session, "resource", harvest.VENDOR).items()}
        running = set(session.scalars(select(ProjectRow.id).where(ProjectRow.status == "active")))
        gone = set(
            session.scalars(
                select(ResourceRow.id).where(ResourceRow.employment_status == "terminated")
            )
        )
    wanted = [
        r for r in rows
        if r["project_id"] in projects and r["resource_id"] in users
        and r["project_id"] in running and r["resource_id"] not in gone
    ]  # fmt: skip
    if not wanted:
        return FlowResult()
    # a Harvest user assignment that cannot be read is the reference flow's exception
    existing = set(
        map_records(
            reference.KINDS["user_assignments"],
            (r for page in ctx.harvest.pages(time, "user_assignments") for r in page),
            _harvest_pair,
        ).entities
    )
    result = FlowResult()
    for row in wanted:
        pair = (projects[row["project_id"]], users[row["resource_id"]])
        if pair in existing:
            continue
        try:
            made = ctx.harvest.ensure_user_assignment(
                time, project_id=int(pair[0]), user_id=int(pair[1])
            )
        except (RecordError, RetryableError) as exc:
            problem = Problem(
                record_key=f"provision:assignment:{row['id']}",
                stage="provision",
                category="provisioning_failed",
                reason=(
                    f"Harvest user assignment for {row['resource_id']} on {row['project_id']} "
                    f"could not be made: {exc}"
                ),
                entity_type="assignment",
                entity_id=row["id"],
            )
            with transaction(ctx.sessions) as session:
                report_problems(session, FLOW, [problem], trace_id=current_trace_id())
            result.exceptions += 1
            continue
        with transaction(ctx.sessions) as session:
            link(session, "assignment", [(row["id"], harvest.VENDOR, str(made))])
            record_events(
                session,
                "assignment.provisioned",
                "assignment",
                [(row["id"], ctx.clock())],
                attributes={"system": harvest.VENDOR, "external_id": str(made)},
            )
            resolve_problems(
                session, FLOW, [f"provision:assignment:{row['id']}"], note="provisioned"
            )
        result.records_out += 1
    return result


# --- people who left while still staffed ---------------------------------------------------------


def terminated_with_assignments(ctx: FlowContext) -> FlowResult:
    """An exception per person who has left (termination date on or before today) and is still
    on an active assignment of a project running past their last day; resolved once they are
    not."""
    today = ctx.today()
    with ctx.sessions() as session:
        leavers = session.execute(
            select(ResourceRow.id, ResourceRow.name, ResourceRow.termination_date).where(
                ResourceRow.termination_date.is_not(None), ResourceRow.termination_date <= today
            )
        ).all()
        live = _live_assignments(session, {r for r, _, _ in leavers})
        flagged_before = set(
            session.scalars(
                select(ExceptionRow.record_key).where(
                    ExceptionRow.flow == FLOW,
                    ExceptionRow.category == TERMINATED,
                    ExceptionRow.status.in_(OPEN_STATUSES),
                )
            )
        )
    problems = []
    for resource, name, left in leavers:
        if left is None:
            continue
        projects = sorted({p for p, end in live.get(resource, []) if end is None or end > left})
        if projects:
            problems.append(_terminated(resource, name, left, projects))
    keys = {p.record_key for p in problems}
    with transaction(ctx.sessions) as session:
        settle(session, FLOW, problems, sorted(flagged_before - keys), note="no longer staffed")
    return FlowResult(len(leavers), 0, len(problems))


def _live_assignments(
    session: Session, resources: set[str]
) -> dict[str, list[tuple[str, date | None]]]:
    """Per person: (project name, the date the assignment runs to) of active assignments on
    active projects; the assignment's end, else the project's."""
    rows = session.execute(
        select(AssignmentRow.resource_id, ProjectRow.name, AssignmentRow.end, ProjectRow.end)
        .join(ProjectRow, ProjectRow.id == AssignmentRow.project_id)
        .where(
            AssignmentRow.resource_id.in_(resources),
            AssignmentRow.active.is_(True),
            ProjectRow.status == "active",
        )
    )
    out: dict[str, list[tuple[str, date | None]]] = {}
    for resource, project, assignment_end, project_end in rows:
        out.setdefault(resource, []).append((project, assignment_end or project_end))
    return out


def _terminated(resource: str, name: str, left: date, projects: list[str]) -> Problem:
    return Problem(
        record_key=f"resource:{resource}:terminated",
        stage="validate",
        category=TERMINATED,
        reason=(
            f"{name} left on {left.isoformat()} but is still assigned to {', '.join(projects)}, "
            "which run past that day. End or hand over the assignments in Kantata and Harvest."
        ),
        entity_type="resource",
        entity_id=resource,
    )
