"""The CLI in this process: ``cli``, a runner in an empty folder with no PLAN2CASH variable."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    """The CLI in this process, in an empty folder, with no PLAN2CASH variable set."""
    monkeypatch.chdir(tmp_path)
    for key in list(os.environ):
        if key.startswith("PLAN2CASH"):
            monkeypatch.delenv(key)
    return CliRunner()
