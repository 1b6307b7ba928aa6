"""The whole sandbox: one firm behind both emulators, in-process or on loopback ports.

``Sandbox(seed).transports()`` gives sync httpx transports for tests (no sockets);
``Sandbox(seed).serve()`` runs both apps under uvicorn in daemon threads on 127.0.0.1 for the
demo. Ports 0 pick free ports; the ``*_url`` properties then name the real ones.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import uvicorn
from starlette.types import ASGIApp

from sandbox.firm import Firm, build_firm
from sandbox.transport import InProcessTransport
from sandbox.vendors.harvest import HarvestEmulator
from sandbox.vendors.xero import XeroEmulator

HOST = "127.0.0.1"
HARVEST_PORT = 8711
XERO_PORT = 8712
STARTUP_TIMEOUT_SECONDS = 10.0


def _utc_now() -> datetime:
    return datetime.now(UTC)


class _Served:
    """One app under uvicorn on a socket bound before the thread starts (so port 0 works)."""

    def __init__(self, app: ASGIApp, host: str, port: int) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.port: int = self.sock.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run,
            kwargs={"sockets": [self.sock]},
            name=f"sandbox-uvicorn-{self.port}",
            daemon=True,
        )

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"sandbox server on port {self.port} did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=STARTUP_TIMEOUT_SECONDS)
        self.sock.close()


class Sandbox:
    """A seeded firm, its Harvest and Xero emulators, and ways to reach them."""

    def __init__(
        self,
        seed: int = 7,
        *,
        today: date | None = None,
        weeks: int = 8,
        extra_entries: int = 0,
        time_scale: float = 1.0,
        now: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.firm: Firm = build_firm(seed, today=today, weeks=weeks, extra_entries=extra_entries)
        self.harvest = HarvestEmulator(self.firm, time_scale=time_scale, now=now)
        self.xero = XeroEmulator(self.firm, time_scale=time_scale, now=now)
        self.host = HOST
        self._ports = {"harvest": HARVEST_PORT, "xero": XERO_PORT}
        self._served: list[_Served] = []
        self._transports: dict[str, InProcessTransport] = {}

    def transports(self) -> dict[str, InProcessTransport]:
        """In-process transports, made once and closed by ``stop()``."""
        if not self._transports:
            self._transports = {
                "harvest": InProcessTransport(self.harvest.app),
                "xero": InProcessTransport(self.xero.app),
            }
        return dict(self._transports)

    def serve(
        self, host: str = HOST, harvest_port: int = HARVEST_PORT, xero_port: int = XERO_PORT
    ) -> Sandbox:
        """Serve both emulators on ``host`` and return once they accept connections."""
        if self._served:
            raise RuntimeError("sandbox is already serving")
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the sandbox serves on loopback only")
        self.host = host
        for name, app, port in (
            ("harvest", self.harvest.app, harvest_port),
            ("xero", self.xero.app, xero_port),
        ):
            served = _Served(app, host, port)
            self._served.append(served)
            served.start()
            self._ports[name] = served.port
        return self

    def stop(self) -> None:
        for served in self._served:
            served.stop()
        self._served.clear()
        for transport in self._transports.values():
            transport.close()
        self._transports.clear()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    @property
    def harvest_port(self) -> int:
        return self._ports["harvest"]

    @property
    def xero_port(self) -> int:
        return self._ports["xero"]

    @property
    def harvest_base_url(self) -> str:
        return f"http://{self.host}:{self.harvest_port}/v2"

    @property
    def xero_base_url(self) -> str:
        return f"http://{self.host}:{self.xero_port}/api.xro/2.0"

    @property
    def xero_token_url(self) -> str:
        return f"http://{self.host}:{self.xero_port}/connect/token"

    @property
    def xero_connections_url(self) -> str:
        return f"http://{self.host}:{self.xero_port}/connections"
