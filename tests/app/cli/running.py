"""``plan2cash`` in a process of its own, as a person runs it, against a sandbox served on
loopback: the environment that points it at the sandbox and a store, and the run itself."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sandbox.server import Sandbox
from tests.conftest import sandbox_environment

CLI = [sys.executable, "-m", "app.cli"]
ROOT = Path(__file__).resolve().parents[3]


def env_for(box: Sandbox, db: Path) -> dict[str, str]:
    """This process's environment without any PLAN2CASH variable, then ``box``'s vendors and the
    SQLite store ``db``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLAN2CASH")}
    return env | sandbox_environment(box) | {"PLAN2CASH__DATABASE_URL": f"sqlite:///{db}"}


def plan2cash(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """``plan2cash *args`` run to its end (two minutes at most), its output captured as text."""
    return subprocess.run(
        [*CLI, *args],
        env=env | {"PYTHONPATH": str(ROOT), "COLUMNS": "200"},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
