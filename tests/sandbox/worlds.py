"""The frame of a hand-built world, shared by the per-vendor world builders."""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl

from sandbox.world.model import TIME_COLUMNS, LegalEntity, Region, World

LISTS = (
    "legal_entities", "regions", "practices", "customers", "opportunities", "rate_cards",
    "contracts", "projects", "milestones", "employees", "assignments", "time_off", "holidays",
    "expenses", "invoices", "payments", "credit_notes",
)  # fmt: skip


def custom_world(
    name: str, today: date, history: tuple[date, date, date], *, seed: int = 0, **parts: Any
) -> World:
    """A ``size="custom"`` world named ``name`` whose ``history`` is (history start, go-live,
    period lock); ``parts`` are its records by ``World`` field: a list not given is empty, and
    so are the time entries (a frame of ``TIME_COLUMNS``)."""
    start, go_live, period_lock = history
    empty: dict[str, Any] = {field: [] for field in LISTS}
    return World(
        name=name,
        seed=seed,
        size="custom",
        today=today,
        history_start=start,
        go_live=go_live,
        period_lock=period_lock,
        **(empty | {"time_entries": pl.DataFrame(schema=TIME_COLUMNS)} | parts),
    )


def us_and_uk(firm: str, tenant: str, uk_region: str) -> dict[str, Any]:
    """``firm``'s legal entities and regions: 1, "<firm> Inc." (US, USD) in North America and
    2, "<firm> Ltd" (GB, GBP) in ``uk_region``, whose Xero tenants are
    ``tenant``-0000-4000-8000-00000000000<id>."""
    return {
        "legal_entities": [
            LegalEntity(1, f"{firm} Inc.", "US", "USD", f"{tenant}-0000-4000-8000-000000000001"),
            LegalEntity(2, f"{firm} Ltd", "GB", "GBP", f"{tenant}-0000-4000-8000-000000000002"),
        ],
        "regions": [Region(1, "North America", "US", 1), Region(2, uk_region, "GB", 2)],
    }
