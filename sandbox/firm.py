"""The world as the first engine tests see it: a firm with labelled faults and invoice truth.

``Firm`` is a thin view of a ``World``: ``faults`` maps a Harvest time-entry id to its label,
``expected_invoices()`` is ``sandbox.world.truth.expected_invoices``. New code should read the
world (``Sandbox.world``) and ``sandbox.world.truth`` directly.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl

from sandbox.world import truth
from sandbox.world.build import build_world
from sandbox.world.catalog import FIRM_NAME, ROLES
from sandbox.world.model import World


class Firm:
    """Read-only view of ``world`` in the old ``Firm`` terms."""

    def __init__(self, world: World) -> None:
        self.world = world

    @property
    def name(self) -> str:
        return self.world.name

    @property
    def seed(self) -> int:
        return self.world.seed

    @property
    def today(self) -> date:
        return self.world.today

    @property
    def tenant_name(self) -> str:
        return self.world.legal_entities[0].name

    @property
    def xero_tenant_id(self) -> str:
        return self.world.legal_entities[0].xero_tenant_id

    @property
    def time_entries(self) -> pl.DataFrame:
        return self.world.time_entries

    @property
    def faults(self) -> dict[int, str]:
        """Planted bad time entries: Harvest entry id → label."""
        return {
            key: label for (kind, key), label in self.world.faults.items() if kind == "time_entry"
        }

    def expected_invoices(self) -> list[dict[str, Any]]:
        return truth.expected_invoices(self.world)


def build_firm(seed: int = 7, *, today: date | None = None, **options: Any) -> Firm:
    """The ``tiny`` firm (or ``size=…``) as a ``Firm``."""
    options.setdefault("size", "tiny")
    return Firm(build_world(seed, today=today, **options))


__all__ = ["FIRM_NAME", "ROLES", "Firm", "build_firm"]
