"""A simulated firm behind faithful emulators of its vendors' APIs (Harvest v2, Xero, …).

Speaks vendor shapes only: nothing here imports plan2cash's own packages.
"""

from __future__ import annotations

from sandbox.firm import Firm, build_firm
from sandbox.server import HARVEST_PORT, XERO_PORT, Sandbox
from sandbox.transport import InProcessTransport
from sandbox.vendors.harvest import HarvestEmulator
from sandbox.vendors.xero import XeroEmulator
from sandbox.world import World, build_world
from sandbox.world.clock import SimClock, advance

__all__ = [
    "HARVEST_PORT",
    "XERO_PORT",
    "Firm",
    "HarvestEmulator",
    "InProcessTransport",
    "Sandbox",
    "SimClock",
    "World",
    "XeroEmulator",
    "advance",
    "build_firm",
    "build_world",
]
