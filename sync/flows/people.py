"""People & projects (DESIGN §4, flow 2): BambooHR people, time off and holidays; Kantata
participations as assignments; the Harvest user assignments they imply.

BambooHR is the system of record for people: an employee changed since the cursor becomes the
canonical resource (hire and termination dates, practice, region, capacity) of the Harvest user
with the same work email (else the same name; two are an ``identity_ambiguous`` exception), so one
resource is cross-referenced from both and time entries keep naming it; a person Harvest does not
know yet gets a resource of their own. Time off is stored a day at a time in hours (a request in
days is converted at the person's standard day); company holidays a day at a time, for the
locations that observe them where their countries are configured (``holiday_scope``).

A Kantata participation is the assignment of its project's canonical resource
(``identity.assignment_id``: one row per project and person whichever system shows it); where
Harvest lacks the user assignment it is provisioned (look up, then create). Last, anyone who has
left but is still on a running project is a ``terminated_with_assignments`` exception.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from collectors import bamboohr, harvest
from collectors.entities import Resource
from sync.flows import identity, reference
from sync.flows.context import FlowContext, FlowResult
from sync.flows.holiday_scope import HolidayScope
from sync.flows.staffing import participations, terminated_with_assignments
from sync.flows.unreadable import INVALID_RECORD, STAGE, RecordKind, map_records, received, settle
from sync.pipeline import with_last
from sync.store.db import transaction, upsert
from sync.store.repo import Problem, get_cursor, link, set_cursor
from sync.store.tables import HolidayRow, ResourceRow, TimeOffRow
from sync.store.vocabulary import Flow
from sync.telemetry import record_events, tracer

FLOW = Flow.PEOPLE
HR = bamboohr.VENDOR
HISTORY_DAYS = 730  # how far back the first run reads time off and holidays
LOOKBACK_DAYS = 90  # later runs: requests can still be approved or cancelled this long after
AHEAD_DAYS = 365
EMPLOYEE = RecordKind(HR, "employee", "BambooHR employee", "resource", ("employeeId", "id"))
TIME_OFF = RecordKind(HR, "time_off", "BambooHR time off request", "time_off")
WHOS_OUT = RecordKind(HR, "whos_out", "BambooHR who's out entry", "holiday")
HR_OWNED = [
    "name", "email", "role", "practice", "region", "weekly_capacity_hours", "employment_status",
    "hire_date", "termination_date", "source", "source_id", "updated_at", "schema_version",
]  # fmt: skip


def run(ctx: FlowContext) -> FlowResult:
    result = FlowResult()
    with ctx.harvest.client() as time:
        # a Harvest user that cannot be read is the reference flow's exception; here it matches
        # no one until it is fixed
        listed = (r for page in ctx.harvest.pages(time, "users") for r in page)
        users = map_records(reference.KINDS["users"], listed, harvest.to_resource).entities
        with ctx.bamboohr.client() as hr:
            result.add(_employees(ctx, hr, users))
            result.add(_time_off(ctx, hr))
        with ctx.kantata.client() as psa:
            result.add(participations(ctx, psa, time))
    result.add(terminated_with_assignments(ctx))
    return result


# --- employees → resources -----------------------------------------------------------------------


def _employees(ctx: FlowContext, hr: httpx.Client, users: list[Resource]) -> FlowResult:
    result = FlowResult()
    with ctx.sessions() as session:
        cursor = get_cursor(session, HR, "employees")
    lag = timedelta(seconds=ctx.settings.billing.cursor_lag_seconds)
    since = datetime.fromisoformat(cursor) - lag if cursor else None
    newest = datetime.fromisoformat(cursor) if cursor else None
    for page, last in with_last(ctx.bamboohr.pages(hr, "employees", since)):
        with tracer.start_as_current_span(
            "people employees page", attributes={"records": len(page)}
        ):
            page = ctx.bamboohr.complete(hr, page)
            people, problems = _map_people(page)
            newest = max(filter(None, [newest, *(p.updated_at for p in people)]), default=None)
            with transaction(ctx.sessions) as session:
                stored, ambiguous = _store_people(session, people, users)
                problems += ambiguous
                settle(session, FLOW, problems, [_key(p.source_id) for p in stored], note="synced")
                if last and newest is not None:
                    set_cursor(session, HR, "employees", newest.isoformat())
        result.add(FlowResult(len(page), len(stored), len(problems)))
    return result


def _key(employee_id: str) -> str:
    return EMPLOYEE.key({"id": employee_id})


def _map_people(page: list[Any]) -> tuple[list[Resource], list[Problem]]:
    mapped = map_records(EMPLOYEE, page, bamboohr.to_resource)
    return mapped.entities, mapped.problems


def _store_people(
    session: Session, people: list[Resource], users: list[Resource]
) -> tuple[list[Resource], list[Problem]]:
    """Resolve each person to a canonical resource and store HR's fields on it."""
    known = identity.xrefs(session, "resource", HR)
    taken = identity.claimed(session, "resource", HR)
    emails = identity.Index.of(((identity.normal_email(u.email), u.id) for u in users), taken)
    names = identity.Index.of(((identity.normal_name(u.name), u.id) for u in users), taken)
    harvest_ids = {u.id: u.source_id for u in users}
    stored: list[Resource] = []
    problems: list[Problem] = []
    for person in people:
        keys = [identity.normal_email(person.email), identity.normal_name(person.name)]
        found = identity.resolve(known, person.source_id, emails, keys[:1], person.id)
        if found.how == "new":
            found = identity.resolve(known, person.source_id, names, keys[1:], person.id)
        if found.canonical_id is None:
            what = "BambooHR person"
            problems.append(
                identity.ambiguous(_key(person.source_id), what, person.name, found, None)
            )
            continue
        identity.claim(known, emails, person.source_id, found.canonical_id, keys[:1])
        names.taken.add(found.canonical_id)
        stored.append(person.model_copy(update={"id": found.canonical_id}))
    before = dict(
        session.execute(
            select(ResourceRow.id, ResourceRow.updated_at).where(
                ResourceRow.id.in_([p.id for p in stored]), ResourceRow.source == HR
            )
        ).all()
    )
    upsert(session, ResourceRow, [p.model_dump() for p in stored], keys=["id"], update=HR_OWNED)
    link(session, "resource", [(p.id, HR, p.source_id) for p in stored])
    link(
        session,
        "resource",
        [(p.id, harvest.VENDOR, harvest_ids[p.id]) for p in stored if p.id in harvest_ids],
    )
    record_events(
        session,
        "resource.synced",
        "resource",
        [(p.id, p.updated_at) for p in stored if before.get(p.id) != p.updated_at],
        attributes={"system": HR},
    )
    return stored, problems


# --- time off and holidays -----------------------------------------------------------------------


def _time_off(ctx: FlowContext, hr: httpx.Client) -> FlowResult:
    """Time off requests and company holidays over a window: from far back on the first run,
    then the recent past (where approvals and cancellations still land) and the year ahead."""
    today = ctx.today()
    with ctx.sessions() as session:
        read_before = get_cursor(session, HR, "time_off")
    start = today - timedelta(days=LOOKBACK_DAYS if read_before else HISTORY_DAYS)
    end = today + timedelta(days=AHEAD_DAYS)
    with tracer.start_as_current_span("people time off", attributes={"from": str(start)}):
        requests = ctx.bamboohr.time_off(hr, start, end)
        absences = ctx.bamboohr.whos_out(hr, start, end)
    with transaction(ctx.sessions) as session:
        rows, problems, fine = _time_off_rows(session, requests, ctx.clock())
        scope = _holiday_scope(session, ctx.settings.bamboohr.location_countries)
        entries = map_records(WHOS_OUT, absences, bamboohr.to_whos_out)
        holidays = _holiday_rows(entries.entities, scope, ctx.clock())
        problems += entries.problems
        upsert(session, TimeOffRow, rows, keys=["id"])
        read = {r["request_id"] for r in rows} | {p.record_key.rsplit(":", 1)[1] for p in problems}
        _drop_stale_days(session, read, {r["id"] for r in rows})
        upsert(session, HolidayRow, holidays, keys=["id"])
        _drop_stale_holidays(session, start, end, {h["id"] for h in holidays})
        settle(session, FLOW, problems, [*fine, *entries.keys], note="synced")
        set_cursor(session, HR, "time_off", today.isoformat())
    return FlowResult(len(requests) + len(absences), len(rows) + len(holidays), len(problems))


def _time_off_rows(
    session: Session, requests: list[Any], moment: datetime
) -> tuple[list[dict[str, Any]], list[Problem], list[str]]:
    """Rows of each day off, the problems of requests that cannot be stored, and the keys of
    those that were."""
    people = identity.xrefs(session, "resource", HR)
    by_hr_id = {bamboohr.resource_id(ext): cid for ext, cid in people.items()}
    capacity = dict(
        session.execute(select(ResourceRow.id, ResourceRow.weekly_capacity_hours)).all()
    )
    rows: list[dict[str, Any]] = []
    mapped = map_records(TIME_OFF, requests, bamboohr.to_time_off)
    problems, fine = mapped.problems, []
    for raw, request in mapped.read:
        resource = by_hr_id.get(request.resource_id)
        if resource is None:
            why = "belongs to a person plan2cash has not synced from BambooHR"
            problems.append(_time_off_problem(request.source_id, why, raw))
            continue
        fine.append(TIME_OFF.key(raw))
        day_hours = Decimal(capacity.get(resource) or bamboohr.mapping.DEFAULT_WEEKLY_HOURS) / 5
        for day, amount in request.daily:
            hours = amount if request.unit == "hours" else amount * day_hours
            if hours > 0:
                rows.append(_time_off_row(request, resource, day, hours, moment))
    return rows, problems, fine


def _time_off_row(
    request: bamboohr.TimeOffRecord, resource: str, day: date, hours: Decimal, moment: datetime
) -> dict[str, Any]:
    return {
        "id": f"{HR}:{request.source_id}:{day.isoformat()}",
        "request_id": request.source_id,
        "resource_id": resource,
        "day": day,
        "hours": hours.quantize(Decimal("0.01")),
        "kind": request.kind or None,
        "status": request.status,
        "source": HR,
        "updated_at": moment,
    }


def _time_off_problem(request_id: str, why: str, raw: Any) -> Problem:
    return Problem(
        record_key=f"bamboohr:time_off:{request_id}",
        stage=STAGE,
        category=INVALID_RECORD,
        reason=f"BambooHR time off request {request_id} {why}.",
        payload=received(raw),
        entity_type="time_off",
    )


def _drop_stale_days(session: Session, requests: set[str], kept: set[str]) -> None:
    """Days a request no longer covers (its dates changed) go; the rest were just upserted."""
    if requests:
        session.execute(
            delete(TimeOffRow).where(
                TimeOffRow.request_id.in_(requests), TimeOffRow.id.not_in(kept or {""})
            )
        )


def _holiday_scope(session: Session, countries: dict[str, str]) -> HolidayScope:
    """Where holidays apply, over the configured locations and those people are in."""
    located = session.scalars(
        select(ResourceRow.region).where(ResourceRow.source == HR).distinct()
    ).all()
    return HolidayScope(countries, [*countries, *filter(None, located)])


def _drop_stale_holidays(session: Session, start: date, end: date, kept: set[str]) -> None:
    """Holiday days read before but not now (removed, or now scoped to other locations)."""
    session.execute(
        delete(HolidayRow).where(
            HolidayRow.source == HR,
            HolidayRow.day.between(start, end),
            HolidayRow.id.not_in(kept or {""}),
        )
    )


def _holiday_rows(
    entries: list[bamboohr.Absence | bamboohr.Holiday], scope: HolidayScope, moment: datetime
) -> list[dict[str, Any]]:
    rows = []
    for entry in entries:
        if not isinstance(entry, bamboohr.Holiday):
            continue
        for offset in range((entry.end - entry.start).days + 1):
            day = entry.start + timedelta(days=offset)
            for region in scope.regions(day):
                key = f"{HR}:{entry.source_id}:{day.isoformat()}"
                rows.append(
                    {
                        "id": key if region is None else f"{key}:{region}",
                        "region": region,
                        "day": day,
                        "name": entry.name,
                        "source": HR,
                        "updated_at": moment,
                    }
                )
    return rows
