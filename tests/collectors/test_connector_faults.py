"""Every connector against every fault the sandbox injects: each call ends in a bounded,
classified outcome — retried and recovered, or a clear error naming vendor, call and cause — and
a drifted record is reported as schema drift, never as a crash."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from collectors import (
    bamboohr,
    dynamics365,
    harvest,
    kantata,
    netsuite,
    oracle_fusion,
    salesforce,
    xero,
)
from collectors.errors import ConnectorError, SchemaDriftError
from collectors.http import RetryPolicy
from collectors.kantata.mapping import to_project
from sandbox.faults import FaultKind, FaultPlan
from sandbox.server import Sandbox
from sandbox.world.catalog import ERPS

POLICY = RetryPolicy(attempts=4, initial=0.001, maximum=0.01, jitter=0.0, max_retry_after=0.01)
TIMEOUT = 0.3  # seconds: a hang must end as a timeout quickly
COMMON = (
    FaultKind.RATE_LIMIT, FaultKind.RATE_LIMIT_DATE, FaultKind.UNAVAILABLE, FaultKind.SERVER_ERROR,
    FaultKind.HANG, FaultKind.RESET, FaultKind.CUT_BODY, FaultKind.INVALID_JSON,
    FaultKind.DRIFT_RENAME, FaultKind.DRIFT_NULL, FaultKind.DRIFT_ENUM,
)  # fmt: skip


@dataclass(frozen=True)
class Target:
    vendor: str
    read: Callable[[Sandbox], Iterator[tuple[dict[str, Any], Callable[[], Any]]]]
    extra: tuple[FaultKind, ...] = ()


def _records(
    connector: Any, stream: str, normalize: Callable[[dict[str, Any]], Any], *since: None
) -> Iterator[tuple[dict[str, Any], Callable[[], Any]]]:
    """Each raw record of ``stream``, with the call that normalizes it."""
    with connector.client() as client:
        for page in connector.pages(client, stream, *since):
            yield from ((raw, partial(normalize, raw)) for raw in page)


def _harvest(box: Sandbox) -> Iterator[tuple[dict[str, Any], Callable[[], Any]]]:
    settings = harvest.HarvestSettings(per_page=50, timeout_seconds=TIMEOUT)
    connector = harvest.HarvestConnector(
        settings, transport=box.transports()["harvest"], policy=POLICY
    )
    return _records(connector, "users", harvest.to_resource)


def _xero(box: Sandbox) -> Iterator[tuple[dict[str, Any], Callable[[], Any]]]:
    settings = xero.XeroSettings(page_size=2, timeout_seconds=TIMEOUT)
    connector = xero.XeroConnector(settings, transport=box.transports()["xero"], policy=POLICY)
    with connector.client() as client:
        tenant = connector.tenant_id(client)
        for page in connector.pages(client, "contacts", tenant):
            yield from ((raw, lambda raw=raw: xero.to_customer(raw)) for raw in page)


def _salesforce(box: Sandbox) -> Iterator[tuple[dict[str, Any], Callable[[], Any]]]:
    settings = salesforce.SalesforceSettings(
        login_url=box.base_url("salesforce"), timeout_seconds=TIMEOUT
    )
    connector = salesforce.SalesforceConnector(
        settings, transport=box.transports()["salesforce"], policy=POLICY
    )
    return _records(connector, "accounts", salesforce.to_customer)


def _kantata(box: Sandbox) -> Iterator[tuple[dict[str, Any], Callable[[], Any]]]:
    settings = kantata.KantataSettings(
        base_url=f"{box.base_url('kantata')}/api/v1", per_page=2, timeout_seconds=TIMEOUT
    )
    connector = kantata.KantataConnector(
        settings, transport=box.transports()["kantata"], policy=POLICY
    )
    with connector.client() as client:
        for page in connector.pages(client, "workspaces"):
            yield from (
                (raw, lambda raw=raw, page=page: to_project(raw, page)) for raw in page.records
            )


def _bamboohr(box: Sandbox) -> Iterator[tuple[dict[str, Any], Callable[[], Any]]]:
    settings = bamboohr.BambooHRSettings(
        base_url=f"{box.base_url('bamboohr')}/api/gateway.php/meridian/v1",
        page_limit=3,
        timeout_seconds=TIMEOUT,
    )
    connector = bamboohr.BambooHRConnector(
        settings, transport=box.transports()["bamboohr"], policy=POLICY
    )
    return _records(connector, "employees", bamboohr.to_resource, None)


def _dynamics365(box: Sandbox) -> Iterator[tuple[dict[str, Any], Callable[[], Any]]]:
    settings = dynamics365.Dynamics365Settings(page_size=2, timeout_seconds=TIMEOUT)
    connector = dynamics365.Dynamics365Connector(
        settings, transport=box.transports()["dynamics365"], policy=POLICY
    )
    with connector.client() as client:
        (company, *_) = connector.companies(client)
        for page in connector.customer_pages(client, company.company_id):
            yield from ((raw, partial(dynamics365.to_customer, raw)) for raw in page)


def _oracle_fusion(box: Sandbox) -> Iterator[tuple[dict[str, Any], Callable[[], Any]]]:
    settings = oracle_fusion.OracleFusionSettings(page_size=2, timeout_seconds=TIMEOUT)
    connector = oracle_fusion.OracleFusionConnector(
        settings, transport=box.transports()["oracle_fusion"], policy=POLICY
    )
    with connector.client() as client:
        (company, *_) = connector.companies(client)
        for page in connector.customer_pages(client, company.company_id):
            yield from ((raw, partial(oracle_fusion.to_customer, raw)) for raw in page)


def _netsuite(box: Sandbox) -> Iterator[tuple[dict[str, Any], Callable[[], Any]]]:
    emulator = box.emulators["netsuite"]
    root = f"{box.base_url('netsuite')}/services/rest"
    settings = netsuite.NetSuiteSettings(
        base_url=root,
        token_url=f"{root}/auth/oauth2/v1/token",
        certificate_id=emulator.certificate_id,
        private_key=SecretStr(emulator.private_key_pem),
        page_size=2,
        timeout_seconds=TIMEOUT,
    )
    connector = netsuite.NetSuiteConnector(
        settings, transport=box.transports()["netsuite"], policy=POLICY
    )
    with connector.client() as client:
        (company, *_) = connector.companies(client)
        for page in connector.customer_pages(client, company.company_id):
            yield from ((raw, lambda raw=raw: netsuite.to_customer(raw)) for raw in page)


TARGETS = [
    Target("harvest", _harvest),
    Target("xero", _xero),
    Target("salesforce", _salesforce, (FaultKind.DAILY_LIMIT,)),
    Target("kantata", _kantata),
    Target("bamboohr", _bamboohr, (FaultKind.THROTTLE_503,)),
    Target("dynamics365", _dynamics365),
    Target("oracle_fusion", _oracle_fusion, (FaultKind.THROTTLE_503,)),
    Target("netsuite", _netsuite),
]
CASES = [
    pytest.param(target, kind, id=f"{target.vendor}-{kind}")
    for target in TARGETS
    for kind in (*COMMON, *target.extra)
]


@pytest.mark.parametrize(("target", "kind"), CASES)
def test_each_fault_ends_in_a_bounded_classified_outcome(target: Target, kind: FaultKind) -> None:
    box = Sandbox(7, today=date(2026, 11, 25), entities=len(ERPS), erps=ERPS)
    box.fault_plans[target.vendor] = FaultPlan(
        target.vendor,
        {kind: 0.35},
        seed=3,
        retry_after_seconds=1,
        hang_seconds=5.0,
        exempt_paths=(
            "/connect/token",
            "/services/oauth2/token",
            "/oauth2/v2.0/token",
            "/connections",
            "/auth/oauth2/v1/token",
        ),
    )
    entities, drifted = 0, 0
    plan = box.fault_plans[target.vendor]
    try:
        for _ in range(8):  # read again until the fault has struck (a small firm is few calls)
            if plan.counts()[kind]:
                break
            seen = _read(target, box)
            entities, drifted = entities + seen[0], drifted + seen[1]
    finally:
        box.stop()
    assert plan.counts()[kind] > 0, f"the {kind} fault never struck; the test proves nothing"
    if kind.name.startswith("DRIFT"):
        assert entities + drifted > 0


def _read(target: Target, box: Sandbox) -> tuple[int, int]:
    """One read: (entities mapped, records reported as drift); a give-up must be classified."""
    entities, drifted = 0, 0
    try:
        for _raw, normalize in target.read(box):
            try:
                normalize()
                entities += 1
            except (SchemaDriftError, ValidationError):
                drifted += 1  # per record: the rest of the page still maps
    except ConnectorError as error:  # gave up: a clear, classified error
        message = str(error)
        assert error.vendor == target.vendor or target.vendor in message, message
        assert message and len(message) < 2000
    return entities, drifted
