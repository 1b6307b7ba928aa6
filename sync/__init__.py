"""plan2cash's sync engine: it pulls from the vendors, bills, posts and reconciles into the store.

What the dashboard, the CLI, the KPIs and the alerts use of it is named here (``__all__``): the
public modules (``sync.store`` above all, whose own ``__all__`` is the store's API; settings,
access, the engine, replay and triage, telemetry) and the few names of the flows that readers need.
Everything else (``sync.flows``, the outbox, the billing rules, the routing to each legal
entity's books) is the engine's own; an import-linter contract keeps ``app`` and ``metrics`` out
of it.

Names are imported on first use, so ``import sync.store`` does not load the engine and its flows.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sync import (
        access,
        edit_input,
        engine,
        loopback,
        replay,
        scheduler,
        settings,
        settings_checks,
        settings_sources,
        store,
        telemetry,
    )
    from sync.access import Action, AuthMode, AuthSettings, Forbidden, Identity, Role
    from sync.engine import FLOW_VENDORS, FLOWS, Engine
    from sync.erps import ERP_LABELS
    from sync.flows.rollup_facts import TIME_SOURCE
    from sync.flows.rollups import SOURCES as ROLLUP_SOURCES
    from sync.replay import ExceptionFilter
    from sync.settings import Mode, Settings, load_settings
    from sync.settings_checks import ConfigurationError

NAMES: dict[str, tuple[str, str]] = {  # public name → (module, name there)
    "Action": ("sync.access", "Action"),
    "AuthMode": ("sync.access", "AuthMode"),
    "AuthSettings": ("sync.access", "AuthSettings"),
    "ConfigurationError": ("sync.settings_checks", "ConfigurationError"),
    "ERP_LABELS": ("sync.erps", "ERP_LABELS"),  # how people call each ERP
    "Engine": ("sync.engine", "Engine"),
    "ExceptionFilter": ("sync.replay", "ExceptionFilter"),
    "FLOWS": ("sync.engine", "FLOWS"),
    "FLOW_VENDORS": ("sync.engine", "FLOW_VENDORS"),  # the vendors each flow calls
    "Forbidden": ("sync.access", "Forbidden"),
    "Identity": ("sync.access", "Identity"),
    "Mode": ("sync.settings", "Mode"),
    "ROLLUP_SOURCES": ("sync.flows.rollups", "SOURCES"),  # the rollups' change watermarks
    "Role": ("sync.access", "Role"),
    "Settings": ("sync.settings", "Settings"),
    "TIME_SOURCE": ("sync.flows.rollup_facts", "TIME_SOURCE"),  # ``live_time_entries``' schema
    "load_settings": ("sync.settings", "load_settings"),
}


def __getattr__(name: str) -> Any:
    if name in NAMES:
        module, attribute = NAMES[name]
        value = getattr(import_module(module), attribute)
    elif name in __all__:  # the rest of the public names are modules
        value = import_module(f"sync.{name}")
    else:
        raise AttributeError(f"module 'sync' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "ERP_LABELS",
    "FLOWS",
    "FLOW_VENDORS",
    "ROLLUP_SOURCES",
    "TIME_SOURCE",
    "Action",
    "AuthMode",
    "AuthSettings",
    "ConfigurationError",
    "Engine",
    "ExceptionFilter",
    "Forbidden",
    "Identity",
    "Mode",
    "Role",
    "Settings",
    "access",
    "edit_input",
    "engine",
    "load_settings",
    "loopback",
    "replay",
    "scheduler",
    "settings",
    "settings_checks",
    "settings_sources",
    "store",
    "telemetry",
]
