"""The ERP connectors plan2cash can post to, by name, built from the settings.

``CONNECTORS`` is the one place that knows the ERP vendors' packages: an ERP joins plan2cash with
one entry here (its ``ErpSystem`` name → its connector class, which implements
``collectors.erp.Erp`` and takes its section of the settings, a transport and a retry policy)
and its section in ``Settings``, named as the ERP is. The flows reach ERPs only through
``FlowContext.erps``, built by ``build``: the ERPs in use (``[erp]`` default first, then those
legal entities are mapped to), each from its own section.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import httpx

from collectors.dynamics365 import Dynamics365Connector
from collectors.erp import Erp
from collectors.http import DEFAULT_POLICY, RetryPolicy
from collectors.netsuite import NetSuiteConnector
from collectors.oracle_fusion import OracleFusionConnector
from collectors.xero import XeroConnector
from sync.settings import Settings
from sync.settings_checks import ConfigurationError
from sync.store.vocabulary import ErpSystem

Builder = Callable[..., Erp]

CONNECTORS: Mapping[ErpSystem, Builder] = {
    ErpSystem.XERO: XeroConnector,
    ErpSystem.DYNAMICS365: Dynamics365Connector,
    ErpSystem.ORACLE_FUSION: OracleFusionConnector,
    ErpSystem.NETSUITE: NetSuiteConnector,
}
# how people call each ERP (its connector's ``label``), for readers that must not load connectors
ERP_LABELS: Mapping[str, str] = {
    ErpSystem.XERO.value: XeroConnector.label,
    ErpSystem.DYNAMICS365.value: Dynamics365Connector.label,
    ErpSystem.ORACLE_FUSION.value: OracleFusionConnector.label,
    ErpSystem.NETSUITE.value: NetSuiteConnector.label,
}


def build(
    settings: Settings,
    *,
    transports: Mapping[str, httpx.BaseTransport] | None = None,
    policy: RetryPolicy = DEFAULT_POLICY,
) -> dict[str, Erp]:
    """The connector of every ERP in use, by name, in ``[erp]``'s order (the default first).
    The settings have refused an ERP in use that is not configured; one plan2cash has no
    connector for is refused here."""
    transports = transports or {}
    erps: dict[str, Erp] = {}
    for name in settings.erp.in_use():
        builder = CONNECTORS.get(name)
        if builder is None:
            known = ", ".join(sorted(CONNECTORS))
            raise ConfigurationError(f"plan2cash has no connector for ERP {name} (it has {known})")
        section: Any = getattr(settings, name.value)
        erps[name.value] = builder(section, transport=transports.get(name.value), policy=policy)
    return erps


__all__ = ["CONNECTORS", "ERP_LABELS", "build"]
