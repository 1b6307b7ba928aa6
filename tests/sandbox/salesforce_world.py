"""A small hand-built ``World`` for the Salesforce emulator and connector tests.

Built from the model's dataclasses only (the seeded generator is someone else's module), with
enough customers to page: ``customers`` accounts, one opportunity each (two in three won, the
rest lost or open), and an activated contract per won opportunity, a few of them still drafts.
Every timestamp is before ``NOW``, spread a minute apart so that ordering by ``SystemModstamp``
is meaningful.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from sandbox.transport import InProcessTransport
from sandbox.vendors.salesforce import SalesforceEmulator
from sandbox.world.model import (
    Contract,
    Customer,
    Opportunity,
    Practice,
    RateCard,
    RateCardVersion,
    World,
)
from tests.sandbox.worlds import custom_world, us_and_uk

NOW = datetime(2025, 3, 12, 12, 0, tzinfo=UTC)
TODAY = NOW.date()
BASE = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
MODELS = ("time-and-materials", "fixed-fee", "milestone", "retainer")
CURRENCIES = ("USD", "GBP")


def _customer(i: int) -> Customer:
    created = BASE - timedelta(days=400 - i % 300)
    return Customer(
        id=i,
        name=f"Customer {i:04d} Ltd",
        code=f"C{i:04d}",
        parent_id=1 if i % 10 == 5 else None,
        industry=("Banking", "Retail", "Energy")[i % 3],
        region_id=1 + i % 2,
        legal_entity_id=1 + i % 2,
        currency=CURRENCIES[i % 2],
        payment_terms_days=(30, 45, 60)[i % 3],
        days_to_pay_mean=35.0,
        created_at=created,
        updated_at=BASE + timedelta(minutes=i),
    )


def _opportunity(i: int) -> Opportunity:
    won: bool | None = True if i % 3 else (False if i % 2 else None)
    stage = {True: "Closed Won", False: "Closed Lost", None: "Proposal/Price Quote"}[won]
    return Opportunity(
        id=i,
        customer_id=i,
        name=f"Customer {i:04d} — transformation",
        amount=Decimal(10_000 + 250 * i),
        currency=CURRENCIES[i % 2],
        stage=stage,
        close_date=date(2025, 1, 1) + timedelta(days=i % 60),
        won=won,
        created_at=BASE - timedelta(days=90),
        updated_at=BASE + timedelta(minutes=i, seconds=30),
    )


def _contract(i: int) -> Contract:
    model = MODELS[i % 4]
    status = "draft" if i % 17 == 0 else ("expired" if i % 13 == 0 else "activated")
    start = date(2025, 1, 1) + timedelta(days=i % 60)
    return Contract(
        id=i,
        customer_id=i,
        opportunity_id=i,
        number=f"{i:08d}",
        name=f"Customer {i:04d} MSA",
        billing_model=model,  # type: ignore[arg-type]
        currency=CURRENCIES[i % 2],
        rate_card_id=1 + i % 2,
        legal_entity_id=1 + i % 2,
        start=start,
        end=start + timedelta(days=364),
        status=status,  # type: ignore[arg-type]
        activated_at=None if status == "draft" else BASE + timedelta(minutes=i, seconds=45),
        not_to_exceed=Decimal(50_000) if model == "time-and-materials" else None,
        fee=Decimal(120_000) if model in ("fixed-fee", "retainer") else None,
        updated_at=BASE + timedelta(minutes=i, seconds=45),
    )


def salesforce_world(customers: int = 450) -> World:
    """A world with ``customers`` accounts and their deals, nothing else."""
    ids = range(1, customers + 1)
    rate_cards = [
        RateCard(
            id=n,
            name=f"Standard {currency}",
            currency=currency,
            versions=(
                RateCardVersion(date(2024, 1, 1), None, {"Consultant": Decimal(150 + 50 * n)}),
            ),
        )
        for n, currency in ((1, "USD"), (2, "GBP"))
    ]
    return custom_world(
        "Salesforce test firm",
        TODAY,
        (date(2023, 9, 1), date(2025, 1, 1), date(2025, 1, 31)),
        **us_and_uk("Plan2 Consulting", "7b1c6c1e", "UK & Ireland"),
        practices=[Practice(1, "Technology")],
        customers=[_customer(i) for i in ids],
        opportunities=[_opportunity(i) for i in ids],
        rate_cards=rate_cards,
        contracts=[_contract(i) for i in ids if _opportunity(i).won],
    )


# --- wiring shared by the emulator and connector tests ------------------------------------

BASE_URL = "http://127.0.0.1:8713"
API = "/services/data/v60.0"


def token(client: httpx.Client, *, client_id: str = "sandbox-sf-client") -> dict[str, Any]:
    """A client-credentials grant with the credentials in the form body."""
    response = client.post(
        "/services/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": "sandbox-sf-secret",
        },
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


@contextmanager
def api_client(emulator: SalesforceEmulator) -> Iterator[httpx.Client]:
    """An httpx client on the emulator, in-process, already holding a bearer token."""
    with (
        InProcessTransport(emulator.app) as transport,
        httpx.Client(transport=transport, base_url=BASE_URL) as client,
    ):
        client.headers["Authorization"] = f"Bearer {token(client)['access_token']}"
        yield client
