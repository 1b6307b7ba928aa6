"""The engine: builds the flows' context from settings and runs flows, recording each run.

Every flow run gets a span (the root of its trace) and a ``sync_runs`` row with its counts and
outcome. A flow that fails, whatever the error (bad credentials, a vendor down, a mistake in our
own code), is recorded as failed with the reason, its span records the exception, and the other
flows still run; only an interrupt (``KeyboardInterrupt``, ``SystemExit``) stops the engine.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
from opentelemetry import trace
from sqlalchemy import Engine as SqlEngine

from collectors.bamboohr import BambooHRConnector
from collectors.errors import ConnectorError
from collectors.harvest import HarvestConnector
from collectors.http import DEFAULT_POLICY, RetryPolicy
from collectors.kantata import KantataConnector
from collectors.salesforce import SalesforceConnector
from sync import erps, outbox
from sync.flows import (
    billable,
    customers,
    invoicing,
    people,
    reconcile,
    reference,
    rollups,
    status_back,
)
from sync.flows.context import FlowContext, FlowResult
from sync.settings import Settings
from sync.store.db import session_factory, transaction
from sync.store.repo import finish_run, start_run
from sync.store.vocabulary import ErpSystem, RunStatus
from sync.telemetry import current_trace_id, tracer

log = logging.getLogger("plan2cash.engine")

FLOWS: dict[str, Callable[[FlowContext], FlowResult]] = {
    "customers": customers.run,
    "people": people.run,
    "reference": reference.run,
    "billable": billable.run,
    "invoicing": invoicing.run,
    "outbox": outbox.run,
    "status_back": status_back.run,
    "reconcile": reconcile.run,
    "rollups": rollups.run,
}


def flow_vendors(erp_names: Iterable[str]) -> dict[str, frozenset[str]]:
    """The vendors each flow calls (itself or through the modules it runs), with ``erp_names``
    for the ERPs: a vendor that is down stops these flows, so an alert that the vendor is down
    explains their staleness."""
    erp = frozenset(erp_names)
    return {
        "customers": frozenset({"salesforce", "kantata", "harvest"}) | erp,  # + provisioning
        "people": frozenset({"harvest", "bamboohr", "kantata"}),
        "reference": frozenset({"harvest"}),
        "billable": frozenset({"harvest"}),
        "invoicing": frozenset(),
        "outbox": erp,
        "status_back": frozenset({"salesforce"}) | erp,
        "reconcile": frozenset({"harvest"}),
        "rollups": frozenset(),
    }


FLOW_VENDORS: dict[str, frozenset[str]] = flow_vendors(erp.value for erp in ErpSystem)
"""The vendors each flow may call, whichever ERPs the firm runs (an ERP it does not run raises
no alert to explain anything by)."""


@dataclass
class RunReport:
    flow: str
    status: str
    result: FlowResult
    error: str | None = None


class Engine:
    """Runs the flows against the configured systems and store."""

    def __init__(
        self,
        settings: Settings,
        store: SqlEngine,
        *,
        transports: Mapping[str, httpx.BaseTransport] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        policy: RetryPolicy = DEFAULT_POLICY,
    ) -> None:
        transports = transports or {}
        self.context = FlowContext(
            settings=settings,
            sessions=session_factory(store),
            harvest=HarvestConnector(
                settings.harvest, transport=transports.get("harvest"), policy=policy
            ),
            erps=erps.build(settings, transports=transports, policy=policy),
            salesforce=SalesforceConnector(
                settings.salesforce, transport=transports.get("salesforce"), policy=policy
            ),
            kantata=KantataConnector(
                settings.kantata, transport=transports.get("kantata"), policy=policy
            ),
            bamboohr=BambooHRConnector(
                settings.bamboohr, transport=transports.get("bamboohr"), policy=policy
            ),
            clock=clock,
        )
        self._locks = {name: threading.Lock() for name in FLOWS}

    def run_flow(self, name: str) -> RunReport:
        """Run one flow now, unless it is already running in this process."""
        lock = self._locks[name]
        if not lock.acquire(blocking=False):
            return RunReport(name, "skipped", FlowResult(), "already running")
        try:
            return self._run(name)
        finally:
            lock.release()

    def _run(self, name: str) -> RunReport:
        with tracer.start_as_current_span(f"flow {name}", kind=trace.SpanKind.INTERNAL) as span:
            with transaction(self.context.sessions) as session:
                run_id = start_run(session, name, current_trace_id())
            try:
                result = FLOWS[name](self.context)
            except ConnectorError as exc:
                span.set_status(trace.StatusCode.ERROR, str(exc))
                log.error("flow %s failed: %s", name, exc)
                self._finish(run_id, RunStatus.FAILED, FlowResult(), str(exc))
                return RunReport(name, "failed", FlowResult(), str(exc))
            except Exception as exc:  # any one flow's failure is its own; the others go on
                reason = f"{type(exc).__name__}: {exc}"
                span.record_exception(exc)
                span.set_status(trace.StatusCode.ERROR, type(exc).__name__)
                log.exception("flow %s failed", name)
                self._finish(run_id, RunStatus.FAILED, FlowResult(), reason)
                return RunReport(name, "failed", FlowResult(), reason)
            span.set_attributes(
                {
                    "records_in": result.records_in,
                    "records_out": result.records_out,
                    "exceptions": result.exceptions,
                }
            )
            self._finish(run_id, RunStatus.SUCCEEDED, result, None)
            return RunReport(name, "succeeded", result)

    def _finish(
        self, run_id: int, status: RunStatus, result: FlowResult, error: str | None
    ) -> None:
        with transaction(self.context.sessions) as session:
            finish_run(
                session,
                run_id,
                status=status,
                records_in=result.records_in,
                records_out=result.records_out,
                exceptions=result.exceptions,
                error=error,
            )

    def run_once(self) -> list[RunReport]:
        """Every flow once, in dependency order, each whether or not the ones before failed."""
        return [self.run_flow(name) for name in FLOWS]
