"""A full pull of every stream of each connector, against one sandbox, measured by a ``Meter``.

Each pull builds the connector as production does, on the emulator's transport wrapped to count
requests, with the vendor's own pacer at the sandbox's time scale, and reads every stream of a
full pull (no cursor) through the connector's public methods. The minimum each stream could have
taken is ceil(records / page size), plus the calls the protocol needs, said in the row's note.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from bench.connectors_meter import Meter, Rate, Row, pages_needed
from collectors import bamboohr, harvest, kantata, salesforce, xero
from collectors.pacing import PacerPool
from sandbox.server import Sandbox

HARVEST_STREAMS = ("clients", "projects", "users", "user_assignments", "time_entries")
XERO_STREAMS = ("contacts", "invoices")
XERO_MAX_PAGE_SIZE = 1000  # Xero caps pageSize at 1,000 (the connector does not)
SALESFORCE_STREAMS = ("accounts", "opportunities", "contracts")


@dataclass(frozen=True)
class PageSizes:
    """Records per request asked of each vendor."""

    harvest: int
    xero: int
    salesforce: int
    kantata: int
    bamboohr: int
    dynamics365: int
    oracle_fusion: int
    netsuite: int


def stream_count(box: Sandbox, vendors: Sequence[str]) -> int:
    """How many rows the pulls of ``vendors`` will measure (for the progress bar)."""
    rows = {
        "harvest": len(HARVEST_STREAMS),
        "xero": 1 + len(box.xero.tenant_ids) * len(XERO_STREAMS),
        "salesforce": 1 + len(SALESFORCE_STREAMS),
        "kantata": 4,
        "bamboohr": 1,
    }
    return sum(rows[vendor] for vendor in vendors)


def pull_harvest(box: Sandbox, meter: Meter, sizes: PageSizes) -> None:
    settings = harvest.HarvestSettings(per_page=sizes.harvest)
    per_page = min(sizes.harvest, harvest.MAX_PER_PAGE)
    connector = harvest.HarvestConnector(
        settings,
        transport=meter.wire(box.transports()["harvest"]),
        pacer=harvest.harvest_pacer(settings, time_scale=meter.scale),
    )
    rate = Rate(settings.requests_per_15s, 15.0)
    with connector.client() as client:
        for name in HARVEST_STREAMS:
            with meter.stream("harvest", name, rate) as row:
                for page in connector.pages(client, name):
                    row.records += len(page)
                    meter.add(len(page))
                row.minimum = pages_needed(row.records, per_page)


def pull_xero(box: Sandbox, meter: Meter, sizes: PageSizes) -> None:
    settings = xero.XeroSettings(page_size=sizes.xero)
    page_size = min(sizes.xero, XERO_MAX_PAGE_SIZE)
    connector = xero.XeroConnector(
        settings,
        transport=meter.wire(box.transports()["xero"]),
        pacers=PacerPool(lambda t: xero.xero_pacer(t, settings, time_scale=meter.scale)),
    )
    rate = Rate(settings.requests_per_minute, 60.0, "per tenant")
    with connector.client() as client:
        limit = settings.concurrent_requests
        with meter.stream("xero", "token + connections", None, limit) as row:
            # every organisation the connection reaches: a full pull reads each one's books
            tenants = [tenant.tenant_id for tenant in connector.tenants(client)]
            row.records, row.minimum = len(tenants), 2
            row.note = "1 token (client credentials) + 1 GET /connections listing the tenants"
        for number, tenant in enumerate(tenants, 1):
            for name in XERO_STREAMS:
                label = f"{name} · tenant {number}"
                with meter.stream("xero", label, rate, settings.concurrent_requests) as row:
                    row.budget = tenant
                    for page in connector.pages(client, name, tenant):
                        row.records += len(page)
                        meter.add(len(page))
                    row.minimum = pages_needed(row.records, page_size)


def pull_salesforce(box: Sandbox, meter: Meter, sizes: PageSizes) -> None:
    settings = salesforce.SalesforceSettings(
        login_url=box.base_url("salesforce"), batch_size=sizes.salesforce
    )
    connector = salesforce.SalesforceConnector(
        settings,
        transport=meter.wire(box.transports()["salesforce"]),
        pacer=salesforce.salesforce_pacer(settings, time_scale=meter.scale),
    )
    rate = Rate(settings.daily_api_requests, 86_400.0, "per org")
    with meter.stream("salesforce", "token", None) as row:
        client = connector.client()
        row.minimum = 1
        row.note = "client-credentials login, which also names the instance URL"
    with client:
        for name in SALESFORCE_STREAMS:
            with meter.stream("salesforce", name, rate) as row:
                for page in connector.pages(client, name):
                    row.records += len(page)
                    meter.add(len(page))
                row.minimum = pages_needed(row.records, settings.batch_size)


@dataclass
class KantataRead:
    """One call of ``KantataConnector.pages``: the collection, its pages and records."""

    stream: str
    pages: int = 0
    records: int = 0
    ids: list[str] = field(default_factory=list)


class CountedKantata(kantata.KantataConnector):
    """The Kantata connector, remembering each read its public methods make underneath (the
    rate cards read rate card roles and workspaces as well as cards)."""

    def __init__(self, *args: Any, on_page: Callable[[int], None], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reads: list[KantataRead] = []
        self._on_page = on_page

    def pages(
        self, client: httpx.Client, stream: str, since: datetime | None = None, **filters: str
    ) -> Iterator[kantata.KantataPage]:
        read = KantataRead(stream)
        self.reads.append(read)
        for page in super().pages(client, stream, since, **filters):
            read.pages += 1
            read.records += len(page.records)
            read.ids.extend(str(raw.get("id")) for raw in page.records)
            self._on_page(len(page.records))
            yield page

    def take(self) -> list[KantataRead]:
        """The reads since the last ``take``."""
        reads, self.reads = self.reads, []
        return reads


def pull_kantata(box: Sandbox, meter: Meter, sizes: PageSizes) -> None:
    settings = kantata.KantataSettings(
        base_url=f"{box.base_url('kantata')}/api/v1", per_page=sizes.kantata
    )
    connector = CountedKantata(
        settings,
        transport=meter.wire(box.transports()["kantata"]),
        pacer=kantata.kantata_pacer(settings, time_scale=meter.scale),
        on_page=meter.add,
    )
    rate = Rate(settings.requests_per_window, settings.window_seconds)
    per_page = settings.per_page
    with connector.client() as client:
        with meter.stream("kantata", "workspaces", rate) as row:
            for _ in connector.projects(client):
                pass
            (read,) = connector.take()
            workspace_ids = read.ids
            row.records, row.minimum = read.records, pages_needed(read.records, per_page)
        with meter.stream("kantata", "participations", rate) as row:
            for _ in connector.assignments(client, workspace_ids):
                pass
            reads = connector.take()
            row.records = sum(r.records for r in reads)
            row.minimum = sum(pages_needed(r.records, per_page) for r in reads)
            row.note = f"read per workspace (workspace_id is required): {len(reads)} workspaces"
        with meter.stream("kantata", "milestones", rate) as row:
            for _ in connector.milestones(client):
                pass
            (read,) = connector.take()
            row.records, row.minimum = read.records, pages_needed(read.records, per_page)
        with meter.stream("kantata", "rate cards", rate) as row:
            connector.rate_cards(client)
            _rate_card_figures(row, connector.take(), per_page)


def _rate_card_figures(row: Row, reads: list[KantataRead], per_page: int) -> None:
    """Cards and their role rates are needed; the workspaces (for the card → contract link)
    were read already by this pull, so re-reading them is beyond the minimum."""
    by_stream: dict[str, list[KantataRead]] = {}
    for read in reads:
        by_stream.setdefault(read.stream, []).append(read)
    cards = sum(r.records for r in by_stream.get("rate_cards", []))
    roles = sum(r.records for r in by_stream.get("rate_card_roles", []))
    again = by_stream.get("workspaces", [])
    row.records = cards
    row.minimum = pages_needed(cards, per_page) + pages_needed(roles, per_page)
    row.note = f"+ {roles:,} rate card roles (the rates live there)"
    if again:
        row.note += (
            f"; re-reads all {sum(r.records for r in again):,} workspaces "
            f"({sum(r.pages for r in again)} pages) to link cards to contracts"
        )


def pull_bamboohr(box: Sandbox, meter: Meter, sizes: PageSizes) -> None:
    domain = box.emulators["bamboohr"].company_domain
    settings = bamboohr.BambooHRSettings(
        base_url=f"{box.base_url('bamboohr')}/api/gateway.php/{domain}/v1",
        page_limit=sizes.bamboohr,
    )
    connector = bamboohr.BambooHRConnector(
        settings,
        transport=meter.wire(box.transports()["bamboohr"]),
        pacer=bamboohr.bamboohr_pacer(settings, time_scale=meter.scale),
    )
    rate = Rate(settings.requests_per_10s, 10.0)
    with connector.client() as client, meter.stream("bamboohr", "employees", rate) as row:
        for page in connector.pages(client, "employees"):
            row.records += len(page)
            meter.add(len(page))
        row.minimum = 1 + pages_needed(row.records, settings.page_limit)
        row.note = "+1 GET /employees/changed (each employee's lastChanged, the cursor)"


PULLS: dict[str, Callable[[Sandbox, Meter, PageSizes], None]] = {
    "harvest": pull_harvest,
    "xero": pull_xero,
    "salesforce": pull_salesforce,
    "kantata": pull_kantata,
    "bamboohr": pull_bamboohr,
}
