"""A simulated firm behind faithful emulators of Harvest v2 and Xero Accounting.

Speaks vendor shapes only: nothing here imports plan2cash's own packages.
"""

from __future__ import annotations

from sandbox.firm import XERO_TENANT_ID, Firm, build_firm
from sandbox.server import HARVEST_PORT, XERO_PORT, Sandbox
from sandbox.transport import InProcessTransport
from sandbox.vendors.harvest import HarvestEmulator
from sandbox.vendors.xero import XeroEmulator

__all__ = [
    "HARVEST_PORT",
    "XERO_PORT",
    "XERO_TENANT_ID",
    "Firm",
    "HarvestEmulator",
    "InProcessTransport",
    "Sandbox",
    "XeroEmulator",
    "build_firm",
]
