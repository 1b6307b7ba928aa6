"""The ERPs beside Xero, measured through the ``Erp`` protocol: Dynamics 365 Finance, Oracle
Fusion and NetSuite, each on the sandbox firm whose legal entities keep their books in the four
ERPs (each ERP emulator holds only its entities' companies).

Per ERP: the token and the companies, then per company a full read of what status back reads
(customers, invoices, payments; no cursor) and a post of the entity's invoices
(``bench.connectors_posts``). The minimum of a read is ceil(records / page size) plus what the
vendor's API makes necessary:

- Dynamics 365: invoices are customer transactions joined to their free text invoice headers and
  lines, so each page of transactions also reads its headers (by ``InvoiceId``) and their lines,
  ceil(rows / page size) each (one look-up per page: the bench keeps the page size within the
  connector's look-up chunk, its ``batch_size``); each page of payments reads the invoice
  transactions they settled. Binding limit: 6,000 requests per 5 minutes and 52 in flight, per
  user.
- Oracle Fusion: invoice lines and receipt applications come expanded in their page; customer
  accounts are the pod's, shared by every business unit. Oracle publishes no limit: the rate is
  our pacing setting (``requests_per_minute``), which the emulator enforces.
- NetSuite: a record collection lists ids only, so every record costs one ``GET`` after its page.
  NetSuite limits requests in flight per account (5 on the emulator, a developer account's), not
  a rate: its rows report the peak in flight against that limit, and one row re-reads the
  invoices from twice as many threads as the limit admits, to show the pacer holding them to it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx

from bench.connectors_meter import Meter, Rate, pages_needed
from bench.connectors_posts import Target, post_company
from bench.connectors_pulls import PageSizes
from collectors import dynamics365, netsuite, oracle_fusion
from collectors.erp import Erp, Raw
from collectors.netsuite.reads import record
from sandbox.server import Sandbox

ERP_STREAMS = ("customers", "invoices", "payments")
COMPANY_ROWS = len(ERP_STREAMS) + 2  # the reads, the customers found, the post
Join = Callable[[list[Raw], int], int]  # (page, page size) → requests its join needs at least


@dataclass(frozen=True)
class Shape:
    """What one ERP's figures are measured against: its limits, page size, the least its token
    and company listing take, and the least each read's joins take per page."""

    vendor: str
    rate: Rate | None
    concurrency: int | None
    page_size: int
    companies: Callable[[int], int]
    companies_note: str
    joins: dict[str, Join]


def entities(box: Sandbox, vendor: str) -> dict[str, int]:
    """The emulator's companies (case aside) → the legal entity whose books each is."""
    listed = box.emulators[vendor].companies()
    return {str(company).casefold(): entity for company, entity, _ in listed}


def erp_stream_count(box: Sandbox, vendor: str) -> int:
    threaded = 1 if vendor == "netsuite" else 0
    return 1 + len(entities(box, vendor)) * (COMPANY_ROWS + threaded)


def pull_erp(box: Sandbox, meter: Meter, erp: Erp, shape: Shape) -> None:
    vendor = shape.vendor
    with erp.client() as client:
        with meter.stream(vendor, "token + companies", None, shape.concurrency) as row:
            companies = erp.companies(client)
            row.records = len(companies)
            row.minimum = shape.companies(len(companies))
            row.note = shape.companies_note
        owned = entities(box, vendor)
        for company in companies:
            entity = owned.get(company.company_id.casefold())
            if entity is None:
                continue
            target = Target(
                vendor, company.company_id, entity, shape.rate, shape.concurrency, shape.page_size
            )
            ids = _reads(erp, client, meter, target, shape.joins)
            post_company(erp, client, meter, target, box.world)
            if vendor == "netsuite":
                _threaded(client, meter, target, ids)


def _reads(
    erp: Erp, client: httpx.Client, meter: Meter, target: Target, joins: dict[str, Join]
) -> list[str]:
    """The company's three reads, a row each; the ids of the invoices read."""
    reads: dict[str, Callable[[], Iterator[list[Raw]]]] = {
        "customers": lambda: erp.customer_pages(client, target.company),
        "invoices": lambda: erp.invoice_pages(client, target.company, None),
        "payments": lambda: erp.payment_pages(client, target.company, None),
    }
    invoice_ids: list[str] = []
    for name in ERP_STREAMS:
        join = joins.get(name, _none)
        label = f"{name} · {target.company}"
        with meter.stream(target.vendor, label, target.rate, target.concurrency) as row:
            joined = 0
            for page in reads[name]():
                row.records += len(page)
                meter.add(len(page))
                joined += join(page, target.page_size)
                if name == "invoices":
                    invoice_ids += [str(raw.get("id")) for raw in page]
            row.minimum = pages_needed(row.records, target.page_size) + joined
    return invoice_ids


def _threaded(client: httpx.Client, meter: Meter, target: Target, ids: list[str]) -> None:
    """Every invoice read again by its id, from twice as many threads as the limit admits."""
    threads = 2 * (target.concurrency or 1)
    label = f"invoices again, {threads} threads · {target.company}"
    with (
        meter.stream(target.vendor, label, None, target.concurrency) as row,
        ThreadPoolExecutor(threads) as pool,
    ):
        found = list(pool.map(lambda i: record(client, "invoice", i), ids))
        row.records = sum(r is not None for r in found)
        meter.add(row.records)
        row.minimum = len(ids)
        row.note = "one GET /record/v1/invoice/{id} per invoice, from a thread pool"


def _none(page: list[Raw], page_size: int) -> int:
    return 0


def d365_invoice_join(page: list[Raw], page_size: int) -> int:
    """The page's headers (one look-up), then their lines (one look-up when any header)."""
    if not page:
        return 0
    headers = [raw for raw in page if raw.get("Header") is not None]
    lines = sum(len(raw.get("Lines") or []) for raw in headers)
    return pages_needed(len(headers), page_size) + (
        pages_needed(lines, page_size) if headers else 0
    )


def d365_payment_join(page: list[Raw], page_size: int) -> int:
    """The invoice transactions the page's payments settled (one look-up when any)."""
    if not any(raw.get("LastSettleVoucher") for raw in page):
        return 0
    settled = {str(raw["LastSettleVoucher"]) for raw in page if raw.get("SettledInvoice")}
    return pages_needed(len(settled), page_size)


def netsuite_join(page: list[Raw], page_size: int) -> int:
    """One ``GET`` per record the page lists."""
    return len(page)


def pull_dynamics365(box: Sandbox, meter: Meter, sizes: PageSizes) -> None:
    settings = dynamics365.Dynamics365Settings(
        **box.connections()["dynamics365"],
        page_size=sizes.dynamics365,
        batch_size=max(sizes.dynamics365, dynamics365.Dynamics365Settings().batch_size),
    )
    erp = dynamics365.Dynamics365Connector(
        settings,
        transport=meter.wire(box.transports()["dynamics365"]),
        pacer=dynamics365.dynamics365_pacer(settings, time_scale=meter.scale),
    )
    shape = Shape(
        "dynamics365",
        Rate(settings.requests_per_window, settings.window_seconds, "per user"),
        settings.concurrent_requests,
        settings.page_size,
        lambda n: 1 + pages_needed(n, settings.page_size),
        "1 Entra ID token (client credentials) + GET LegalEntities",
        {"invoices": d365_invoice_join, "payments": d365_payment_join},
    )
    pull_erp(box, meter, erp, shape)


def pull_oracle_fusion(box: Sandbox, meter: Meter, sizes: PageSizes) -> None:
    settings = oracle_fusion.OracleFusionSettings(
        **box.connections()["oracle_fusion"], page_size=sizes.oracle_fusion
    )
    erp = oracle_fusion.OracleFusionConnector(
        settings,
        transport=meter.wire(box.transports()["oracle_fusion"]),
        pacer=oracle_fusion.fusion_pacer(settings, time_scale=meter.scale),
    )
    shape = Shape(
        "oracle_fusion",
        Rate(settings.requests_per_minute, 60.0, "per user (our setting)"),
        None,
        settings.page_size,
        lambda n: pages_needed(n, settings.page_size),
        "HTTP Basic (no token call) + GET finBusinessUnitsLOV",
        {},
    )
    pull_erp(box, meter, erp, shape)


def pull_netsuite(box: Sandbox, meter: Meter, sizes: PageSizes) -> None:
    settings = netsuite.NetSuiteSettings(**box.connections()["netsuite"], page_size=sizes.netsuite)
    erp = netsuite.NetSuiteConnector(settings, transport=meter.wire(box.transports()["netsuite"]))
    joins: dict[str, Join] = dict.fromkeys(ERP_STREAMS, netsuite_join)
    shape = Shape(
        "netsuite",
        None,
        settings.concurrency_limit,
        settings.page_size,
        lambda n: 2,
        "1 token (JWT assertion, client credentials) + 1 SuiteQL listing the subsidiaries",
        joins,
    )
    pull_erp(box, meter, erp, shape)


ERP_PULLS: dict[str, Callable[[Sandbox, Meter, PageSizes], None]] = {
    "dynamics365": pull_dynamics365,
    "oracle_fusion": pull_oracle_fusion,
    "netsuite": pull_netsuite,
}
