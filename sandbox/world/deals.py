"""The commercial side: opportunities that close won or lost, contracts with billing models,
rate cards with a yearly increase, the projects that deliver each contract, and milestones.

Rate increases take effect on 1 January, and only up to go-live: time plan2cash invoices is
always priced by the card's current version, which is the rate the time system shows.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sandbox.world import catalog
from sandbox.world.model import (
    BillingModel,
    Contract,
    ContractStatus,
    Customer,
    Milestone,
    Opportunity,
    Project,
    RateCard,
    RateCardVersion,
)
from sandbox.world.org import Organisation, at, clamp
from sandbox.world.sizes import Shape

MODELS: tuple[BillingModel, ...] = ("time-and-materials", "fixed-fee", "milestone", "retainer")
MODEL_WEIGHTS = (0.7, 0.12, 0.1, 0.08)
FIVE = Decimal(5)


@dataclass(frozen=True)
class Deals:
    opportunities: list[Opportunity]
    rate_cards: list[RateCard]
    contracts: list[Contract]
    projects: list[Project]
    milestones: list[Milestone]


def rate_cards(
    rng: random.Random, customers: list[Customer], history_start: date, go_live: date
) -> list[RateCard]:
    """One card per customer: base rates × a negotiated factor, +4 % every 1 January."""
    first = date(history_start.year - 1, 1, 1)
    increases = [date(y, 1, 1) for y in range(first.year + 1, go_live.year + 1)]
    increases = [d for d in increases if d <= go_live]
    starts = [first, *increases]
    cards = []
    for customer in customers:
        factor = rng.choice(catalog.RATE_FACTORS) * catalog.FX_FROM_USD[customer.currency]
        versions = []
        for k, start in enumerate(starts):
            ends = starts[k + 1] - timedelta(days=1) if k + 1 < len(starts) else None
            scale = factor * catalog.YEARLY_INCREASE**k
            rates = {
                role: (Decimal(base) * scale / FIVE).quantize(Decimal(1)) * FIVE
                for role, base in catalog.BASE_RATES_USD.items()
            }
            versions.append(RateCardVersion(start, ends, rates))
        cards.append(
            RateCard(customer.id, f"{customer.name} rates", customer.currency, tuple(versions))
        )
    return cards


def deals(
    rng: random.Random,
    shape: Shape,
    org: Organisation,
    customers: list[Customer],
    cards: list[RateCard],
    history_start: date,
    today: date,
) -> Deals:
    windows = (
        _tiny_windows(rng, customers, history_start, today)
        if shape.size == "tiny"
        else (_windows(rng, shape, customers, history_start, today))
    )
    out = Deals([], cards, [], [], [])
    per_customer: dict[int, int] = {}
    for customer, start, end in windows:
        model = (
            MODELS[0] if shape.only_time_and_materials else rng.choices(MODELS, MODEL_WEIGHTS)[0]
        )
        _won(rng, out, customer, model, start, end, today, org, per_customer)
    if shape.size != "tiny":
        for _ in range(round(len(windows) * 0.8)):
            _lost_or_open(rng, out, rng.choice(customers), history_start, today)
    return out


def _tiny_windows(
    rng: random.Random, customers: list[Customer], history_start: date, today: date
) -> list[tuple[Customer, date, date]]:
    windows = []
    for customer in customers:
        for _ in range(rng.choice((1, 2))):
            start = history_start - timedelta(days=rng.randrange(30, 200))
            windows.append((customer, start, today + timedelta(days=rng.randrange(120, 300))))
    weeks = (today - history_start).days // 7
    customer, start, _ = windows[-1]  # one engagement closed a few weeks ago
    windows[-1] = (customer, start, today - timedelta(days=7 * max(2, min(3, weeks // 2))))
    return windows


def _windows(
    rng: random.Random, shape: Shape, customers: list[Customer], history_start: date, today: date
) -> list[tuple[Customer, date, date]]:
    horizon = history_start - timedelta(days=300)
    span = (today - horizon).days
    active = max(1.0, shape.consultants / 4.5)
    count = max(len(customers), round(active * span / 240))
    windows = []
    for i in range(count):
        customer = customers[i] if i < len(customers) else rng.choice(customers)
        start = horizon + timedelta(days=rng.randrange(span - 10))
        windows.append((customer, start, start + timedelta(days=rng.randrange(90, 400))))
    for _ in range(max(1, count // 50)):  # won lately; contract not yet activated
        start = today + timedelta(days=rng.randrange(5, 30))
        windows.append((rng.choice(customers), start, start + timedelta(days=180)))
    return sorted(windows, key=lambda w: (w[1], w[0].id))


def _won(
    rng: random.Random,
    out: Deals,
    customer: Customer,
    model: BillingModel,
    start: date,
    end: date,
    today: date,
    org: Organisation,
    per_customer: dict[int, int],
) -> None:
    closed = start - timedelta(days=rng.randrange(3, 21))
    amount = Decimal(rng.randrange(40, 900) * 1000)
    opportunity = _opportunity(rng, out, customer, closed, amount, True, today)
    draft = start > today
    status: ContractStatus = "draft" if draft else ("expired" if end < today else "activated")
    activated = None if draft else clamp(at(start - timedelta(days=1), 15), today)
    contract = Contract(
        id=len(out.contracts) + 1,
        customer_id=customer.id,
        opportunity_id=opportunity.id,
        number=f"{len(out.contracts) + 1:08d}",
        name=f"{customer.name} {rng.choice(catalog.ENGAGEMENTS)}",
        billing_model=model,
        currency=customer.currency,
        rate_card_id=customer.id,
        legal_entity_id=customer.legal_entity_id,
        start=start,
        end=end,
        status=status,
        activated_at=activated,
        not_to_exceed=amount * 2 if model == MODELS[0] and rng.random() < 0.3 else None,
        fee=_fee(model, amount, start, end),
        updated_at=clamp(at(end + timedelta(days=1), 9), today)
        if status == "expired"
        else (activated or opportunity.updated_at),
    )
    out.contracts.append(contract)
    if not draft:
        _project(rng, out, customer, contract, today, org, per_customer)


def _fee(model: BillingModel, amount: Decimal, start: date, end: date) -> Decimal | None:
    if model in ("fixed-fee", "milestone"):
        return amount
    if model == "retainer":
        months = max(1, round((end - start).days / 30.44))
        return (amount / months).quantize(Decimal(1))
    return None


def _opportunity(
    rng: random.Random,
    out: Deals,
    customer: Customer,
    closes: date,
    amount: Decimal,
    won: bool | None,
    today: date,
) -> Opportunity:
    created = at(closes - timedelta(days=rng.randrange(20, 90)), 11)
    stage = {True: "Closed Won", False: "Closed Lost", None: rng.choice(catalog.OPEN_STAGES)}[won]
    updated = clamp(at(closes, 16), today) if won is not None else created
    opportunity = Opportunity(
        len(out.opportunities) + 1,
        customer.id,
        f"{customer.name} — {rng.choice(catalog.ENGAGEMENTS)}",
        amount,
        customer.currency,
        stage,
        closes,
        won,
        created,
        updated,
    )
    out.opportunities.append(opportunity)
    return opportunity


def _lost_or_open(
    rng: random.Random, out: Deals, customer: Customer, history_start: date, today: date
) -> None:
    amount = Decimal(rng.randrange(30, 700) * 1000)
    if rng.random() < 0.2:
        closes = today + timedelta(days=rng.randrange(5, 120))
        _opportunity(rng, out, customer, closes, amount, None, today)
        return
    closes = history_start + timedelta(days=rng.randrange(max(1, (today - history_start).days)))
    _opportunity(rng, out, customer, closes, amount, False, today)


def _project(
    rng: random.Random,
    out: Deals,
    customer: Customer,
    contract: Contract,
    today: date,
    org: Organisation,
    per_customer: dict[int, int],
) -> None:
    per_customer[customer.id] = per_customer.get(customer.id, 0) + 1
    closed = contract.end < today
    created = clamp(at(contract.start - timedelta(days=3), 10), today)
    project = Project(
        id=len(out.projects) + 1,
        contract_id=contract.id,
        customer_id=customer.id,
        code=f"{customer.code}-{per_customer[customer.id]:02d}",
        name=f"{customer.name.split()[0]} {contract.name.split(' ', 2)[-1]}",
        practice_id=rng.choice(org.practices).id,
        region_id=customer.region_id,
        legal_entity_id=customer.legal_entity_id,
        status="closed" if closed else "active",
        start=contract.start,
        end=contract.end,
        budget=contract.fee or contract.not_to_exceed,
        currency=contract.currency,
        created_at=created,
        updated_at=clamp(at(contract.end + timedelta(days=1), 11), today) if closed else created,
    )
    out.projects.append(project)
    if contract.billing_model in ("fixed-fee", "milestone") and contract.fee:
        _milestones(out, project, contract.fee, today)


def _milestones(out: Deals, project: Project, fee: Decimal, today: date) -> None:
    end = project.end or project.start + timedelta(days=180)
    parts = 4 if (end - project.start).days > 120 else 2
    share = (fee / parts).quantize(Decimal("0.01"))
    for k in range(1, parts + 1):
        due = project.start + (end - project.start) * k // parts
        done = due if due < today else None
        out.milestones.append(
            Milestone(
                len(out.milestones) + 1,
                project.id,
                f"Phase {k}",
                due,
                share if k < parts else fee - share * (parts - 1),
                done,
                clamp(at(due, 12), today) if done else project.created_at,
            )
        )
