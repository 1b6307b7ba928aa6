"""Runs every flow once in a process that kills itself (SIGKILL) at a chosen point.

Used by the crash-anywhere suite: ``python -m tests.reliability.crashy_engine <db-url>
<sandbox-connections-json> <kind> <n>`` where ``kind`` is
``commit`` (die right after the n-th database commit), ``call`` (die right after the n-th
response from Harvest or any ERP arrived, before anything is recorded) or ``call:<vendor>`` (the
n-th response from that vendor only) — ``none`` runs to completion. The settings are the
sandbox's connections, with its legal entities' books where the sandbox keeps them
(``adopt_books``). The suite starts it as ``run_logged`` in a process forked from a server that
imported this module once.

Every vendor is reached over real sockets through one transport per vendor; they share one TLS
context (the sandbox serves plain HTTP on loopback), made once instead of once per client.
"""

from __future__ import annotations

import json
import os
import signal
import ssl
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import event

from app.cli.sandbox import adopt_books
from collectors.http import RetryPolicy
from sync.engine import Engine
from sync.settings import Settings
from sync.store.db import make_engine
from sync.store.migrate import upgrade
from sync.store.vocabulary import ErpSystem

ROOT = Path(__file__).resolve().parents[2]
LOOPBACK_TLS = ssl.create_default_context()
ERPS = tuple(erp.value for erp in ErpSystem)
DYING = ("harvest", *ERPS)  # the vendors whose calls a ``call`` crash dies in


class Countdown:
    def __init__(self, n: int) -> None:
        self.left = n

    def tick(self, *_: Any) -> None:
        self.left -= 1
        if self.left == 0:
            os.kill(os.getpid(), signal.SIGKILL)


class DyingTransport(httpx.HTTPTransport):
    def __init__(self, countdown: Countdown) -> None:
        super().__init__(verify=LOOPBACK_TLS)
        self.countdown = countdown

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        response.read()
        self.countdown.tick()
        return response


def configured(url: str, connections: str) -> tuple[Settings, dict[str, httpx.BaseTransport]]:
    """Settings from the sandbox's connections, and a transport for each vendor they name."""
    sections = {
        vendor: details
        for vendor, details in json.loads(connections).items()
        if vendor in Settings.model_fields  # a sandbox vendor plan2cash has no section for yet
    }
    # every vendor but the ERPs by its addresses; the ERPs and [erp] as the sandbox keeps books
    urls: dict[str, Any] = {
        vendor: {k: v for k, v in details.items() if k.endswith("_url")}
        for vendor, details in sections.items()
        if vendor not in (*ERPS, "erp") or vendor == ErpSystem.XERO
    }
    settings = Settings(database_url=url, **urls)
    adopt_books(settings, sections)
    transports: dict[str, httpx.BaseTransport] = {
        vendor: httpx.HTTPTransport(verify=LOOPBACK_TLS) for vendor in sections if vendor != "erp"
    }
    return settings, transports


def main(argv: list[str]) -> None:
    url, connections, kind, n = argv
    store = make_engine(url)
    upgrade(store)
    countdown = Countdown(int(n))
    if kind == "commit":
        event.listen(store, "commit", countdown.tick)
    settings, transports = configured(url, connections)
    dying = DYING if kind == "call" else (kind.removeprefix("call:"),)
    if kind.startswith("call"):
        transports |= {vendor: DyingTransport(countdown) for vendor in dying}
    engine = Engine(
        settings,
        store,
        transports=transports,
        policy=RetryPolicy(attempts=3, initial=0.01, maximum=0.05, jitter=0.0),
        clock=lambda: datetime.now(UTC),
    )
    reports = engine.run_once()
    failed = [r for r in reports if r.status == "failed"]
    print("\n".join(f"{r.flow} {r.status} {r.error or ''}" for r in reports))
    sys.exit(1 if failed else 0)


def run_logged(argv: list[str], log: str) -> None:
    """``main`` in the repository's folder, this process's output (fd 1 and 2) appended to the
    file ``log``."""
    os.chdir(ROOT)
    out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.close(out)
    main(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
