"""The ``plan2cash`` command line against the sandbox served on loopback."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from rich.console import Console
from sqlalchemy.exc import ArgumentError
from typer.testing import CliRunner

from app.cli import app, common
from app.cli import config as config_command
from sandbox.server import Sandbox
from sync import telemetry
from sync.erps import build as build_erps
from sync.settings import Mode, Settings
from sync.store.db import make_engine, session_factory, transaction
from sync.store.migrate import heads, upgrade
from sync.store.tables import ExceptionRow
from tests.app.cli.running import CLI, ROOT, env_for, plan2cash


@pytest.fixture
def served() -> Iterator[Sandbox]:
    box = Sandbox(seed=11).serve(free_ports=True)
    yield box
    box.stop()


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
    assert "Is the sandbox running? `plan2cash sandbox serve`" in result.stderr


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


SANDBOX_VENDORS = ("harvest", "xero", "salesforce", "kantata", "bamboohr")
ERP_VENDORS = ("xero", "dynamics365", "oracle_fusion", "netsuite")
FREE_PORTS = {
    "HARVEST__BASE_URL": "http://127.0.0.1:0/v2",
    "XERO__BASE_URL": "http://127.0.0.1:0/api.xro/2.0",
    "SALESFORCE__LOGIN_URL": "http://127.0.0.1:0",
    "KANTATA__BASE_URL": "http://127.0.0.1:0/api/v1",
    "BAMBOOHR__BASE_URL": "http://127.0.0.1:0/api/gateway.php/meridian/v1",
    "DYNAMICS365__BASE_URL": "http://127.0.0.1:0/data",
    "ORACLE_FUSION__BASE_URL": "http://127.0.0.1:0/fscmRestApi/resources/11.13.18.05",
    "NETSUITE__BASE_URL": "http://127.0.0.1:0/services/rest",
}


def read_json(process: subprocess.Popen[str]) -> dict[str, Any]:
    """The JSON document ``sandbox serve --json`` prints first."""
    assert process.stdout is not None
    text = ""
    while True:
        line = process.stdout.readline()
        assert line, process.stderr.read() if process.stderr else "no output"
        text += line
        if line.startswith("}"):
            break
    printed: dict[str, Any] = json.loads(text)
    return printed


def test_sandbox_serve_prints_every_vendor_as_json(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLAN2CASH")} | {
        "PYTHONPATH": str(ROOT),
        **{f"PLAN2CASH__{key}": url for key, url in FREE_PORTS.items()},
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
        connections = read_json(process)
        assert set(connections) == {*SANDBOX_VENDORS, *ERP_VENDORS, "erp"}
        books = connections["erp"]["entities"]
        assert sorted(b["erp"] for b in books.values()) == sorted(ERP_VENDORS)  # one entity each
        as_configured = Settings(**connections)  # pasted into a configuration, it is valid
        assert as_configured.mode is Mode.SANDBOX
        assert as_configured.harvest.token.get_secret_value() == connections["harvest"]["token"]
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
        for name, erp in build_erps(as_configured).items():  # each section reaches its ERP
            with erp.client() as client:
                assert erp.companies(client), name
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
        **{f"PLAN2CASH__{key}": url for key, url in FREE_PORTS.items()},
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


# --- configuration and failures a person can act on (in-process) ------------------------------


def test_config_check_shows_each_value_masked_with_its_source(
    cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "p2c.toml").write_text('[harvest]\naccount_id = "42"\n')
    monkeypatch.setenv("PLAN2CASH__XERO__CLIENT_SECRET", "env-s3cret")
    monkeypatch.setenv("COLUMNS", "200")
    result = cli.invoke(app, ["config", "check", "--config", "p2c.toml"])
    assert result.exit_code == 0, result.output
    lines = {line.split()[1]: line for line in result.output.splitlines() if "│" in line}
    assert "42" in lines["harvest.account_id"] and "file" in lines["harvest.account_id"]
    assert "********" in lines["xero.client_secret"]
    assert "environment" in lines["xero.client_secret"]
    assert "default" in lines["kantata.base_url"] and "sandbox" in lines["mode"]
    assert "env-s3cret" not in result.output and "sandbox-harvest-token" not in result.output
    assert "The configuration is valid (sandbox mode)" in result.output


FOUR_ERPS = """
[erp]
default = "xero"
[erp.entities]
"Meridian Advisory Ltd" = { erp = "xero" }
"Meridian Advisory UK Ltd" = { erp = "dynamics365", company = "gb01" }
"Meridian Advisory GmbH" = { erp = "oracle_fusion", company = "Meridian Advisory GmbH BU" }
"Meridian Advisory B.V." = { erp = "netsuite", company = "4" }

[dynamics365]
client_id = "d365-app"

[oracle_fusion]
username = "p2c.integration"

[netsuite]
client_id = "netsuite-client"
certificate_id = "cert-id-1"
"""
ERP_SECRETS = {
    "dynamics365.client_secret": "d365-s3cret",
    "oracle_fusion.password": "fusi0n-pw",
    "netsuite.private_key": f"netsuite-key-{secrets.token_hex(8)}",  # made per run, no PEM
}


def test_config_check_shows_four_erps_a_row_per_entity_and_secrets_masked(
    cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "p2c.toml").write_text(FOUR_ERPS)
    for key, secret in ERP_SECRETS.items():
        monkeypatch.setenv(f"PLAN2CASH__{key.replace('.', '__').upper()}", secret)
    # a row a line, whatever terminal the suite runs in (the entities' keys are long)
    monkeypatch.setattr(config_command, "console", Console(width=200))
    result = cli.invoke(app, ["config", "check", "--config", "p2c.toml"])
    assert result.exit_code == 0, result.output
    rows = {
        cells[1].strip(): [cell.strip() for cell in cells[2:4]]
        for cells in (line.split("│") for line in result.output.splitlines())
        if len(cells) > 4
    }
    assert 'erp.entities."Meridian Advisory UK Ltd"' in rows, result.output
    assert rows['erp.entities."Meridian Advisory UK Ltd"'] == [
        "erp = dynamics365, company = gb01",
        "file",
    ]
    assert rows['erp.entities."Meridian Advisory B.V."'] == ["erp = netsuite, company = 4", "file"]
    assert rows['erp.entities."Meridian Advisory Ltd"'] == ["erp = xero", "file"]
    assert rows["dynamics365.client_id"] == ["d365-app", "file"]
    assert rows["netsuite.certificate_id"] == ["cert-id-1", "file"]
    assert rows["oracle_fusion.username"] == ["p2c.integration", "file"]
    for key in ERP_SECRETS:
        assert rows[key] == ["********", "environment"]
    assert rows["sandbox.erps"][0] == "xero, dynamics365, oracle_fusion, netsuite"
    for secret in (*ERP_SECRETS.values(), "sandbox-d365-secret"):
        assert secret.strip() not in result.output
    assert "The configuration is valid (sandbox mode)" in result.output


@pytest.mark.parametrize(
    ("file", "environment", "error"),
    [
        ('[harvest]\ntokn = "x"\n', {}, "harvest.tokn is not a setting"),
        ("", {"PLAN2CASH__XERO__CLIENT_SECRT": "x"}, "PLAN2CASH__XERO__CLIENT_SECRT is not a"),
        ('mode = "live"\n', {}, "live mode needs: database_url, salesforce.login_url"),
        ("", {"PLAN2CASH__XERO__BASE_URL": "https://api.xero.com/api.xro/2.0"}, 'mode = "live"'),
        ("", {"PLAN2CASH_CONFIG": "gone.toml"}, "PLAN2CASH_CONFIG names gone.toml"),
    ],
)
def test_config_check_ends_a_mistake_in_one_error(
    file: str,
    environment: dict[str, str],
    error: str,
    cli: CliRunner,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (tmp_path / "plan2cash.toml").write_text(file)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    result = cli.invoke(app, ["config", "check"])
    assert result.exit_code == 2
    first, *rest = result.output.strip().splitlines()
    assert first.startswith("Configuration error: ") and error in first
    assert rest == ["Fix it, then `plan2cash config check` shows what plan2cash reads."]


@pytest.mark.parametrize("url", ["not a url", "postgress://db/p2c", "sqlite+nodriver:///p2c.db"])
def test_a_bad_database_url_is_two_lines(
    url: str, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLAN2CASH__DATABASE_URL", url)
    result = cli.invoke(app, ["db", "upgrade"])
    assert result.exit_code in (1, 2)
    cause, fix = result.output.strip().splitlines()
    assert cause.startswith(("The database URL is not one", "The database cannot be reached"))
    assert "database_url" in fix


def test_debug_lets_the_traceback_through(cli: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLAN2CASH__DATABASE_URL", "not a url")
    result = cli.invoke(app, ["--debug", "db", "upgrade"])
    assert isinstance(result.exception, ArgumentError)


def test_an_unreachable_postgresql_is_two_lines_not_a_traceback(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLAN2CASH")} | {
        "PLAN2CASH__DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:9/p2c",
    }
    result = plan2cash("db", "upgrade", env=env, cwd=tmp_path)
    assert result.returncode == 1 and result.stdout == ""
    cause, fix = result.stderr.strip().splitlines()
    assert cause.startswith("The database cannot be reached: ") and "port 9 failed" in cause
    assert fix.startswith("Is it running, and is database_url right?")


def test_without_the_postgres_extra_the_fix_is_named(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # import psycopg fails as if not installed
    monkeypatch.setenv("PLAN2CASH__DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1/p2c")
    result = cli.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "The PostgreSQL driver is not installed (no module psycopg).",
        "Install it with: pip install 'plan2cash[postgres]'",
    ]


def test_without_the_otlp_extra_the_fix_is_named(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry.exporter.otlp.proto.http.trace_exporter", None)
    monkeypatch.setattr(telemetry, "_provider", None)
    monkeypatch.setenv("PLAN2CASH__DATABASE_URL", f"sqlite:///{tmp_path / 'p2c.db'}")
    monkeypatch.setenv("PLAN2CASH__TELEMETRY__OTLP_ENDPOINT", "http://127.0.0.1:4318/v1/traces")
    result = cli.invoke(app, ["sync", "--once"])
    assert result.exit_code == 1
    cause, fix = result.output.strip().splitlines()
    assert cause == (
        "OTLP span export (telemetry.otlp_endpoint) is not installed "
        "(no module opentelemetry.exporter.otlp.proto.http.trace_exporter)."
    )
    assert fix == "Install it with: pip install 'plan2cash[otlp]'"


def test_vendor_text_is_printed_as_text(
    cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reason holding Rich markup is shown as written (it used to crash `exceptions list`)."""
    monkeypatch.setattr(common.console, "size", (200, 25))  # wide: no cell is folded
    url = f"sqlite:///{tmp_path / 'p2c.db'}"
    store = make_engine(url)
    upgrade(store)
    now = datetime.now(UTC)
    with transaction(session_factory(store)) as session:
        session.add(
            ExceptionRow(
                flow="time",
                stage="validate",
                record_key="harvest:[red]1",
                category="hours",
                reason="[/bold] closed [link=http://x]here[/link]",
                status="open",
                first_seen=now,
                last_seen=now,
            )
        )
    store.dispose()
    env = {"PLAN2CASH__DATABASE_URL": url, "COLUMNS": "200"}
    result = cli.invoke(app, ["exceptions", "list"], env=env)
    assert result.exit_code == 0, result.output
    assert "[/bold]" in result.output and "harvest:[red]1" in result.output
    shown = cli.invoke(app, ["exceptions", "show", "1"], env=env)
    assert shown.exit_code == 0, shown.output
    assert "[/bold] closed [link=http://x]here[/link]" in shown.output
