"""``plan2cash`` commands that read what a sync stored (exceptions, KPIs), against one sandbox
firm synced once for the module by ``plan2cash sync --once``; a test that changes the store
works on a copy of it."""

from __future__ import annotations

import getpass
import json
import re
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest

from sandbox.server import Sandbox
from sync.engine import FLOWS
from tests.app.cli.running import env_for, plan2cash


@dataclass
class Synced:
    box: Sandbox
    db: Path


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synced]:
    """The sandbox firm served and synced into a new SQLite store."""
    box = Sandbox(seed=11).serve(free_ports=True)
    folder = tmp_path_factory.mktemp("synced")
    try:
        synced = plan2cash("sync", "--once", env=env_for(box, folder / "p2c.db"), cwd=folder)
        assert synced.returncode == 0, synced.stdout + synced.stderr
        yield Synced(box, folder / "p2c.db")
    finally:
        box.stop()


def copy_store(source: Path, target: Path) -> Path:
    """A copy of the SQLite store ``source`` at ``target`` (whatever its write-ahead log holds)."""
    with closing(sqlite3.connect(source)) as original, closing(sqlite3.connect(target)) as copy:
        original.backup(copy)
    return target


def test_exceptions_list_shows_categories_and_reasons(synced: Synced, tmp_path: Path) -> None:
    env = env_for(synced.box, synced.db)
    listed = plan2cash("exceptions", "list", env=env, cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    for category in set(synced.box.firm.faults.values()):
        assert category in listed.stdout


def test_kpis_as_json_after_a_sync(synced: Synced, tmp_path: Path) -> None:
    env = env_for(synced.box, synced.db)
    result = plan2cash("kpis", "--json", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert {"as_of", "period", "wip", "cycle_time", "dso", "flows", "exceptions"} <= set(report)
    assert {row["flow"] for row in report["flows"]} == set(FLOWS)
    categories = {row["category"] for row in report["exceptions"]}
    assert categories == set(synced.box.firm.faults.values())
    bad = plan2cash("kpis", "--as-of", "yesterday", env=env, cwd=tmp_path)
    assert bad.returncode == 2 and "YYYY-MM-DD" in bad.stderr


def test_exceptions_triage_from_the_command_line(synced: Synced, tmp_path: Path) -> None:
    env = env_for(synced.box, copy_store(synced.db, tmp_path / "p2c.db"))

    def exceptions(*args: str) -> subprocess.CompletedProcess[str]:
        return plan2cash("exceptions", *args, env=env, cwd=tmp_path)

    shown = exceptions("show", "1")
    assert shown.returncode == 0 and "value at risk" in shown.stdout
    fix = ("--category", "negative_hours", "--edit", '{"hours": 2}')
    dry = exceptions("replay", *fix, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "dry run" in dry.stdout and "resolved" in dry.stdout
    done = exceptions("replay", *fix, "--reason", "typo")
    assert done.returncode == 0 and "resolved" in done.stdout
    replayed = re.search(r"│\s*(\d+)\s*│", done.stdout)
    assert replayed is not None, done.stdout
    journey = exceptions("show", replayed.group(1))
    said = " ".join(journey.stdout.split())
    assert "billing_event.edited" in said and "hours" in said and "→ 2" in said, said
    assert f"by os:{getpass.getuser()}@" in said  # the CLI acts as the OS user
    listed = exceptions("list")
    assert "negative_hours" not in listed.stdout
    ignored = exceptions("ignore", "--category", "unknown_project", "--reason", "internal project")
    assert ignored.returncode == 0 and "1 exception(s) marked ignored" in ignored.stdout
    vague = exceptions("resolve")
    assert vague.returncode == 2 and "Say which exceptions" in vague.stderr
    bad_edit = exceptions("replay", "--category", "over_24h", "--edit", "{hours")
    assert bad_edit.returncode == 2 and "not valid JSON" in bad_edit.stderr
