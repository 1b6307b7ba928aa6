"""Connector pacing benchmark: a full Harvest pull under Harvest's real limits, time-scaled.

The emulator enforces 100 requests per 15 s, with its window shrunk by ``--time-scale``; the
connector's pacer is shrunk alike. A full pull of every stream of a firm with N extra time entries
(at ``--per-page`` records a page) prints the requests made, the minimum the page size requires
(ceil(records / per_page) per stream), the 429s seen, and the share of the allowed rate used
(requests ÷ (elapsed × allowed rate)). A polite connector makes no more requests than the minimum
plus retries, sees no 429, and uses close to, but never more than, 100 % of the allowed rate.

    python -m bench.connectors [--entries 20000] [--per-page 100] [--time-scale 0.01]
"""

from __future__ import annotations

import argparse
import math
import time
from collections import Counter
from datetime import date

import httpx
from rich.console import Console
from rich.table import Table

from collectors.harvest import HarvestConnector, HarvestSettings, harvest_pacer
from sandbox.server import Sandbox

console = Console()
STREAMS = ("clients", "projects", "users", "user_assignments", "time_entries")
LIMIT, WINDOW = 100, 15.0


class Counting(httpx.BaseTransport):
    """Counts requests and answers by status, between the connector and the emulator."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.statuses: Counter[int] = Counter()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        self.statuses[response.status_code] += 1
        return response


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=20_000)
    parser.add_argument("--per-page", type=int, default=100)
    parser.add_argument("--time-scale", type=float, default=0.01)
    args = parser.parse_args()
    scale = args.time_scale
    with Sandbox(7, today=date(2026, 11, 25), extra_entries=args.entries, time_scale=scale) as box:
        wire = Counting(box.transports()["harvest"])
        settings = HarvestSettings(per_page=args.per_page)
        connector = HarvestConnector(
            settings, transport=wire, pacer=harvest_pacer(settings, time_scale=scale)
        )
        table = Table(title=f"Harvest full pull, time_scale={scale:g}, per_page={args.per_page}")
        for column in ("stream", "records", "requests", "minimum", "seconds"):
            table.add_column(column, justify="right" if column != "stream" else "left")
        started = time.monotonic()
        made_before = 0
        minimum = 0
        with connector.client() as client:
            for stream in STREAMS:
                t0 = time.monotonic()
                records = sum(len(page) for page in connector.pages(client, stream))
                made = sum(wire.statuses.values()) - made_before
                made_before += made
                least = max(1, math.ceil(records / args.per_page))
                minimum += least
                table.add_row(
                    stream, f"{records:,}", str(made), str(least), f"{time.monotonic() - t0:.2f}"
                )
        elapsed = time.monotonic() - started
    requests = sum(wire.statuses.values())
    allowed = LIMIT / (WINDOW * scale)  # requests per second the emulator admits
    console.print(table)
    console.print(
        f"requests made {requests}, minimum possible {minimum}, "
        f"429s seen {wire.statuses[429]}, elapsed {elapsed:.2f} s, "
        f"allowed rate {allowed:,.0f}/s ({LIMIT} per {WINDOW * scale:g} s), "
        f"share of allowed rate used {requests / (elapsed * allowed):.0%}"
    )


if __name__ == "__main__":
    main()
