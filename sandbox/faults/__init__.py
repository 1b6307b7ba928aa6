"""Fault injection for the vendor emulators: deterministic, per vendor, by named scenario.

``parse_scenario("flaky+drift:harvest", seed=7)`` gives one ``FaultPlan`` per vendor;
``inject_faults(emulator.app, plan, clock=now, time_scale=s)`` puts any ASGI app behind it; in
process, wrap the transport in ``FaultyTransport`` so a hang ends as ``httpx.ReadTimeout``.
``plan.injected`` lists every ``(method, path, kind)`` injected.
"""

from __future__ import annotations

from sandbox.faults.aborts import (
    CutAbort,
    HangAbort,
    InjectedAbort,
    LostWriteAbort,
    RefusedAbort,
    ResetAbort,
)
from sandbox.faults.kinds import FAILING, FaultKind, Injection
from sandbox.faults.middleware import FaultInjector, inject_faults
from sandbox.faults.plan import TOKEN_PATHS, Decision, FaultPlan, Outage
from sandbox.faults.records import drift_field, find_page
from sandbox.faults.scenarios import (
    VALID_FORMS,
    VENDORS,
    flaky_rates,
    parse_duration,
    parse_scenario,
    storm_rates,
)
from sandbox.faults.transport import FaultyTransport

__all__ = [
    "FAILING",
    "TOKEN_PATHS",
    "VALID_FORMS",
    "VENDORS",
    "CutAbort",
    "Decision",
    "FaultInjector",
    "FaultKind",
    "FaultPlan",
    "FaultyTransport",
    "HangAbort",
    "InjectedAbort",
    "Injection",
    "LostWriteAbort",
    "Outage",
    "RefusedAbort",
    "ResetAbort",
    "drift_field",
    "find_page",
    "flaky_rates",
    "inject_faults",
    "parse_duration",
    "parse_scenario",
    "storm_rates",
]
