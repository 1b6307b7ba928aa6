"""Sandbox scale benchmark: generate the ``medium`` and ``large`` firms and serve their time.

For each size: seconds to generate the world, seconds to page through every Harvest time entry
in-process (2,000 per page over ``InProcessTransport``, as the connector does), the number of
entries and the process's peak RSS so far. Figures only, no pass/fail.

    python -m bench.sandbox_scale [--sizes medium large] [--seed 7]
"""

from __future__ import annotations

import argparse
import gc
import resource
import time
from datetime import date

import httpx
import orjson

from sandbox.transport import InProcessTransport
from sandbox.vendors.harvest import DEFAULT_ACCOUNT_ID, DEFAULT_TOKEN, HarvestEmulator
from sandbox.world import build_world

HEADERS = {
    "Authorization": f"Bearer {DEFAULT_TOKEN}",
    "Harvest-Account-Id": DEFAULT_ACCOUNT_ID,
    "User-Agent": "plan2cash bench (ops@plan2cash.invalid)",
}
TODAY = date(2026, 11, 25)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def page_through(emulator: HarvestEmulator) -> int:
    """Every time entry, following ``links.next``; returns how many were served."""
    served = 0
    with (
        InProcessTransport(emulator.app) as transport,
        httpx.Client(transport=transport, headers=HEADERS, timeout=60) as client,
    ):
        url: str | None = "http://harvest.test/v2/time_entries?per_page=2000"
        while url is not None:
            response = client.get(url)
            response.raise_for_status()
            body = orjson.loads(response.content)
            served += len(body["time_entries"])
            url = body["links"]["next"]
    return served


def measure(size: str, seed: int) -> dict[str, float]:
    started = time.perf_counter()
    world = build_world(seed, size=size, today=TODAY)
    generated = time.perf_counter() - started
    started = time.perf_counter()
    emulator = HarvestEmulator(world, time_scale=1e-6)  # rate limit window shrunk away
    served = page_through(emulator)
    serving = time.perf_counter() - started
    figures = {
        "generate_s": generated,
        "serve_s": serving,
        "entries": float(world.time_entries.height),
        "served": float(served),
        "people": float(len(world.employees)),
        "peak_rss_mb": peak_rss_mb(),
    }
    del emulator, world
    gc.collect()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["medium", "large"])
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    columns = ("people", 8), ("entries", 11), ("generate", 11), ("serve", 9), ("total", 9)
    print(
        f"{'size':<8}"
        + "".join(f"{name:>{width}}" for name, width in columns)
        + f"{'peak RSS':>11}"
    )
    for size in args.sizes:
        f = measure(size, args.seed)
        print(
            f"{size:<8}{f['people']:>8,.0f}{f['entries']:>11,.0f}{f['generate_s']:>10.1f}s"
            f"{f['serve_s']:>8.1f}s{f['generate_s'] + f['serve_s']:>8.1f}s"
            f"{f['peak_rss_mb']:>8,.0f} MB",
            flush=True,
        )
        assert f["served"] == f["entries"], "every entry must be served exactly once"


if __name__ == "__main__":
    main()
