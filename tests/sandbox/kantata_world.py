"""A small hand-built world for the Kantata emulator and connector tests.

Until the world generator lands this is the fixture: two customers, three contracts on two rate
cards (one with two effective-dated versions), four projects (one closed), five assignments, two
milestones, one historical invoice (paid) and a few time entries, one of them on a project no
system knows.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import polars as pl

from sandbox.world.model import (
    TIME_COLUMNS,
    Assignment,
    BillingModel,
    Contract,
    Customer,
    Employee,
    Invoice,
    InvoiceLine,
    LegalEntity,
    Milestone,
    Payment,
    Practice,
    Project,
    RateCard,
    RateCardVersion,
    Region,
    World,
)
from tests.sandbox.worlds import custom_world

TODAY = date(2025, 3, 12)
T0 = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
TENANT = "00000000-0000-0000-0000-000000000001"


def _at(day: int) -> datetime:
    return T0 + timedelta(days=day)


def rate_cards() -> list[RateCard]:
    standard = RateCard(
        1,
        "Standard USD",
        "USD",
        (
            RateCardVersion(
                date(2024, 1, 1),
                date(2024, 12, 31),
                {"Consultant": Decimal("150.00"), "Manager": Decimal("210.00")},
            ),
            RateCardVersion(
                date(2025, 1, 1),
                None,
                {
                    "Consultant": Decimal("160.00"),
                    "Manager": Decimal("225.50"),
                    "Partner": Decimal("400.00"),
                },
            ),
        ),
    )
    euro = RateCard(
        2,
        "Standard EUR",
        "EUR",
        (RateCardVersion(date(2024, 1, 1), None, {"Consultant": Decimal("140.00")}),),
    )
    return [standard, euro]


def _customers() -> list[Customer]:
    return [
        Customer(1, "Acme Corp", "ACME", None, "Manufacturing", 1, 1, "USD", 30, 35.0, T0, T0),
        Customer(2, "Globex GmbH", "GLOBEX", None, "Energy", 1, 1, "EUR", 45, 50.0, T0, T0),
    ]


def _contracts() -> list[Contract]:
    def contract(
        cid: int, customer: int, model: BillingModel, currency: str, card: int
    ) -> Contract:
        return Contract(
            id=cid,
            customer_id=customer,
            opportunity_id=cid,
            number=f"0000100{cid}",
            name=f"Contract {cid}",
            billing_model=model,
            currency=currency,
            rate_card_id=card,
            legal_entity_id=1,
            start=date(2024, 6, 1),
            end=date(2025, 12, 31),
            status="activated",
            activated_at=T0,
            not_to_exceed=None,
            fee=None,
            updated_at=T0,
        )

    return [
        contract(1, 1, "time-and-materials", "USD", 1),
        contract(2, 1, "milestone", "USD", 1),
        contract(3, 2, "time-and-materials", "EUR", 2),
    ]


def _projects() -> list[Project]:
    def project(pid: int, contract: int, customer: int, currency: str, **kw: object) -> Project:
        fields: dict[str, object] = dict(
            id=pid,
            contract_id=contract,
            customer_id=customer,
            code=f"P-{pid:02d}",
            name=f"Project {pid}",
            practice_id=1,
            region_id=1,
            legal_entity_id=1,
            status="active",
            start=date(2024, 6, 1),
            end=date(2025, 12, 31),
            budget=Decimal("50000.00"),
            currency=currency,
            created_at=T0,
            updated_at=_at(pid),
        )
        fields.update(kw)
        return Project(**fields)  # type: ignore[arg-type]

    return [
        project(1, 1, 1, "USD"),
        project(2, 2, 1, "USD", budget=None),
        project(3, 3, 2, "EUR"),
        project(4, 1, 1, "USD", status="closed", end=date(2024, 12, 20)),
    ]


def _employees() -> list[Employee]:
    roles = ["Consultant", "Consultant", "Manager", "Partner"]
    return [
        Employee(
            id=i,
            first_name=f"Person{i}",
            last_name="Example",
            email=f"p{i}@firm.example",
            role=role,
            practice_id=1,
            region_id=1,
            legal_entity_id=1,
            manager_id=None,
            hire_date=date(2023, 1, 2),
            termination_date=None,
            cost_rate=Decimal("80"),
            weekly_capacity_hours=Decimal("40"),
            updated_at=T0,
        )
        for i, role in enumerate(roles, start=1)
    ]


def _assignments() -> list[Assignment]:
    pairs = [(1, 1, "Consultant"), (1, 3, "Manager"), (2, 2, "Consultant"), (3, 1, "Consultant")]
    pairs.append((1, 4, "Partner"))
    return [
        Assignment(
            id=i,
            project_id=project,
            employee_id=employee,
            role=role,
            start=date(2024, 6, 1),
            end=None,
            planned_hours=Decimal("100"),
            rate_override=None,
            updated_at=_at(i),
        )
        for i, (project, employee, role) in enumerate(pairs, start=1)
    ]


def _time_entries() -> pl.DataFrame:
    rows = [
        (1, 1, 1, "Delivery", date(2025, 3, 3), Decimal("7.50"), True, "", "approved"),
        (2, 2, 2, "Delivery", date(2025, 3, 4), Decimal("8.00"), True, "", "submitted"),
        (3, 3, 1, "Delivery", date(2025, 3, 4), Decimal("2.25"), False, "", "approved"),
        (4, 1, 99, "Delivery", date(2025, 3, 5), Decimal("1.00"), True, "", "approved"),
    ]
    data = [(*row, T0, T0, T0 if row[-1] == "approved" else None, _at(10), None) for row in rows]
    return pl.DataFrame(data, schema=TIME_COLUMNS, orient="row")


def build_world() -> World:
    """A fresh world (emulators mutate their own copies of its records, never the world)."""
    invoice = Invoice(
        id=1,
        number="INV-0001",
        legal_entity_id=1,
        customer_id=1,
        contract_id=1,
        currency="USD",
        issue_date=date(2025, 1, 31),
        due_date=date(2025, 3, 2),
        period_start=date(2025, 1, 1),
        period_end=date(2025, 1, 31),
        lines=(InvoiceLine("January", Decimal("10"), Decimal("160"), Decimal("1600")),),
        total=Decimal("1600"),
        disputed=False,
        updated_at=_at(31),
    )
    return custom_world(
        "kantata-test",
        TODAY,
        (date(2024, 6, 1), date(2025, 1, 1), date(2025, 1, 31)),
        seed=1,
        legal_entities=[LegalEntity(1, "Firm Inc", "US", "USD", TENANT)],
        regions=[Region(1, "North America", "US", 1)],
        practices=[Practice(1, "Technology")],
        customers=_customers(),
        rate_cards=rate_cards(),
        contracts=_contracts(),
        projects=_projects(),
        milestones=[
            Milestone(
                1, 2, "Sign-off", date(2025, 2, 28), Decimal("12000"), date(2025, 2, 27), _at(7)
            ),
            Milestone(2, 2, "Go live", date(2025, 6, 30), Decimal("18000.50"), None, _at(8)),
        ],
        employees=_employees(),
        assignments=_assignments(),
        invoices=[invoice],
        payments=[Payment(1, 1, date(2025, 2, 20), Decimal("1600"), _at(20))],
        time_entries=_time_entries(),
    )
