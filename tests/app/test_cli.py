"""The ``plan2cash`` command line against the sandbox served on loopback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from sandbox.server import Sandbox
from sync.engine import FLOWS
from sync.store.migrate import heads
from tests.conftest import sandbox_environment

CLI = [sys.executable, "-m", "app.cli"]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def served() -> Iterator[Sandbox]:
    box = Sandbox(seed=11).serve(free_ports=True)
    yield box
    box.stop()


def env_for(box: Sandbox, db: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLAN2CASH")}
    return env | sandbox_environment(box) | {"PLAN2CASH__DATABASE_URL": f"sqlite:///{db}"}


def plan2cash(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        env=env | {"PYTHONPATH": str(ROOT), "COLUMNS": "200"},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_sync_once_twice_posts_each_invoice_exactly_once(served: Sandbox, tmp_path: Path) -> None:
    env = env_for(served, tmp_path / "p2c.db")
    first = plan2cash("sync", "--once", env=env, cwd=tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "succeeded" in first.stdout and "failed" not in first.stdout
    totals = {i["InvoiceNumber"]: i["Total"] for i in served.xero.invoices()}
    second = plan2cash("sync", "--once", env=env, cwd=tmp_path)
    assert second.returncode == 0, second.stdout + second.stderr
    assert {i["InvoiceNumber"]: i["Total"] for i in served.xero.invoices()} == totals
    expected = served.firm.expected_invoices()
    assert len(totals) == len(expected)
    assert sum(Decimal(str(t)) for t in totals.values()) == sum(e["total"] for e in expected)


def test_exceptions_list_shows_categories_and_reasons(served: Sandbox, tmp_path: Path) -> None:
    env = env_for(served, tmp_path / "p2c.db")
    assert plan2cash("sync", "--once", env=env, cwd=tmp_path).returncode == 0
    listed = plan2cash("exceptions", "list", env=env, cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    for category in set(served.firm.faults.values()):
        assert category in listed.stdout


def test_an_unreachable_vendor_fails_the_run_with_a_clear_message(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLAN2CASH")} | {
        "PLAN2CASH__DATABASE_URL": f"sqlite:///{tmp_path / 'p2c.db'}",
        "PLAN2CASH__HARVEST__BASE_URL": "http://127.0.0.1:9/v2",
        "PLAN2CASH__XERO__BASE_URL": "http://127.0.0.1:9/api.xro/2.0",
        "PLAN2CASH__HARVEST__TIMEOUT_SECONDS": "1",
    }
    result = plan2cash("sync", "--once", "--flow", "reference", env=env, cwd=tmp_path)
    assert result.returncode == 1
    assert "failed" in result.stdout and "ConnectError" in result.stdout


def test_bad_configuration_is_a_clear_error_not_a_traceback(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[schedule]\ntime_seconds = -5\n")
    result = plan2cash("db", "upgrade", "--config", str(config), env=dict(os.environ), cwd=tmp_path)
    assert result.returncode == 2
    assert "Configuration error" in result.stderr and "Traceback" not in result.stderr
    missing = plan2cash(
        "db", "upgrade", "--config", str(tmp_path / "nope.toml"), env=dict(os.environ), cwd=tmp_path
    )
    assert missing.returncode == 2 and "does not exist" in missing.stderr


def test_db_upgrade_creates_the_default_store_under_var(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLAN2CASH")}
    result = plan2cash("db", "upgrade", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "var" / "plan2cash.db").is_file()
    assert f"revision {', '.join(sorted(heads()))}." in result.stdout


def test_kpis_as_json_after_a_sync(served: Sandbox, tmp_path: Path) -> None:
    env = env_for(served, tmp_path / "p2c.db")
    assert plan2cash("sync", "--once", env=env, cwd=tmp_path).returncode == 0
    result = plan2cash("kpis", "--json", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert {"as_of", "period", "wip", "cycle_time", "dso", "flows", "exceptions"} <= set(report)
    assert {row["flow"] for row in report["flows"]} == set(FLOWS)
    categories = {row["category"] for row in report["exceptions"]}
    assert categories == set(served.firm.faults.values())
    bad = plan2cash("kpis", "--as-of", "yesterday", env=env, cwd=tmp_path)
    assert bad.returncode == 2 and "YYYY-MM-DD" in bad.stderr


def test_exceptions_triage_from_the_command_line(served: Sandbox, tmp_path: Path) -> None:
    env = env_for(served, tmp_path / "p2c.db")
    assert plan2cash("sync", "--once", env=env, cwd=tmp_path).returncode == 0
    shown = plan2cash("exceptions", "show", "1", env=env, cwd=tmp_path)
    assert shown.returncode == 0 and "value at risk" in shown.stdout
    dry = plan2cash(
        "exceptions",
        "replay",
        "--category",
        "negative_hours",
        "--dry-run",
        "--edit",
        '{"hours": 2}',
        env=env,
        cwd=tmp_path,
    )
    assert dry.returncode == 0, dry.stderr
    assert "dry run" in dry.stdout and "resolved" in dry.stdout
    done = plan2cash(
        "exceptions",
        "replay",
        "--category",
        "negative_hours",
        "--edit",
        '{"hours": 2}',
        "--reason",
        "typo",
        env=env,
        cwd=tmp_path,
    )
    assert done.returncode == 0 and "resolved" in done.stdout
    listed = plan2cash("exceptions", "list", env=env, cwd=tmp_path)
    assert "negative_hours" not in listed.stdout
    ignored = plan2cash(
        "exceptions",
        "ignore",
        "--category",
        "unknown_project",
        "--reason",
        "internal project",
        env=env,
        cwd=tmp_path,
    )
    assert ignored.returncode == 0 and "1 exception(s) marked ignored" in ignored.stdout
    vague = plan2cash("exceptions", "resolve", env=env, cwd=tmp_path)
    assert vague.returncode == 2 and "Say which exceptions" in vague.stderr
    bad_edit = plan2cash(
        "exceptions", "replay", "--category", "over_24h", "--edit", "{hours", env=env, cwd=tmp_path
    )
    assert bad_edit.returncode == 2 and "not valid JSON" in bad_edit.stderr


def test_sandbox_serve_prints_every_vendor_as_json(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLAN2CASH")} | {
        "PYTHONPATH": str(ROOT),
        **{
            f"PLAN2CASH__{v}": url
            for v, url in (
                ("HARVEST__BASE_URL", "http://127.0.0.1:0/v2"),
                ("XERO__BASE_URL", "http://127.0.0.1:0/api.xro/2.0"),
                ("SALESFORCE__LOGIN_URL", "http://127.0.0.1:0"),
                ("KANTATA__BASE_URL", "http://127.0.0.1:0/api/v1"),
                ("BAMBOOHR__BASE_URL", "http://127.0.0.1:0/api/gateway.php/meridian/v1"),
            )
        },
    }
    process = subprocess.Popen(
        [*CLI, "sandbox", "serve", "--json"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        text = ""
        while True:
            line = process.stdout.readline()
            assert line, process.stderr.read() if process.stderr else "no output"
            text += line
            if line.startswith("}"):
                break
        connections = json.loads(text)
        assert set(connections) == {"harvest", "xero", "salesforce", "kantata", "bamboohr"}
        harvest = connections["harvest"]
        response = httpx.get(
            f"{harvest['base_url']}/users",
            headers={
                "Authorization": f"Bearer {harvest['token']}",
                "Harvest-Account-Id": harvest["account_id"],
                "User-Agent": "test (t@example.com)",
            },
        )
        assert response.status_code == 200 and response.json()["users"]
    finally:
        process.terminate()
        process.wait(10)


def test_an_unknown_scenario_is_a_clear_error(tmp_path: Path) -> None:
    result = plan2cash(
        "sandbox", "serve", "--scenario", "hurricane", env=dict(os.environ), cwd=tmp_path
    )
    assert result.returncode == 2 and "hurricane" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_sandbox_scenario_comes_from_configuration(tmp_path: Path) -> None:
    config = tmp_path / "p2c.toml"
    config.write_text('[sandbox]\nscenario = "flaky+drift:harvest"\nseed = 3\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLAN2CASH")} | {
        "PYTHONPATH": str(ROOT),
        "PLAN2CASH__HARVEST__BASE_URL": "http://127.0.0.1:0/v2",
        "PLAN2CASH__XERO__BASE_URL": "http://127.0.0.1:0/api.xro/2.0",
        "PLAN2CASH__SALESFORCE__LOGIN_URL": "http://127.0.0.1:0",
        "PLAN2CASH__KANTATA__BASE_URL": "http://127.0.0.1:0/api/v1",
        "PLAN2CASH__BAMBOOHR__BASE_URL": "http://127.0.0.1:0/api/gateway.php/meridian/v1",
    }
    process = subprocess.Popen(
        [*CLI, "sandbox", "serve", "--config", str(config)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert "seed 3" in first and "API faults: flaky+drift:harvest" in first
    finally:
        process.terminate()
        process.wait(10)


def test_the_demo_firm_lives_on_its_clock() -> None:
    import time as wall

    from app.cli.demo import advance_firm

    box = Sandbox(seed=7, today=date(2026, 11, 23), speed=200_000)  # a Monday; ≈2.3 days a second
    try:
        before = len(box.harvest.entries())
        wall.sleep(1.0)
        advance_firm(box)
        assert box.world.today > date(2026, 11, 23)
        assert len(box.harvest.entries()) > before
    finally:
        box.stop()
