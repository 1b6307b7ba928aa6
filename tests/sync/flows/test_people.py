"""People & projects flow against the sandbox: BambooHR people become the resources Harvest's
time names, time off and holidays are stored by day, Kantata participations become assignments,
missing Harvest user assignments are provisioned once, and leavers still staffed are flagged."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, func, select

from collectors.entities import canonical_id
from sandbox.server import Sandbox
from sandbox.vendors.kantata.projection import kantata_id
from sync.flows.identity import assignment_id
from sync.store.db import session_factory
from sync.store.tables import AssignmentRow, ExceptionRow, HolidayRow, ResourceRow, TimeOffRow
from tests.sync.flows.test_customers import run
from tests.sync.sandboxed import TODAY, engine_for, xrefs


@pytest.fixture(scope="module")
def small() -> Iterator[Sandbox]:
    box = Sandbox(seed=7, size="small", today=TODAY)
    yield box
    box.stop()


@pytest.fixture(scope="module")
def small_store(small: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    from sync.store.db import make_engine
    from sync.store.migrate import upgrade

    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('people') / 'store.db'}")
    upgrade(engine)
    run(engine_for(small, engine))
    yield engine
    engine.dispose()


def resource(employee_id: int) -> str:
    return canonical_id("harvest", "resource", employee_id)  # the id time entries name


def test_resources_are_the_worlds_people_known_in_every_system(
    small: Sandbox, small_store: Engine
) -> None:
    with session_factory(small_store)() as s:
        rows = {r.id: r for r in s.scalars(select(ResourceRow))}
    links = xrefs(small_store, "resource")
    assert len(rows) == len(small.world.employees)
    left = 0
    for person in small.world.employees:
        row = rows[resource(person.id)]
        assert (row.name, row.email, row.hire_date) == (person.name, person.email, person.hire_date)
        gone = person.termination_date is not None and person.termination_date <= TODAY
        left += gone
        assert row.termination_date == (person.termination_date if gone else None)
        assert row.employment_status == ("terminated" if gone else "active")
        assert row.weekly_capacity_hours == person.weekly_capacity_hours
        assert row.source == "bamboohr" and row.cost_rate == person.cost_rate
        for system, external in (
            ("bamboohr", str(person.id)),
            ("harvest", str(person.id)),
            ("kantata", kantata_id("user", person.id)),
        ):
            assert links[(system, external)] == row.id
    assert left > 0  # the small firm has people who left


def test_approved_time_off_hours_by_person_and_day_match_the_world(
    small: Sandbox, small_store: Engine
) -> None:
    world = small.world
    people = {e.id: e for e in world.employees}
    closed = {(h.region_id, h.day) for h in world.holidays}
    window = (TODAY - timedelta(days=730), TODAY + timedelta(days=365))
    expected: dict[tuple[str, date], Decimal] = {}
    for leave in (t for t in world.time_off if t.status == "approved"):
        region = people[leave.employee_id].region_id
        for offset in range((leave.end - leave.start).days + 1):
            day = leave.start + timedelta(days=offset)
            if day.weekday() < 5 and (region, day) not in closed and window[0] <= day:
                expected[(resource(leave.employee_id), day)] = leave.hours_per_day
    with session_factory(small_store)() as s:
        stored = {
            (r.resource_id, r.day): r.hours
            for r in s.scalars(select(TimeOffRow).where(TimeOffRow.status == "approved"))
        }
        holidays = s.scalar(select(func.count()).select_from(HolidayRow))
    assert stored.keys() == expected.keys() and expected
    off = {
        k: abs(stored[k] - v) for k, v in expected.items() if abs(stored[k] - v) > Decimal("0.05")
    }
    assert off == {}  # requests in days are converted at the person's standard day
    assert holidays == len(
        {(h.day, h.name) for h in world.holidays if window[0] <= h.day <= window[1]}
    )


def test_participations_are_one_assignment_per_project_and_person(
    small: Sandbox, small_store: Engine
) -> None:
    with session_factory(small_store)() as s:
        rows = {a.id: a for a in s.scalars(select(AssignmentRow))}
    expected = {
        assignment_id(canonical_id("harvest", "project", a.project_id), resource(a.employee_id))
        for a in small.world.assignments
    }
    assert set(rows) == expected
    links = xrefs(small_store, "assignment")
    for a in small.world.assignments:
        pair = assignment_id(
            canonical_id("harvest", "project", a.project_id), resource(a.employee_id)
        )
        assert links[("kantata", kantata_id("participation", a.id))] == pair
        assert links[("harvest", str(a.id))] == pair
        assert rows[pair].role == a.role  # Kantata's role on the row Harvest prices


def test_a_leaver_still_staffed_is_an_exception(small: Sandbox, small_store: Engine) -> None:
    world = small.world
    projects = {p.id: p for p in world.projects}
    expected = set()
    for person in world.employees:
        left = person.termination_date
        if left is None or left > TODAY:
            continue
        for a in (a for a in world.assignments if a.employee_id == person.id):
            project = projects[a.project_id]
            if project.status == "active" and (project.end is None or project.end > left):
                expected.add(resource(person.id))
    with session_factory(small_store)() as s:
        flagged = s.scalars(
            select(ExceptionRow).where(ExceptionRow.category == "terminated_with_assignments")
        ).all()
    assert expected and {e.entity_id for e in flagged} == expected
    assert all(e.status == "open" and "left on" in e.reason for e in flagged)


def test_a_participation_harvest_lacks_is_provisioned_once_and_leavers_are_flagged(
    sandbox: Sandbox, store: Engine
) -> None:
    """On the tiny firm, where nobody has left."""
    world = sandbox.world
    staffed = {(a.employee_id, a.project_id) for a in world.assignments}
    person, project = next(
        (e, p)
        for e in world.employees
        for p in world.projects
        if p.status == "active" and (e.id, p.id) not in staffed
    )
    kantata = sandbox.emulators["kantata"]
    kantata.add_participation(kantata_id("workspace", project.id), kantata_id("user", person.id))
    engine = engine_for(sandbox, store)
    run(engine)
    run(engine)
    made = sandbox.harvest.created("user_assignments")
    assert [(m["user"]["id"], m["project"]["id"]) for m in made] == [(person.id, project.id)]
    pair = assignment_id(canonical_id("harvest", "project", project.id), resource(person.id))
    assert xrefs(store, "assignment")[("harvest", str(made[0]["id"]))] == pair
    with session_factory(store)() as s:
        assert (
            s.scalar(
                select(func.count()).select_from(ExceptionRow).where(ExceptionRow.flow == "people")
            )
            == 0
        )
        # the person leaves (in the store, as BambooHR would say) while still on the project
        row = s.get(ResourceRow, resource(person.id))
        assert row is not None
        row.termination_date = TODAY - timedelta(days=1)
        s.commit()
    run(engine, ("people",))
    with session_factory(store)() as s:
        flagged = s.scalars(
            select(ExceptionRow).where(ExceptionRow.category == "terminated_with_assignments")
        ).all()
    assert [e.entity_id for e in flagged] == [resource(person.id)]
    assert project.name in flagged[0].reason
