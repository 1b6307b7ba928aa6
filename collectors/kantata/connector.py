"""Kantata OX connector: settings, bearer auth, streams, incremental reads and the two writes.

Every list pages by ``page`` up to ``meta.page_count`` with ``per_page`` at most 200, asks for the
side-loads its mapping needs (``include=``), orders by id (an edit during a run then cannot shift
unread records onto pages already read) and is incremental on ``updated_after``. Reads yield a
``Batch`` per page: the canonical entities and the records that could not be mapped (each its own
``RecordError``/``SchemaDriftError``); the last batch carries the read's highest ``updated_at``
for the engine's cursor. Writes: provisioning a workspace (then linking it to its Salesforce
contract and account with external references) and updating an invoice's status.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Generic, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from collectors.auth import BearerToken
from collectors.connector import Connector
from collectors.entities import Assignment, Milestone, Project, RateCard, canonical_id
from collectors.errors import RecordError, SchemaDriftError
from collectors.kantata.mapping import (
    VENDOR,
    AssembledCard,
    Person,
    assemble_card,
    mapped,
    parse_time,
    role_rates,
    to_assignment,
    to_milestone,
    to_person,
    to_project,
)
from collectors.kantata.pages import IdKeyed, KantataPage, Raw
from collectors.kantata.writes import (
    WorkspaceRequest,
    create_workspace,
    find_workspace,
    update_invoice_status,
)
from collectors.outbound import DEFAULT_MAX_RESPONSE_BYTES
from collectors.pacing import Limit, Pacer
from collectors.paging import PageNumber
from collectors.streams import Stream, pages
from collectors.timestamps import utc_text

MAX_PER_PAGE = 200
E = TypeVar("E")


class KantataSettings(BaseModel):
    """Where and how to reach one Kantata OX account."""

    model_config = ConfigDict(extra="forbid")
    live_required: ClassVar[tuple[str, ...]] = ("base_url", "token")

    base_url: str = "http://127.0.0.1:8714/api/v1"
    token: SecretStr = SecretStr("sandbox-kantata-token")
    per_page: int = Field(default=MAX_PER_PAGE, ge=1, le=MAX_PER_PAGE)
    timeout_seconds: float = 30.0
    max_response_bytes: int = Field(default=DEFAULT_MAX_RESPONSE_BYTES, ge=1024)
    # [unconfirmed] Kantata publishes its limits only in its knowledge base; the emulator's.
    requests_per_window: int = 100
    window_seconds: float = 10.0


def kantata_pacer(settings: KantataSettings, *, time_scale: float = 1.0) -> Pacer:
    """Kantata's limit as assumed (unpublished in the docs read): calls per window per token."""
    limit = Limit(settings.requests_per_window, settings.window_seconds)
    return Pacer([limit], time_scale=time_scale, name=VENDOR)


def _stream(name: str, path: str) -> Stream:
    return Stream(
        name,
        path=path,
        records=path.strip("/"),
        paginator=PageNumber("results", page_count="meta.page_count"),
    )


STREAMS = {
    "workspaces": _stream("workspaces", "/workspaces"),
    "participations": _stream("participations", "/participations"),
    "milestones": _stream("milestones", "/stories"),
    "rate_cards": _stream("rate_cards", "/rate_cards"),
    "rate_card_roles": _stream("rate_card_roles", "/rate_card_roles"),
    "users": _stream("users", "/users"),
}
# The side-loads each stream's mapping reads, and its fixed filters.
PARAMS: dict[str, dict[str, str]] = {
    "workspaces": {"include": "external_references", "include_archived": "true"},
    "participations": {"include": "primary_role"},
    "milestones": {"include": "workspace", "story_type": "milestone"},
    "rate_cards": {"include": "rate_card_versions"},
    "rate_card_roles": {"include": "role"},
    "users": {},
}


@dataclass(frozen=True)
class Batch(Generic[E]):
    """One page mapped: entities and refused records. The last batch of a read also carries
    ``cursor``, the highest ``updated_at`` of the whole read: pages come in id order, so a
    high-water mark is safe to save only once every page has been stored."""

    entities: list[E] = field(default_factory=list)
    errors: list[RecordError] = field(default_factory=list)
    cursor: datetime | None = None


@dataclass(frozen=True)
class RateCards(Batch[RateCard]):
    """The rate cards read, and the workspaces (read to know each card's contracts) that could
    not be read for their shape or values: a workspace with no Salesforce reference is no
    error here, it simply has no contract."""

    workspaces: list[RecordError] = field(default_factory=list)


class KantataConnector(Connector[KantataSettings]):
    """Reads workspaces, participations, milestones and rate cards; provisions workspaces and
    writes invoice status back."""

    name = VENDOR
    streams = STREAMS

    def default_pacer(self, settings: KantataSettings) -> Pacer:
        return kantata_pacer(settings)

    def auth(self) -> httpx.Auth:
        return BearerToken(self.settings.token)

    def params(self, stream: str, since: datetime | None, **filters: str) -> dict[str, str]:
        params = {"per_page": str(self.settings.per_page), "order": "id:asc"}
        params |= PARAMS[stream] | filters
        if since is not None:
            params["updated_after"] = utc_text(since)
        return params

    def pages(
        self, client: httpx.Client, stream: str, since: datetime | None = None, **filters: str
    ) -> Iterator[KantataPage]:
        """Raw pages of ``stream`` changed after ``since`` (all of it when ``None``)."""
        keyed = IdKeyed(self.streams[stream].records)
        params = self.params(stream, since, **filters)
        return pages(
            client, self.streams[stream], params, parse=lambda r: keyed.page(r, vendor=VENDOR)
        )

    def _mapped(
        self, stream: str, pages: Iterable[KantataPage], to: Callable[[Raw, KantataPage], E]
    ) -> Iterator[Batch[E]]:
        """A batch per page; only the last carries the cursor (see ``Batch``)."""
        held: Batch[E] | None = None
        latest: datetime | None = None
        for page in pages:
            if held is not None:
                yield held
            held = Batch()
            for raw in page.records:
                result = mapped(stream, raw, page, to)
                if isinstance(result, RecordError):
                    held.errors.append(result)
                else:
                    held.entities.append(result)
            latest = max(filter(None, (latest, _latest(page.records))), default=None)
        if held is not None:
            yield Batch(held.entities, held.errors, latest)

    def projects(
        self, client: httpx.Client, since: datetime | None = None
    ) -> Iterator[Batch[Project]]:
        """Workspaces (archived ones too: archiving closes a project) as projects."""
        return self._mapped("workspaces", self.pages(client, "workspaces", since), to_project)

    def assignments(
        self, client: httpx.Client, workspace_ids: Iterable[str], since: datetime | None = None
    ) -> Iterator[Batch[Assignment]]:
        """Participations per workspace (Kantata requires ``workspace_id``) as assignments."""
        for workspace_id in workspace_ids:
            pages = self.pages(client, "participations", since, workspace_id=str(workspace_id))
            yield from self._mapped("participations", pages, to_assignment)

    def milestones(
        self, client: httpx.Client, since: datetime | None = None
    ) -> Iterator[Batch[Milestone]]:
        """Stories of type milestone, with their workspace side-loaded for the currency."""
        return self._mapped("milestones", self.pages(client, "milestones", since), to_milestone)

    def people(self, client: httpx.Client) -> Iterator[Batch[Person]]:
        """Every user of the account (name and email), to know who a participation is."""
        return self._mapped("users", self.pages(client, "users"), to_person)

    def workspace_ids(self, client: httpx.Client) -> list[str]:
        """Every workspace id, archived ones included (to read participations per workspace)."""
        return [str(r["id"]) for page in self.pages(client, "workspaces") for r in page.records]

    def rate_cards(self, client: httpx.Client, since: datetime | None = None) -> RateCards:
        """The rate card of every contract that has a workspace on one, changed after ``since``.

        Rate cards are small and a role's change need not touch its card, so every card is read
        and assembled; only those whose newest part changed after ``since`` are returned.
        """
        rates = role_rates(self.pages(client, "rate_card_roles"))
        cards: dict[str, AssembledCard] = {}
        errors: list[RecordError] = []

        def assemble(raw: Raw, page: KantataPage) -> AssembledCard:
            return assemble_card(raw, page, rates)

        for page in self.pages(client, "rate_cards"):
            for raw in page.records:
                result = mapped("rate_cards", raw, page, assemble)
                if isinstance(result, RecordError):
                    errors.append(result)
                else:
                    cards[result.card_id] = result
        return self._contract_cards(client, cards, errors, since)

    def _contract_cards(
        self,
        client: httpx.Client,
        cards: dict[str, AssembledCard],
        errors: list[RecordError],
        since: datetime | None,
    ) -> RateCards:
        found: dict[str, RateCard] = {}
        unreadable: list[RecordError] = []
        for page in self.pages(client, "workspaces"):
            for raw in page.records:
                project = mapped("workspaces", raw, page, to_project)
                if isinstance(project, SchemaDriftError):
                    unreadable.append(project)
                if isinstance(project, RecordError):
                    continue
                card = cards.get(str(raw.get("rate_card_id")))
                if card is None:
                    continue
                found.setdefault(project.contract_id, contract_card(card, project.contract_id))
        chosen = [c for c in found.values() if since is None or c.updated_at > since]
        latest = max((c.updated_at for c in found.values()), default=None)
        return RateCards(chosen, errors, latest, unreadable)

    # --- writes -------------------------------------------------------------------------------

    def create_workspace(self, client: httpx.Client, request: WorkspaceRequest) -> Project:
        """The workspace linked to the request's Salesforce contract: found, or provisioned and
        linked to its contract and account (``writes.create_workspace``)."""
        return create_workspace(client, request)

    def find_workspace(self, client: httpx.Client, contract_ref: str) -> str | None:
        """The workspace already linked to ``contract_ref``, if any."""
        return find_workspace(client, contract_ref)

    def update_invoice_status(
        self, client: httpx.Client, invoice_id: str, status: str
    ) -> dict[str, Any]:
        """Set an invoice's status (``paid`` marks it paid); returns the stored invoice."""
        return update_invoice_status(client, invoice_id, status)


def contract_card(card: AssembledCard, contract_id: str) -> RateCard:
    """The canonical rate card of one contract: a Kantata card is shared, a canonical one is
    per contract, so its id names both."""
    return RateCard(
        id=canonical_id(VENDOR, "rate_card", f"{card.card_id}/{contract_id}"),
        source=VENDOR,
        source_id=card.card_id,
        updated_at=card.updated_at,
        contract_id=contract_id,
        currency=card.currency,
        lines=card.lines,
    )


def _latest(records: list[Raw]) -> datetime | None:
    stamps = []
    for raw in records:
        try:
            stamps.append(parse_time(raw["updated_at"]))
        except (KeyError, TypeError, ValueError):
            continue
    return max(stamps, default=None)
