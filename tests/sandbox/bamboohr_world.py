"""A small hand-built world for the BambooHR emulator and connector tests.

Two legal entities, two regions, three practices and a dozen people: one terminated last year,
one leaving next month, one hired next month, one part-timer; time off in every status, and
holidays (one shared by both regions, one regional). Built from the model's dataclasses only, so
the tests do not wait for the world generator. ``client_for`` wires an httpx client to an
emulator in-process, authenticated and asking for JSON.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import httpx

from sandbox.transport import InProcessTransport
from sandbox.vendors.bamboohr import BambooHREmulator
from sandbox.world.model import (
    Employee,
    Holiday,
    Practice,
    TimeOff,
    TimeOffStatus,
    World,
)
from tests.sandbox.worlds import custom_world, us_and_uk

BASE_URL = "http://127.0.0.1:8713/api/v1/"
API_AUTH = ("sandbox-bamboohr-key", "x")
TODAY = date(2026, 3, 12)
NOW = datetime(2026, 3, 12, 12, 0, tzinfo=UTC)
TERMINATED_ID = 4
LEAVING_ID = 7
FUTURE_HIRE_ID = 12
PART_TIMER_ID = 9

Row = tuple[int, str, str, str, int, int, int | None, date, date | None]
# id, first, last, role, practice, region (= legal entity), manager, hired, terminated
_PEOPLE: tuple[Row, ...] = (
    (1, "Ava", "Nguyen", "Partner", 1, 1, None, date(2015, 1, 5), None),
    (2, "Sam", "Park", "Principal", 1, 1, 1, date(2017, 4, 3), None),
    (3, "Lena", "Smith", "Senior Consultant", 2, 1, 2, date(2019, 9, 16), None),
    (4, "Marco", "Lee", "Consultant", 2, 2, 2, date(2020, 2, 3), date(2025, 6, 30)),
    (5, "Priya", "Shah", "Consultant", 3, 2, 2, date(2021, 1, 11), None),
    (6, "Tom", "Becker", "Analyst", 3, 2, 5, date(2022, 6, 1), None),
    (7, "Ines", "Garcia", "Senior Consultant", 1, 2, 2, date(2018, 3, 1), date(2026, 4, 15)),
    (8, "Yuki", "Tanaka", "Analyst", 2, 1, 3, date(2023, 8, 21), None),
    (9, "Olu", "Adeyemi", "Consultant", 3, 1, 3, date(2024, 2, 5), None),
    (10, "Hana", "Novak", "Principal", 2, 2, 1, date(2016, 10, 10), None),
    (11, "Raj", "Mehta", "Analyst", 1, 1, 10, date(2025, 9, 1), None),
    (12, "Eva", "Holm", "Consultant", 1, 2, 10, date(2026, 4, 1), None),
)


def _employee(row: Row) -> Employee:
    ident, first, last, role, practice, region, manager, hired, ended = row
    return Employee(
        id=ident,
        first_name=first,
        last_name=last,
        email=f"{first.lower()}.{last.lower()}@meridian.example",
        role=role,
        practice_id=practice,
        region_id=region,
        legal_entity_id=region,
        manager_id=manager,
        hire_date=hired,
        termination_date=ended,
        cost_rate=Decimal("85.00"),
        weekly_capacity_hours=Decimal(20) if ident == PART_TIMER_ID else Decimal(40),
        updated_at=NOW - timedelta(days=30 - ident),
    )


def _leave(
    ident: int, who: int, start: date, days: int, kind: str, status: TimeOffStatus
) -> TimeOff:
    stamp = datetime.combine(start - timedelta(days=20), datetime.min.time(), tzinfo=UTC)
    return TimeOff(
        id=ident,
        employee_id=who,
        start=start,
        end=start + timedelta(days=days - 1),
        kind=kind,
        status=status,
        hours_per_day=Decimal(4) if kind == "Sick" else Decimal(8),
        created_at=stamp,
        updated_at=stamp + timedelta(days=1),
    )


def build_world() -> World:
    """The fixture world; a fresh one each call (emulators mutate nothing in it, but tests may)."""
    return custom_world(
        "meridian",
        TODAY,
        (date(2024, 9, 1), date(2026, 1, 1), date(2026, 2, 28)),
        **us_and_uk("Meridian Advisory", "9f1c0d4e", "Europe"),
        practices=[Practice(1, "Strategy"), Practice(2, "Technology"), Practice(3, "Operations")],
        employees=[_employee(row) for row in _PEOPLE],
        time_off=[
            _leave(1, 3, date(2026, 3, 9), 5, "Vacation", "approved"),
            _leave(2, 5, date(2026, 3, 16), 3, "Vacation", "requested"),
            _leave(3, 6, date(2026, 3, 11), 1, "Sick", "approved"),
            _leave(4, 8, date(2026, 2, 2), 2, "Vacation", "denied"),
            _leave(5, 9, date(2026, 3, 20), 2, "Vacation", "canceled"),
            _leave(6, 2, date(2026, 5, 25), 10, "Parental leave", "approved"),
        ],
        holidays=[
            Holiday(1, date(2026, 1, 1), "New Year's Day"),
            Holiday(2, date(2026, 1, 1), "New Year's Day"),
            Holiday(1, date(2026, 5, 25), "Memorial Day"),
            Holiday(2, date(2026, 5, 25), "Spring Bank Holiday"),
            Holiday(2, date(2026, 3, 17), "Meridian Day"),
        ],
    )


def client_for(emulator: BambooHREmulator, base: str = BASE_URL) -> httpx.Client:
    """A client for ``emulator`` with no sockets; closing it stops the in-process transport."""
    return httpx.Client(
        transport=InProcessTransport(emulator.app),
        base_url=base,
        auth=API_AUTH,
        headers={"Accept": "application/json"},
    )
