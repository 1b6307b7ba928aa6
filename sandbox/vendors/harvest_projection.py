"""The world as Harvest holds it: users, clients, projects, tasks, assignments, time entries.

Ids are the world's ids (Harvest's are plain integers too). A project's client carries the
project's currency, which is how a planted currency mismatch shows in Harvest. A user
assignment's ``hourly_rate`` is the negotiated rate, else the card's current rate for the role
(null when the card has none). Time entries stay columnar: ``time_entry_frame`` gives the
Harvest view of ``World.time_entries`` newest first, and only a page at a time becomes dicts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import polars as pl

from sandbox.world import catalog
from sandbox.world.model import Assignment, Customer, Employee, Project, World
from sandbox.world.org import at

LOCKED_REASON = "Item Approved and Locked for this Time Period"
TASK_IDS = {name: 8083365 + k for k, name in enumerate(catalog.TASKS)}
ENTRY_COLUMNS = (
    "id",
    "spent_date",
    "user_id",
    "project_id",
    "client_id",
    "task_id",
    "hours",
    "notes",
    "billable",
    "is_closed",
    "is_billed",
    "invoice_id",
    "created_at",
    "updated_at",
)


@dataclass(frozen=True)
class Task:
    id: int
    name: str
    created_at: datetime


@dataclass(frozen=True)
class UserLink:
    """A Harvest user assignment."""

    id: int
    user_id: int
    project_id: int
    hourly_rate: Decimal | None
    created_at: datetime
    updated_at: datetime


class HarvestProjection:
    """Lookups the emulator renders from; build once per world (and again after it advances)."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.users: list[Employee] = list(world.employees)
        self.clients: list[Customer] = list(world.customers)
        self.projects: list[Project] = list(world.projects)
        origin = at(world.history_start - timedelta(days=900), 9)
        self.tasks = [Task(task_id, name, origin) for name, task_id in TASK_IDS.items()]
        self.user_by_id = {u.id: u for u in self.users}
        self.client_by_id = {c.id: c for c in self.clients}
        self.project_by_id = {p.id: p for p in self.projects}
        self.task_by_id = {t.id: t for t in self.tasks}
        cards = {card.id: card for card in world.rate_cards}
        self._card_of_contract = {c.id: cards[c.rate_card_id] for c in world.contracts}
        self.user_links = [self._link(a) for a in world.assignments]
        self.link_by_pair = {(u.user_id, u.project_id): u for u in self.user_links}
        self.fallback_client = self.clients[0].id

    def _link(self, a: Assignment) -> UserLink:
        project = self.project_by_id[a.project_id]
        card = self._card_of_contract[project.contract_id]
        rate = a.rate_override or card.rate(a.role, self.world.today - timedelta(days=1))
        return UserLink(a.id, a.employee_id, a.project_id, rate, a.updated_at, a.updated_at)

    def is_active_user(self, user: Employee) -> bool:
        return user.termination_date is None or user.termination_date >= self.world.today

    def standard_rate(self, user: Employee) -> Decimal:
        currency = self.world.legal_entities[user.legal_entity_id - 1].currency
        base = Decimal(catalog.BASE_RATES_USD.get(user.role, 0)) * catalog.FX_FROM_USD[currency]
        return base.quantize(Decimal(1))

    def time_entry_frame(self, entries: pl.DataFrame | None = None) -> pl.DataFrame:
        """``World.time_entries`` in Harvest's terms, newest ``spent_date`` (then id) first."""
        source = self.world.time_entries if entries is None else entries
        clients = pl.DataFrame(
            {
                "project_id": [p.id for p in self.projects],
                "client_id": [p.customer_id for p in self.projects],
            },
            schema={"project_id": pl.Int64, "client_id": pl.Int64},
        )
        return (
            source.join(clients, on="project_id", how="left")
            .select(
                "id",
                "spent_date",
                pl.col("employee_id").alias("user_id"),
                "project_id",
                pl.col("client_id").fill_null(self.fallback_client),
                pl.col("task").replace_strict(TASK_IDS, return_dtype=pl.Int64).alias("task_id"),
                pl.col("hours").cast(pl.Float64),
                "notes",
                "billable",
                (pl.col("status") == "approved").alias("is_closed"),
                pl.col("invoice_id").is_not_null().alias("is_billed"),
                "invoice_id",
                "created_at",
                "updated_at",
            )
            .sort("spent_date", "id", descending=True)
        )
