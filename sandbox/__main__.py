"""``python -m sandbox``: serve the sandbox firm's Harvest and Xero emulators until Ctrl-C."""

from __future__ import annotations

import argparse
import signal
import threading
from types import FrameType

from sandbox.server import HARVEST_PORT, XERO_PORT, Sandbox


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--size", default="tiny", choices=["tiny", "small", "medium", "large"])
    parser.add_argument("--weeks", type=int, default=None)
    parser.add_argument("--speed", type=float, default=None, help="simulated seconds per second")
    parser.add_argument("--harvest-port", type=int, default=HARVEST_PORT)
    parser.add_argument("--xero-port", type=int, default=XERO_PORT)
    args = parser.parse_args(argv)
    sandbox = Sandbox(args.seed, size=args.size, weeks=args.weeks, speed=args.speed)
    sandbox.serve(harvest_port=args.harvest_port, xero_port=args.xero_port)
    world = sandbox.world
    print(
        f"{world.name} ({world.size}): seed {world.seed}, {len(world.employees)} people, "
        f"{world.time_entries.height} time entries, {len(world.faults)} labelled faults"
    )
    print(f"Harvest  {sandbox.harvest_base_url}")
    print(
        f"         token {sandbox.harvest.token}  Harvest-Account-Id "
        f"{sandbox.harvest.account_id}  (send a User-Agent)"
    )
    print(f"Xero     {sandbox.xero_base_url}")
    print(f"         token {sandbox.xero_token_url}  connections {sandbox.xero_connections_url}")
    print(
        f"         client_id {sandbox.xero.client_id}  client_secret "
        f"{sandbox.xero.client_secret}  xero-tenant-id {sandbox.xero.tenant_id}"
    )
    print("Ctrl-C to stop.", flush=True)
    signal.signal(signal.SIGTERM, _interrupt)  # a demo script stopping us gets a clean shutdown
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()


if __name__ == "__main__":
    main()
