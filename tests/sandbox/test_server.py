"""The sandbox on real loopback sockets (ports 0), as the demo runs it."""

from __future__ import annotations

import httpx
import pytest

from sandbox.server import Sandbox
from tests.sandbox.conftest import HARVEST_HEADERS, TODAY, xero_token
from tests.sandbox.xero_documents import invoice


def test_serves_both_vendors_on_free_loopback_ports() -> None:
    with Sandbox(7, today=TODAY) as box:
        box.serve(free_ports=True)
        assert box.harvest_port not in (0, 8711) and box.xero_port not in (0, 8712)
        assert box.harvest_base_url == f"http://127.0.0.1:{box.harvest_port}/v2"
        assert box.xero_token_url.endswith("/connect/token")
        with httpx.Client(
            base_url=box.harvest_base_url + "/", headers=HARVEST_HEADERS, timeout=5
        ) as harvest:
            assert harvest.get("users").json()["total_entries"] == len(box.world.employees)
        with httpx.Client(base_url=box.xero_base_url + "/", timeout=5) as xero:
            xero.headers.update(
                {
                    "Authorization": f"Bearer {xero_token(xero, box)}",
                    "xero-tenant-id": box.xero.tenant_id,
                }
            )
            assert xero.get(box.xero_connections_url).status_code == 200
            box.xero.lose_next_response()
            with pytest.raises(httpx.TransportError):
                xero.put(
                    "Invoices", json=invoice(box, "P2C-7001"), headers={"Idempotency-Key": "wire-1"}
                )
            assert len(box.xero.invoices()) == 1
            again = xero.put(
                "Invoices", json=invoice(box, "P2C-7001"), headers={"Idempotency-Key": "wire-1"}
            )
            assert again.status_code == 200 and len(box.xero.invoices()) == 1


def test_serves_loopback_only() -> None:
    with Sandbox(7, today=TODAY) as box, pytest.raises(ValueError):
        box.serve(host="0.0.0.0")
