"""The Kantata connector against the Kantata emulator, in-process."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from collectors.entities import canonical_id
from collectors.errors import AuthError, RecordError, SchemaDriftError
from collectors.http import RetryPolicy
from collectors.kantata import (
    Batch,
    KantataConnector,
    KantataSettings,
    WorkspaceRequest,
    kantata_pacer,
)
from sandbox.transport import InProcessTransport
from sandbox.vendors.kantata import DEFAULT_TOKEN, KantataEmulator
from sandbox.vendors.salesforce.records import account_id as sf_account
from sandbox.vendors.salesforce.records import contract_id as sf_contract
from tests.collectors.transports import Counting
from tests.sandbox.clock import FakeClock
from tests.sandbox.kantata_world import build_world

SECRET = DEFAULT_TOKEN  # the emulator's; must never reach a log, an error or a dump
FAST = RetryPolicy(attempts=4, initial=0.001, maximum=0.01, jitter=0.0, max_retry_after=0.2)


class Intercepting(httpx.BaseTransport):
    """Answers the requests ``answer`` picks itself (``None``: on to the emulator)."""

    def __init__(
        self,
        inner: httpx.BaseTransport,
        answer: Callable[[httpx.Request], httpx.Response | None],
    ) -> None:
        self.inner = inner
        self.answer = answer

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self.answer(request) or self.inner.handle_request(request)


@pytest.fixture
def emulator(kantata_emulator: KantataEmulator) -> KantataEmulator:
    return kantata_emulator


@pytest.fixture
def transport(emulator: KantataEmulator) -> Iterator[Counting]:
    with InProcessTransport(emulator.app) as inner:
        yield Counting(inner)


def connector(transport: httpx.BaseTransport, **settings: Any) -> KantataConnector:
    values: dict[str, Any] = {"base_url": "http://kantata.test/api/v1", "token": SecretStr(SECRET)}
    return KantataConnector(KantataSettings(**values | settings), transport=transport, policy=FAST)


@pytest.fixture
def kantata(transport: Counting) -> KantataConnector:
    return connector(transport, per_page=2)


def drain(batches: Iterator[Batch[Any]]) -> tuple[list[Any], list[RecordError], list[Any]]:
    entities: list[Any] = []
    errors: list[RecordError] = []
    cursors: list[Any] = []
    for batch in batches:
        entities += batch.entities
        errors += batch.errors
        cursors.append(batch.cursor)
    return entities, errors, cursors


def sf(kind: str, ref: str) -> str:
    return canonical_id("salesforce", kind, ref)


def test_workspaces_become_projects_linked_to_crm_contracts(
    kantata: KantataConnector, transport: Counting
) -> None:
    world = build_world()
    with kantata.client() as client:
        projects, errors, cursors = drain(kantata.projects(client))
    assert errors == []
    assert len(transport.requests) == 2  # 4 workspaces at 2 a page: exactly page_count calls
    by_name = {p.name: p for p in projects}
    assert set(by_name) == {p.name for p in world.projects}
    first = by_name["Project 1"]
    source = next(p for p in world.projects if p.name == "Project 1")
    # linked by the Salesforce record ids, so they meet the Salesforce connector's canonical ids
    assert first.contract_id == sf("contract", sf_contract(source.contract_id))
    assert first.customer_id == sf("customer", sf_account(source.customer_id))
    assert first.budget == Decimal("50000.00") and first.currency == "USD"
    assert first.start == date(2024, 6, 1) and first.status == "active"
    assert by_name["Project 4"].status == "closed"
    assert by_name["Project 2"].budget is None
    assert cursors[:-1] == [None] and cursors[-1] == max(p.updated_at for p in projects)


def test_participations_become_assignments_with_roles(kantata: KantataConnector) -> None:
    with kantata.client() as client:
        ids = kantata.workspace_ids(client)
        assignments, errors, _ = drain(kantata.assignments(client, ids))
    assert errors == [] and len(assignments) == 5
    roles = sorted(a.role for a in assignments)
    assert roles == ["Consultant", "Consultant", "Consultant", "Manager", "Partner"]
    projects = {a.project_id for a in assignments}
    assert canonical_id("kantata", "project", "4000001") in projects


def test_milestones_carry_amount_and_currency(kantata: KantataConnector) -> None:
    with kantata.client() as client:
        milestones, errors, _ = drain(kantata.milestones(client))
    assert errors == []
    by_name = {m.name: m for m in milestones}
    assert by_name["Sign-off"].amount == Decimal("12000.00") and by_name["Sign-off"].completed
    assert by_name["Go live"].amount == Decimal("18000.50") and not by_name["Go live"].completed
    assert {m.currency for m in milestones} == {"USD"}


def test_rate_cards_assemble_versions_with_effective_dates(kantata: KantataConnector) -> None:
    world = build_world()
    with kantata.client() as client:
        batch = kantata.rate_cards(client)
    assert batch.errors == []
    cards = {card.contract_id: card for card in batch.entities}
    assert set(cards) == {sf("contract", sf_contract(c.id)) for c in world.contracts}
    for contract in world.contracts:
        card = cards[sf("contract", sf_contract(contract.id))]
        truth = next(c for c in world.rate_cards if c.id == contract.rate_card_id)
        assert card.currency == truth.currency
        for version in truth.versions:
            for role, rate in version.rates.items():
                assert card.rate_for(role, version.effective_from) == rate
                if version.effective_to:
                    assert card.rate_for(role, version.effective_to) == rate
    usd = cards[sf("contract", sf_contract(world.contracts[0].id))]
    consultant = sorted((x for x in usd.lines if x.role == "Consultant"), key=lambda x: x.rate)
    assert [(x.effective_from, x.effective_to) for x in consultant] == [
        (date(2024, 1, 1), date(2024, 12, 31)),
        (date(2025, 1, 1), None),
    ]
    assert usd.rate_for("Partner", date(2024, 6, 1)) is None


def test_second_incremental_run_reads_nothing_new_and_cursor_is_monotonic(
    kantata: KantataConnector, emulator: KantataEmulator, clock: FakeClock
) -> None:
    saved: list[datetime] = []
    with kantata.client() as client:
        for _ in range(2):
            since = saved[-1] if saved else None
            projects, _, cursors = drain(kantata.projects(client, since))
            if cursors and cursors[-1] is not None:
                saved.append(max(cursors[-1], since or cursors[-1]))
            if since is not None:
                assert projects == []
        clock.advance(minutes=5)
        emulator.edit_workspace("4000002", title="Project 2 (renamed)", price_in_cents=123_400)
        changed, _, cursors = drain(kantata.projects(client, saved[-1]))
        assert [p.name for p in changed] == ["Project 2 (renamed)"]
        assert changed[0].budget == Decimal("1234.00")
        assert cursors[-1] is not None and cursors[-1] > saved[-1]
        milestones, _, _ = drain(kantata.milestones(client, cursors[-1]))
        assert milestones == []
        assert kantata.rate_cards(client, kantata.rate_cards(client).cursor).entities == []


def test_archiving_closes_the_project(
    kantata: KantataConnector, emulator: KantataEmulator, clock: FakeClock
) -> None:
    clock.advance(minutes=5)
    emulator.archive("4000001")
    with kantata.client() as client:
        projects, _, _ = drain(kantata.projects(client, clock() - timedelta(minutes=1)))
    assert [(p.source_id, p.status) for p in projects] == [("4000001", "closed")]


def test_drifted_and_unlinked_records_fail_alone(
    kantata: KantataConnector, emulator: KantataEmulator
) -> None:
    emulator.edit_record("workspaces", "4000001", drop=("title",))
    emulator.edit_record("workspaces", "4000002", currency=None)
    emulator.edit_record("workspaces", "4000003", external_reference_ids=[])
    with kantata.client() as client:
        projects, errors, _ = drain(kantata.projects(client))
    assert [p.source_id for p in projects] == ["4000004"]
    kinds = {e.details["id"]: type(e) for e in errors}
    assert kinds == {
        "4000001": SchemaDriftError,
        "4000002": SchemaDriftError,
        "4000003": RecordError,
    }
    assert "title" in str(errors[0]) and "Salesforce contract" in str(errors[2])


def test_provisioning_a_workspace_links_it_to_its_contract(
    kantata: KantataConnector, emulator: KantataEmulator
) -> None:
    request = WorkspaceRequest(
        title="Acme rollout", currency="USD", contract_ref="00002001", account_ref="ACME",
        start=date(2025, 4, 1), due=date(2025, 9, 30), price=Decimal("25000.00"),
        rate_card_id="710001",
    )  # fmt: skip
    with kantata.client() as client:
        assert kantata.find_workspace(client, "00002001") is None
        project = kantata.create_workspace(client, request)
        assert kantata.find_workspace(client, "00002001") == project.source_id
        assert project.contract_id == sf("contract", "00002001")
        assert project.budget == Decimal("25000.00") and project.end == date(2025, 9, 30)
        cards = {c.contract_id: c for c in kantata.rate_cards(client).entities}
        assert cards[project.contract_id].currency == "USD"
        with pytest.raises(RecordError, match="Title can't be blank"):
            kantata.create_workspace(client, WorkspaceRequest("", "USD", "x", "y"))
    assert sum(w["title"] == "Acme rollout" for w in emulator.workspaces()) == 1


def test_a_workspace_create_that_fails_in_transit_is_looked_up_then_sent_again(
    emulator: KantataEmulator,
) -> None:
    """The first POST never reaches Kantata (a 503): the contract is looked up again, and only
    then is the workspace sent again; it is made once."""
    posts: list[str] = []

    def first_post_unavailable(request: httpx.Request) -> httpx.Response | None:
        if request.method == "POST" and request.url.path.endswith("/workspaces"):
            posts.append(request.url.path)
            if len(posts) == 1:
                return httpx.Response(503, json={"errors": [{"message": "try later"}]})
        return None

    with InProcessTransport(emulator.app) as inner:
        wire = Counting(Intercepting(inner, first_post_unavailable))
        kantata = connector(wire)
        request = WorkspaceRequest("Globex audit", "USD", "00002002", "GLOBEX")
        with kantata.client() as client:
            project = kantata.create_workspace(client, request)
            assert kantata.create_workspace(client, request) == project  # found, not made
    looks = [r for r in wire.requests if r.url.path.endswith("/external_references")]
    assert len(posts) == 2 and len(looks) == 3  # before each create, and on the second call
    assert sum(w["title"] == "Globex audit" for w in emulator.workspaces()) == 1


def test_invoice_status_is_written_back(
    kantata: KantataConnector, emulator: KantataEmulator
) -> None:
    invoice_id = emulator.invoices()[0]["id"]
    with kantata.client() as client:
        stored = kantata.update_invoice_status(client, invoice_id, "void")
        assert stored["status"] == "void"
        assert kantata.update_invoice_status(client, invoice_id, "paid")["balance_in_cents"] == 0
        with pytest.raises(ValueError):
            kantata.update_invoice_status(client, invoice_id, "settled")
    assert emulator.invoices()[0]["status"] == "paid"


def test_rate_limit_is_retried_and_recovers(clock: FakeClock) -> None:
    emulator = KantataEmulator(
        build_world(), token=SECRET, now=clock, rate_limit=2, rate_window=10, time_scale=0.01
    )
    with InProcessTransport(emulator.app) as inner:
        counting = Counting(inner)
        kantata = connector(counting, per_page=1)
        with kantata.client() as client:
            projects, errors, _ = drain(kantata.projects(client))
    assert len(projects) == 4 and errors == []
    assert 429 in counting.statuses and counting.statuses[-1] == 200


def test_pacing_under_the_limit_sees_no_429(clock: FakeClock) -> None:
    emulator = KantataEmulator(
        build_world(), token=SECRET, now=clock, rate_limit=3, rate_window=10, time_scale=0.01
    )
    with InProcessTransport(emulator.app) as inner:
        counting = Counting(inner)
        settings = {"per_page": 1, "requests_per_window": 3, "window_seconds": 10.0}
        kantata = connector(counting, **settings)
        kantata.pacer = kantata_pacer(kantata.settings, time_scale=0.01)
        with kantata.client() as client:
            projects, _, _ = drain(kantata.projects(client))
            drain(kantata.milestones(client))
    assert len(projects) == 4 and len(counting.statuses) == 6
    assert set(counting.statuses) == {200}


def test_no_secret_in_logs_or_errors(transport: Counting, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    good = connector(transport)
    with good.client() as client:
        drain(good.projects(client))
    wrong = connector(transport, token=SecretStr("wrong-" + SECRET))
    with wrong.client() as client, pytest.raises(AuthError) as failure:
        drain(wrong.projects(client))
    assert failure.value.status == 401
    assert SECRET not in str(failure.value) and SECRET not in repr(failure.value.details)
    assert SECRET not in caplog.text
    assert SECRET not in repr(good.settings) and SECRET not in str(good.settings.model_dump())
