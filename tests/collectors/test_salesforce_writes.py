"""The Salesforce connector's write-back, limits, re-authentication and secrecy."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import pytest
from pydantic import SecretStr

from collectors.errors import AuthError, ConnectorError, RateLimitedError
from collectors.http import RetryPolicy
from collectors.salesforce import ARUpdate, SalesforceConnector, SalesforceSettings, to_customer
from sandbox.transport import InProcessTransport
from sandbox.vendors.salesforce import SalesforceEmulator, account_id
from tests.sandbox.clock import FakeClock
from tests.sandbox.salesforce_world import BASE_URL, NOW, salesforce_world

FAST = RetryPolicy(attempts=2, initial=0.001, maximum=0.01, jitter=0.0, max_retry_after=0.01)
SECRET = "sandbox-sf-secret"


@pytest.fixture
def transport(salesforce_emulator: SalesforceEmulator) -> Iterator[InProcessTransport]:
    with InProcessTransport(salesforce_emulator.app) as inner:
        yield inner


def connector_for(
    transport: InProcessTransport, secret: str = SECRET, **settings: object
) -> SalesforceConnector:
    config = SalesforceSettings(login_url=BASE_URL, client_secret=SecretStr(secret), **settings)
    return SalesforceConnector(config, transport=transport, policy=FAST)


def ar(number: int, balance: str = "1500.25") -> ARUpdate:
    return ARUpdate(account_id(number), Decimal(balance), Decimal("200"), NOW)


def test_ar_write_back_goes_25_at_a_time_with_a_result_per_account(
    transport: InProcessTransport, salesforce_emulator: SalesforceEmulator, clock: FakeClock
) -> None:
    connector = connector_for(transport)
    missing = ARUpdate("001Hs0000ZZZZZZZZZ", Decimal(1), Decimal(0), NOW)  # well-formed, unknown
    updates = [ar(n) for n in range(1, 31)] + [missing, ARUpdate("not-an-id", 1, 0, NOW)]  # type: ignore[arg-type]
    clock.advance(minutes=1)
    before = salesforce_emulator.usage()[0]
    with connector.client() as client:
        results = connector.update_ar(client, updates)
    assert salesforce_emulator.usage()[0] - before == 2  # 31 sendable updates: two composite calls
    assert [r.account_id for r in results] == [u.account_id for u in updates]
    assert all(r.ok and r.status == 204 for r in results[:30])
    assert (
        not results[30].ok and results[30].status == 404 and "NOT_FOUND" in str(results[30].error)
    )
    assert not results[31].ok and results[31].status == 0
    stored = salesforce_emulator.record("Account", account_id(7))
    assert (stored["AR_Balance__c"], stored["AR_Overdue__c"]) == (Decimal("1500.25"), Decimal(200))
    assert stored["AR_Updated__c"] == NOW and stored["SystemModstamp"] == clock.current


def test_an_account_written_back_shows_up_in_the_next_incremental_read(
    transport: InProcessTransport, clock: FakeClock
) -> None:
    connector = connector_for(transport, batch_size=200)
    with connector.client() as client:
        high = max(
            to_customer(r).updated_at for p in connector.pages(client, "accounts") for r in p
        )
        clock.advance(minutes=5)
        assert connector.update_ar(client, [ar(12)])[0].ok
        fresh = [
            to_customer(r)
            for page in connector.pages(client, "accounts", high)
            for r in page
            if to_customer(r).updated_at > high
        ]
    assert [c.source_id for c in fresh] == [account_id(12)]


def test_the_daily_limit_surfaces_as_rate_limited(clock: FakeClock) -> None:
    emulator = SalesforceEmulator(salesforce_world(5), daily_limit=2, now=clock)
    with InProcessTransport(emulator.app) as transport:
        connector = connector_for(transport)
        with connector.client() as client:
            list(connector.pages(client, "accounts"))
            list(connector.pages(client, "accounts"))
            with pytest.raises(RateLimitedError, match="REQUEST_LIMIT_EXCEEDED") as caught:
                list(connector.pages(client, "accounts"))
    assert caught.value.status == 403 and caught.value.vendor == "salesforce"


def test_our_pacing_stops_short_of_the_daily_limit(clock: FakeClock) -> None:
    emulator = SalesforceEmulator(salesforce_world(5), daily_limit=3, now=clock)
    with InProcessTransport(emulator.app) as transport:
        connector = connector_for(transport, daily_api_requests=2)
        with connector.client() as client:
            for _ in range(2):
                list(connector.pages(client, "accounts"))
            with pytest.raises(RateLimitedError, match="pacing"):
                list(connector.pages(client, "accounts"))
    assert emulator.usage()[0] == 2  # the refusal was ours; the org never saw a third call


def test_a_revoked_session_is_renewed_transparently(
    transport: InProcessTransport, salesforce_emulator: SalesforceEmulator, clock: FakeClock
) -> None:
    connector = connector_for(transport)
    with connector.client() as client:
        assert list(connector.pages(client, "accounts"))
        salesforce_emulator.revoke_tokens()
        clock.advance(hours=3)
        assert list(connector.pages(client, "accounts"))
    assert (
        len(salesforce_emulator.identity.issued) == 1
    )  # revoked ones are forgotten; one fresh token


def test_wrong_credentials_are_an_auth_error_without_the_secret(
    transport: InProcessTransport, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "definitely-wrong-secret"
    with pytest.raises(AuthError) as caught:
        connector_for(transport, secret=wrong).client()
    assert "invalid_client" in str(caught.value)
    assert wrong not in str(caught.value) and wrong not in caplog.text


def test_no_secret_or_token_reaches_logs_or_errors(
    transport: InProcessTransport,
    salesforce_emulator: SalesforceEmulator,
    clock: FakeClock,
    debug_logs: pytest.LogCaptureFixture,
) -> None:
    connector = connector_for(transport, batch_size=200)
    messages: list[str] = []
    with connector.client() as client:
        for stream in connector.streams:
            list(connector.pages(client, stream))
        connector.update_ar(client, [ar(3)])
        connector.deleted(client, "accounts", NOW - timedelta(hours=1), NOW)
        try:
            connector.deleted(client, "accounts", NOW - timedelta(days=40), NOW)
        except ConnectorError as error:
            messages.append(str(error))
    assert messages and "INVALID_REPLICATION_DATE" in messages[0]
    tokens = salesforce_emulator.identity.issued
    assert tokens
    logged = debug_logs.text + "\n".join(f"{r.getMessage()} {r.args!r}" for r in debug_logs.records)
    for secret in [SECRET, *tokens]:
        assert secret not in logged
        assert all(secret not in m for m in messages)
