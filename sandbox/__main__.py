"""``python -m sandbox``: serve the sandbox firm's five vendor APIs until Ctrl-C.

Prints each API's base URL and sandbox credentials (``--json``: one JSON object keyed by vendor,
in the shape of plan2cash's configuration sections).
"""

from __future__ import annotations

import argparse
import json
import signal
import threading
from types import FrameType

from sandbox.server import EMULATORS, ERP_EMULATORS, Sandbox


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def parser() -> argparse.ArgumentParser:
    options = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    options.add_argument("--seed", type=int, default=7)
    options.add_argument("--size", default="tiny", choices=["tiny", "small", "medium", "large"])
    options.add_argument("--weeks", type=int, default=None)
    options.add_argument("--speed", type=float, default=None, help="simulated seconds per second")
    options.add_argument("--scenario", default="calm", help="calm, flaky, storm, outage:xero:2h …")
    options.add_argument("--json", action="store_true", help="print connections as JSON")
    for vendor in (*EMULATORS, *ERP_EMULATORS):
        options.add_argument(f"--{vendor}-port", type=int, default=None)
    return options


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    sandbox = Sandbox(
        args.seed, size=args.size, weeks=args.weeks, speed=args.speed, scenario=args.scenario
    )
    ports = {
        f"{v}_port": getattr(args, f"{v}_port")
        for v in sandbox.emulators
        if getattr(args, f"{v}_port") is not None
    }
    sandbox.serve(**ports)
    describe(sandbox, as_json=args.json)
    signal.signal(signal.SIGTERM, _interrupt)  # a demo script stopping us gets a clean shutdown
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()


def describe(sandbox: Sandbox, *, as_json: bool) -> None:
    connections = sandbox.connections()
    if as_json:
        print(json.dumps(connections, indent=2), flush=True)
        return
    world = sandbox.world
    print(
        f"{world.name} ({world.size}): seed {world.seed}, {len(world.employees)} people, "
        f"{world.time_entries.height} time entries, {len(world.faults)} labelled faults; "
        f"API faults: {sandbox.scenario}"
    )
    for vendor, details in connections.items():
        print(f"{vendor:<14}" + "  ".join(f"{k}={_shown(v)}" for k, v in details.items()))
    print("Ctrl-C to stop.", flush=True)


def _shown(value: object) -> str:
    """A value on one line: a key (PEM) is only named; ``--json`` prints it whole."""
    text = str(value)
    return "(PEM key: see --json)" if "-----BEGIN" in text else text


if __name__ == "__main__":
    main()
