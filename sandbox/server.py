"""The whole sandbox: one world behind every vendor emulator, in-process or on loopback ports.

``Sandbox(seed).transports()`` gives sync httpx transports for tests (no sockets);
``Sandbox(seed).serve()`` runs every app under uvicorn in daemon threads on 127.0.0.1 for the
demo. Ports 0 pick free ports; the ``*_url`` properties then name the real ones.

Emulators live in ``Sandbox.emulators`` by vendor name; anything with an ASGI ``app`` can be
added with ``add_emulator`` (an emulator with ``refresh(world)`` follows the world when the
sandbox ``advance``s it).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Collection, Iterator
from datetime import UTC, date, datetime
from datetime import time as time_of_day
from typing import Any, cast

import httpx
import uvicorn
from starlette.types import ASGIApp

from sandbox.clock import utc_now
from sandbox.faults import FaultPlan, FaultyTransport, inject_faults, parse_scenario
from sandbox.firm import Firm
from sandbox.transport import InProcessTransport
from sandbox.vendors.bamboohr import BambooHREmulator
from sandbox.vendors.dynamics365 import Dynamics365Emulator
from sandbox.vendors.harvest import HarvestEmulator
from sandbox.vendors.kantata import KantataEmulator
from sandbox.vendors.netsuite import NetSuiteEmulator
from sandbox.vendors.oracle_fusion import OracleFusionEmulator
from sandbox.vendors.receivables import OpenInvoice, books, collect_payments
from sandbox.vendors.salesforce import SalesforceEmulator
from sandbox.vendors.xero import XeroEmulator
from sandbox.world.build import build_world
from sandbox.world.clock import SimClock, advance
from sandbox.world.model import World

HOST = "127.0.0.1"
HARVEST_PORT = 8711
XERO_PORT = 8712
SALESFORCE_PORT = 8713
KANTATA_PORT = 8714
BAMBOOHR_PORT = 8715
DYNAMICS365_PORT = 8716
ORACLE_FUSION_PORT = 8717
FUSION_API = "/fscmRestApi/resources/11.13.18.05"
FUSION_CRM = "/crmRestApi/resources/11.13.18.05"
NETSUITE_PORT = 8718
STARTUP_TIMEOUT_SECONDS = 10.0
Emulating = tuple[Callable[..., Any], int]  # how to make a vendor's emulator, and its port
EMULATORS: dict[str, Emulating] = {
    "harvest": (HarvestEmulator, HARVEST_PORT),
    "salesforce": (SalesforceEmulator, SALESFORCE_PORT),
    "kantata": (KantataEmulator, KANTATA_PORT),
    "bamboohr": (BambooHREmulator, BAMBOOHR_PORT),
}
ERP_EMULATORS: dict[str, Emulating] = {
    "xero": (XeroEmulator, XERO_PORT),
    "dynamics365": (Dynamics365Emulator, DYNAMICS365_PORT),
    "oracle_fusion": (OracleFusionEmulator, ORACLE_FUSION_PORT),
    "netsuite": (NetSuiteEmulator, NETSUITE_PORT),
}


class _Served:
    """One app under uvicorn on a socket bound before the thread starts (so port 0 works)."""

    def __init__(self, app: ASGIApp, host: str, port: int) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # a reply goes out whole at once (Nagle would hold its last segment for the client's
        # delayed ACK: ~40 ms a request); accepted connections inherit it from this socket
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
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


def books_in(world: World, erp: str) -> list[int]:
    """The legal entities whose books ``erp`` keeps."""
    return [e.id for e in world.legal_entities if e.erp == erp]


class _VendorUrl:
    """A read-only attribute: ``path`` on the vendor's served address (``Sandbox.base_url``)."""

    def __init__(self, vendor: str, path: str) -> None:
        self.vendor = vendor
        self.path = path

    def __get__(self, box: Sandbox, owner: type[Sandbox] | None = None) -> str:
        return f"{box.base_url(self.vendor)}{self.path}"


class Sandbox:
    """A seeded world, its vendor emulators, and ways to reach them."""

    def __init__(
        self,
        seed: int = 7,
        *,
        size: str = "tiny",
        today: date | None = None,
        weeks: int | None = None,
        extra_entries: int = 0,
        time_scale: float = 1.0,
        now: Callable[[], datetime] | None = None,
        faults: Collection[str] | None = None,
        speed: float | None = None,
        scenario: str = "calm",
        **world_options: Any,
    ) -> None:
        """``now`` is the emulators' clock (real UTC time by default); ``speed`` instead starts
        a ``SimClock`` at the world's today that runs that many times faster than real time.
        ``faults`` are the data-quality faults planted in the world; ``scenario`` the API faults
        the emulators inject (``calm``, ``flaky``, ``storm``, ``outage:xero:2h``, …)."""
        self.world: World = build_world(
            seed,
            size=size,
            today=today,
            weeks=weeks,
            faults=faults,
            extra_entries=extra_entries,
            **world_options,
        )
        self.clock = (
            SimClock(datetime.combine(self.world.today, time_of_day(9), tzinfo=UTC), speed)
            if speed
            else None
        )
        self.now: Callable[[], datetime] = self.clock.now if self.clock else (now or utc_now)
        self.firm = Firm(self.world)
        self.emulators: dict[str, Any] = {}
        self._ports: dict[str, int] = {}
        self.host = HOST
        self._served: list[_Served] = []
        self._transports: dict[str, httpx.BaseTransport] = {}
        for erp, (make, port) in ERP_EMULATORS.items():  # each keeps its legal entities' books
            entities = books_in(self.world, erp)
            emulator = make(self.world, entities=entities, time_scale=time_scale, now=self.now)
            self.add_emulator(erp, emulator, port)
        for vendor, (make, port) in EMULATORS.items():
            self.add_emulator(vendor, make(self.world, time_scale=time_scale, now=self.now), port)
        self.scenario = scenario
        self.fault_plans: dict[str, FaultPlan] = parse_scenario(scenario, seed=seed)
        self._time_scale = time_scale

    def add_emulator(self, vendor: str, emulator: Any, port: int) -> None:
        """Put ``emulator`` (anything with an ASGI ``.app``) behind the sandbox as ``vendor``."""
        if self._served or self._transports:
            raise RuntimeError("add emulators before serving or making transports")
        self.emulators[vendor] = emulator
        self._ports[vendor] = port

    @property
    def harvest(self) -> HarvestEmulator:
        return cast(HarvestEmulator, self.emulators["harvest"])

    @property
    def xero(self) -> XeroEmulator:
        return cast(XeroEmulator, self.emulators["xero"])

    def advance(self, to: date) -> int:
        """Move the world on to ``to``: new time, approvals, and customers paying what each ERP
        holds. Returns the number of time entries added."""
        added = advance(self.world, to)
        for emulator in self.emulators.values():
            refresh = getattr(emulator, "refresh", None)
            if callable(refresh):
                refresh(self.world)
        collect_payments(self.world, (self.emulators[erp] for erp in ERP_EMULATORS))
        return added

    def books(self) -> Iterator[tuple[int, OpenInvoice]]:
        """Every sales invoice booked in any ERP, with the legal entity whose books hold it."""
        return books(self.emulators[erp] for erp in ERP_EMULATORS)

    def faulty(self, vendor: str) -> bool:
        """Whether the scenario injects anything into this vendor's API."""
        plan = self.fault_plans.get(vendor)
        return plan is not None and (any(plan.rates.values()) or plan.outage is not None)

    def app(self, vendor: str) -> ASGIApp:
        """The vendor's emulator, behind the scenario's fault injection when it has any."""
        app: ASGIApp = self.emulators[vendor].app
        if not self.faulty(vendor):
            return app
        plan = self.fault_plans[vendor]
        return inject_faults(app, plan, clock=self.now, time_scale=self._time_scale)

    def transports(self) -> dict[str, httpx.BaseTransport]:
        """In-process transports (a hang ends as ``httpx.ReadTimeout`` where faults are
        injected), made once and closed by ``stop()``."""
        if not self._transports:
            for vendor in self.emulators:
                inner = InProcessTransport(self.app(vendor))
                self._transports[vendor] = FaultyTransport(inner) if self.faulty(vendor) else inner
        return dict(self._transports)

    def serve(
        self,
        host: str = HOST,
        harvest_port: int | None = None,
        xero_port: int | None = None,
        *,
        free_ports: bool = False,
        **ports: int,
    ) -> Sandbox:
        """Serve every emulator on ``host`` and return once they accept connections.
        ``<vendor>_port`` (or ``ports[vendor]``) overrides a port; 0 picks a free one, and
        ``free_ports`` picks a free one for every vendor (tests, several sandboxes at once)."""
        if self._served:
            raise RuntimeError("sandbox is already serving")
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the sandbox serves on loopback only")
        self.host = host
        chosen = {v: 0 for v in self._ports} if free_ports else dict(self._ports)
        chosen |= {k.removesuffix("_port"): v for k, v in ports.items()}
        if harvest_port is not None:
            chosen["harvest"] = harvest_port
        if xero_port is not None:
            chosen["xero"] = xero_port
        for vendor in self.emulators:
            served = _Served(self.app(vendor), host, chosen[vendor])
            self._served.append(served)
            served.start()
            self._ports[vendor] = served.port
        return self

    def port(self, vendor: str) -> int:
        return self._ports[vendor]

    def base_url(self, vendor: str) -> str:
        return f"http://{self.host}:{self._ports[vendor]}"

    def stop(self) -> None:
        for served in self._served:  # every server winds down at once, then each is waited for
            served.server.should_exit = True
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

    def connections(self) -> dict[str, dict[str, Any]]:
        """How to reach each emulator, keyed as plan2cash's settings are (``[harvest]``
        ``base_url``, ``token`` …), and which ERP keeps each legal entity's books (``[erp]
        entities``), so the output can be pasted into a configuration file (the NetSuite key is
        the sandbox's own, made when it started)."""
        harvest, xero = self.harvest, self.xero
        sf, kantata, bamboo, d365 = (
            self.emulators[v] for v in ("salesforce", "kantata", "bamboohr", "dynamics365")
        )
        fusion = self.emulators["oracle_fusion"]
        netsuite = self.emulators["netsuite"]
        rest = f"{self.base_url('netsuite')}/services/rest"
        return {
            "harvest": {"base_url": self.harvest_base_url, "account_id": harvest.account_id,
                        "token": harvest.token},
            "xero": {"base_url": self.xero_base_url, "token_url": self.xero_token_url,
                     "connections_url": self.xero_connections_url,
                     "client_id": xero.client_id, "client_secret": xero.client_secret,
                     "webhook_key": xero.webhook_key},
            "salesforce": {"login_url": self.base_url("salesforce"), "client_id": sf.client_id,
                           "client_secret": sf.client_secret, "api_version": sf.api_version},
            "kantata": {"base_url": f"{self.base_url('kantata')}/api/v1",
                        "token": kantata.token},
            "bamboohr": {
                "base_url": f"{self.base_url('bamboohr')}/api/gateway.php/"
                f"{bamboo.company_domain}/v1",
                "api_key": bamboo.api_key, "webhook_key": bamboo.webhook_key,
            },
            "dynamics365": {
                "base_url": f"{self.base_url('dynamics365')}/data",
                "token_url": f"{self.base_url('dynamics365')}/{d365.tenant}/oauth2/v2.0/token",
                "client_id": d365.client_id, "client_secret": d365.client_secret,
                "scope": f"{self.base_url('dynamics365')}/.default",
            },
            "oracle_fusion": {
                "base_url": f"{self.base_url('oracle_fusion')}{FUSION_API}",
                "crm_url": f"{self.base_url('oracle_fusion')}{FUSION_CRM}",
                "username": fusion.username, "password": fusion.password,
            },
            "netsuite": {"base_url": rest, "token_url": f"{rest}/auth/oauth2/v1/token",
                         "client_id": netsuite.client_id,
                         "certificate_id": netsuite.certificate_id,
                         "private_key": netsuite.private_key_pem},
            "erp": {"entities": {e.name: {"erp": e.erp} for e in self.world.legal_entities}},
        }  # fmt: skip

    @property
    def harvest_port(self) -> int:
        return self._ports["harvest"]

    @property
    def xero_port(self) -> int:
        return self._ports["xero"]

    harvest_base_url = _VendorUrl("harvest", "/v2")
    xero_base_url = _VendorUrl("xero", "/api.xro/2.0")
    xero_token_url = _VendorUrl("xero", "/connect/token")
    xero_connections_url = _VendorUrl("xero", "/connections")
