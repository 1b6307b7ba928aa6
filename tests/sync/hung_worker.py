"""A worker whose flow runs never end: the crash test kills it (SIGKILL) mid-run.

python -m tests.sync.hung_worker URL SCHEMA
"""

from __future__ import annotations

import sys
import time

from sync.queue import build_app, run_workers
from sync.store.db import make_engine


def hang(flow: str) -> str:
    print(f"running {flow}", flush=True)
    time.sleep(3600)
    return "never"


def main() -> None:
    url, schema = sys.argv[1:3]
    store = make_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    app = build_app(store, run_flow=hang, heartbeat_seconds=0.2, stalled_after_seconds=1.0)
    run_workers(app, idle_seconds=0.05)


if __name__ == "__main__":
    main()
