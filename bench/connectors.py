"""Connector pacing benchmark: a full pull of every connector under its vendor's limits, scaled.

The sandbox firm (``--size``, seed 7, the ``calm`` scenario) has four legal entities, each keeping
its books in another ERP (Xero, Dynamics 365 Finance, Oracle Fusion, NetSuite), and runs behind
all eight emulators, each enforcing its vendor's published limits with every window shrunk by
``--time-scale``; each connector is paced by its own pacer shrunk alike, reads every stream of a
full pull through a transport that counts requests, and the benchmark prints, per stream:
records, requests made, the minimum possible (ceil(records / page size), plus the token and
connection calls and the joins the protocol needs, noted), rate-limit refusals (429, Salesforce
403 ``REQUEST_LIMIT_EXCEEDED``), retries, elapsed seconds, the most requests in flight at once
against the vendor's concurrency limit where it has one, and the share of the allowed rate used
for the vendor's binding limit: "rate used" is requests ÷ (elapsed ÷ window × limit), which a
pull of a window or two can push past 100 % legitimately (a sliding window admits its whole limit
at once), so it is also given "of most allowed": requests ÷ (limit × (⌊elapsed ÷ window⌋ + 1)),
the most a sliding window admits in that time, which a polite connector never exceeds. A polite
connector makes no more requests than the minimum plus retries, sees no refusal, and, where its
pacer sets the pace, comes close to 100 % of both.

The ERPs beyond Xero also post the invoices the world's ground truth has their legal entity issue
(``bench.connectors_posts``: requests per document posted against the vendor's minimum) and
NetSuite, limited by requests in flight rather than by rate, re-reads its invoices from more
threads than its limit (``bench.connectors_erps``).

Page sizes default to small values (``--*-page*`` flags; the vendors' maxima give the production
pull), so that most vendors make several windows' worth of requests and the pacer, not the
emulator's speed, sets the pace; ``--time-scale`` 0.05 keeps Harvest pacer-bound on two cores.
Salesforce's limit is a daily allocation, which no full pull comes near. Figures are printed, not
asserted.

    python -m bench.connectors [--size medium] [--time-scale 0.05] [--harvest-per-page 100] ...
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bench.connectors_erps import ERP_PULLS, erp_stream_count
from bench.connectors_meter import Meter, Row, count_retries
from bench.connectors_pulls import PULLS, PageSizes, stream_count
from sandbox.server import Sandbox
from sandbox.world.catalog import ERPS

console = Console()
HEADERS = (
    "vendor", "stream", "records", "requests", "minimum", "extra", "429/403", "retries",
    "seconds", "in flight (peak/limit)", "binding limit (scaled)", "windows", "rate used",
    "of most allowed",
)  # fmt: skip
VENDORS = (*PULLS, *ERP_PULLS)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--size", default="medium", choices=("tiny", "small", "medium", "large"))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--scenario", default="calm")
    parser.add_argument("--time-scale", type=float, default=0.05)
    parser.add_argument("--harvest-per-page", type=int, default=100, help="max 2000")
    parser.add_argument("--xero-page-size", type=int, default=5, help="max 1000")
    parser.add_argument("--salesforce-batch", type=int, default=200, help="200..2000")
    parser.add_argument("--kantata-per-page", type=int, default=20, help="max 200")
    parser.add_argument("--bamboohr-page-limit", type=int, default=2, help="max 2500")
    parser.add_argument("--dynamics365-page-size", type=int, default=20, help="max 10000")
    parser.add_argument("--oracle-fusion-limit", type=int, default=10, help="max 500")
    parser.add_argument("--netsuite-limit", type=int, default=50, help="max 1000")
    parser.add_argument("--vendors", nargs="+", choices=VENDORS, default=list(VENDORS))
    return parser.parse_args()


def progress_display() -> Progress:
    return Progress(
        TextColumn("{task.description:<32}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[records]:>9,} records  {task.fields[requests]:>6,} requests"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


def main() -> None:
    args = parse_args()
    sizes = PageSizes(
        args.harvest_per_page,
        args.xero_page_size,
        args.salesforce_batch,
        args.kantata_per_page,
        args.bamboohr_page_limit,
        args.dynamics365_page_size,
        args.oracle_fusion_limit,
        args.netsuite_limit,
    )
    scale = args.time_scale
    with console.status(f"building the {args.size} firm (seed {args.seed})"):
        built = time.monotonic()
        box = Sandbox(
            args.seed,
            size=args.size,
            time_scale=scale,
            scenario=args.scenario,
            entities=len(ERPS),
            erps=ERPS,
        )
        built = time.monotonic() - built
    with box, progress_display() as progress:
        streams = stream_count(box, [v for v in args.vendors if v in PULLS]) + sum(
            erp_stream_count(box, v) for v in args.vendors if v in ERP_PULLS
        )
        meter = Meter(progress, streams=streams, scale=scale)
        count_retries(meter.tally)
        for vendor in args.vendors:
            {**PULLS, **ERP_PULLS}[vendor](box, meter, sizes)
    console.print(
        f"[bold]Full pull of the {args.size} firm[/] (seed {args.seed}, scenario "
        f"{args.scenario!r}, built in {built:.1f} s); time_scale {scale:g} on every "
        f"emulator's windows and every pacer; page sizes: Harvest per_page {sizes.harvest}, "
        f"Xero pageSize {sizes.xero}, Salesforce batchSize {sizes.salesforce}, Kantata "
        f"per_page {sizes.kantata}, BambooHR page[limit] {sizes.bamboohr}, Dynamics 365 "
        f"odata.maxpagesize {sizes.dynamics365}, Oracle Fusion limit {sizes.oracle_fusion}, "
        f"NetSuite limit {sizes.netsuite}."
    )
    console.print(render(meter.rows, scale))
    notes(meter.rows)


def render(rows: Sequence[Row], scale: float) -> Table:
    table = Table(title="requests made vs the minimum the page sizes require", title_justify="left")
    for header in HEADERS:
        table.add_column(header, justify="left" if header in ("vendor", "stream") else "right")
    for vendor in dict.fromkeys(row.vendor for row in rows):
        mine = [row for row in rows if row.vendor == vendor]
        for row in mine:
            table.add_row(*cells(row, [row], scale))
        table.add_row(*cells(total(vendor, mine), mine, scale), style="bold", end_section=True)
    return table


def cells(row: Row, measured: Sequence[Row], scale: float) -> list[str]:
    """``row``'s figures; the rate shares are those of the paced rows in ``measured``."""
    paced = [r for r in measured if r.rate is not None]
    rate = paced[0].rate if paced else None
    requests = sum(r.requests for r in paced)
    seconds = sum(r.seconds for r in paced)
    peak = max((r.peak for r in measured), default=0)
    limit = row.concurrency or next((r.concurrency for r in measured if r.concurrency), None)
    in_flight = f"{peak} / {limit}" if limit else f"{peak}"
    if limit and peak > limit:
        in_flight = f"[red]{in_flight}[/]"
    shown = ["—", "—", "—", "—"]
    if rate is not None:
        windows = rate.windows(seconds, scale)
        used = f"{rate.share(requests, seconds, scale):.0%}"
        most = sum(rate.most(budget, scale) for budget in budgets(paced).values())
        shown = [rate.label(scale), f"{windows:.1f}", used, f"{requests / most:.0%}"]
        if windows < 2:  # a burst inside a window or two is not a rate
            shown[2] = f"[dim]({used})[/]"
    return [
        row.vendor,
        row.stream,
        f"{row.records:,}",
        f"{row.requests:,}",
        f"{row.minimum:,}",
        f"[red]{row.extra:+,}[/]" if row.extra else "0",
        f"[red]{row.counts.limited}[/]" if row.counts.limited else "0",
        f"{row.retries:,}",
        f"{row.seconds:.2f}",
        in_flight,
        *shown,
    ]


def budgets(rows: Sequence[Row]) -> dict[str, float]:
    """Seconds spent per rate budget (one per account, or per Xero tenant)."""
    spent: dict[str, float] = {}
    for row in rows:
        spent[row.budget] = spent.get(row.budget, 0.0) + row.seconds
    return spent


def total(vendor: str, rows: Sequence[Row]) -> Row:
    """The vendor's rows together (its token and connection calls included)."""
    summed = Row(vendor, "total")
    summed.records = sum(row.records for row in rows)
    summed.minimum = sum(row.minimum for row in rows)
    summed.seconds = sum(row.seconds for row in rows)
    summed.peak = max((row.peak for row in rows), default=0)
    summed.concurrency = next((row.concurrency for row in rows if row.concurrency), None)
    for row in rows:
        summed.counts = summed.counts.plus(row.counts)
    return summed


def notes(rows: Sequence[Row]) -> None:
    for row in rows:
        if row.note:
            console.print(f"  [dim]{row.vendor} {row.stream}:[/] {row.note}")
    requests = sum(row.requests for row in rows)
    least = sum(row.minimum for row in rows)
    refused = sum(row.counts.limited for row in rows)
    console.print(
        f"[bold]all vendors:[/] {requests:,} requests made, {least:,} the minimum possible, "
        f"{refused} rate-limit refusals, {sum(row.retries for row in rows)} retries."
    )
    for row in rows:
        if row.counts.limited:
            console.print(
                f"[red]refused:[/] {row.vendor} {row.stream}: {row.counts.limited} rate-limit "
                "refusals"
            )
        if row.extra > 0:
            console.print(
                f"[red]beyond the minimum:[/] {row.vendor} {row.stream}: {row.requests:,} "
                f"requests for a minimum of {row.minimum:,} and {row.retries} retries"
            )


if __name__ == "__main__":
    main()
