"""How the dashboard is started (:mod:`app.dashboard`): where it listens, what it protects, where
the sign-in secrets go, and when demo mode is refused — with the real server's bound address."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from app.dashboard import DashboardConfigError, launch
from sync.access import AuthMode, AuthSettings, OidcSettings
from sync.loopback import DemoRefused, demo_refusals
from sync.settings import Mode, Settings
from sync.settings_checks import is_loopback_host
from tests.app.serving import free_port, wait_until_up

ROOT = Path(__file__).resolve().parents[2]
CLIENT_SECRET = "s3cret-client-value"
COOKIE_SECRET = "c00kie-" + "x" * 40


def settings(**given: object) -> Settings:
    return Settings(**{"database_url": "sqlite:///var/test.db"} | given)  # type: ignore[arg-type]


def oidc(**given: object) -> AuthSettings:
    return AuthSettings(
        mode=AuthMode.OIDC,
        oidc=OidcSettings(
            server_metadata_url="https://login.firm.example/.well-known/openid-configuration",
            client_id="plan2cash",
            client_secret=SecretStr(CLIENT_SECRET),
            cookie_secret=SecretStr(COOKIE_SECRET),
            **given,
        ),
    )


def option(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def test_the_dashboard_listens_on_loopback_with_xsrf_and_cors_on() -> None:
    command = launch(settings(), port=8599).command
    assert option(command, "--server.address") == "127.0.0.1"
    assert option(command, "--server.enableXsrfProtection") == "true"
    assert option(command, "--server.enableCORS") == "true"
    assert json.loads(option(command, "--server.trustedUserHeaders")) == {}


def test_error_details_reach_the_browser_only_in_demo_mode() -> None:
    assert option(launch(settings(), port=1).command, "--client.showErrorDetails") == "full"
    header = settings(auth=AuthSettings(mode=AuthMode.HEADER))
    assert option(launch(header, port=1).command, "--client.showErrorDetails") == "none"


def test_the_config_file_keeps_error_details_and_xsrf_safe() -> None:
    """A bare ``streamlit run`` from the project folder is safe too."""
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["client"]["showErrorDetails"] == "none"
    assert config.get("server", {}).get("enableXsrfProtection", True) is True
    assert config.get("server", {}).get("enableCORS", True) is True


def test_header_mode_trusts_only_the_configured_headers() -> None:
    auth = AuthSettings(mode=AuthMode.HEADER, header="X-Auth-Email", groups_header="X-Groups")
    command = launch(settings(auth=auth, dashboard_address="10.1.2.3"), port=1).command
    headers = json.loads(option(command, "--server.trustedUserHeaders"))
    assert headers == {"X-Auth-Email": "email", "X-Groups": "groups"}
    assert option(command, "--server.address") == "10.1.2.3"  # configured: behind the proxy


def test_oidc_secrets_go_to_a_private_file_and_nowhere_else() -> None:
    dashboard = launch(settings(auth=oidc()), port=8599)
    try:
        path = Path(option(dashboard.command, "--secrets.files"))
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        auth = tomllib.loads(path.read_text())["auth"]
        assert auth["client_secret"] == CLIENT_SECRET
        assert auth["cookie_secret"] == COOKIE_SECRET
        assert auth["redirect_uri"] == "http://localhost:8501/oauth2callback"
        assert auth["client_kwargs"] == {"scope": "openid profile email"}
        assert not any(CLIENT_SECRET in part for part in dashboard.command)
        assert not any(CLIENT_SECRET in value for value in dashboard.env.values())
        assert not path.is_relative_to(ROOT)  # never in the repository
    finally:
        dashboard.stop()
    assert not path.exists() and not path.parent.exists()


def test_oidc_names_every_missing_key_at_once() -> None:
    auth = AuthSettings(mode=AuthMode.OIDC, oidc=OidcSettings(client_id="plan2cash"))
    with pytest.raises(DashboardConfigError) as refused:
        launch(settings(auth=auth), port=1)
    message = str(refused.value)
    for key in ("server_metadata_url", "client_secret", "cookie_secret"):
        assert f"auth.oidc.{key}" in message
    assert "auth.oidc.client_id" not in message


def test_a_redirect_that_is_not_the_callback_is_refused() -> None:
    with pytest.raises(DashboardConfigError, match="/oauth2callback"):
        launch(settings(auth=oidc(redirect_uri="https://dash.firm.example/")), port=1)


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ({"dashboard_address": "0.0.0.0"}, "listen on address 0.0.0.0"),
        ({"dashboard_address": ""}, "listen on every network interface"),
        ({"database_url": "postgresql+psycopg://u:p@db.firm.example/p2c"}, "the store"),
    ],
)
def test_demo_mode_is_refused_off_the_sandbox(given: dict[str, object], reason: str) -> None:
    with pytest.raises(DemoRefused, match=reason):
        launch(settings(**given), port=1)


@pytest.mark.parametrize(
    ("given", "key"),
    [
        ({"harvest": {"base_url": "https://api.harvestapp.com/v2"}}, "harvest.base_url"),
        ({"xero": {"token_url": "https://identity.xero.com/connect/token"}}, "xero.token_url"),
    ],
)
def test_a_real_vendor_never_reaches_the_demo(given: dict[str, object], key: str) -> None:
    """Sandbox mode (the demo's) refuses a vendor off loopback before any launch."""
    with pytest.raises(ValidationError, match=re.escape(key)):
        settings(**given)
    off_sandbox = settings()
    off_sandbox.harvest.base_url = "https://api.harvestapp.com/v2"  # changed after checking
    with pytest.raises(DemoRefused, match=r"harvest\.base_url"):
        launch(off_sandbox, port=1)


def test_demo_mode_needs_sandbox_mode() -> None:
    sandboxed = settings()
    live = sandboxed.model_copy(update={"mode": Mode.LIVE})  # as if live, everything else alike
    assert demo_refusals(live, "127.0.0.1") == ['mode is "live", not "sandbox"']
    assert demo_refusals(sandboxed, "127.0.0.1") == []


def test_the_sandbox_on_loopback_may_run_the_demo() -> None:
    assert demo_refusals(settings(), "127.0.0.1") == []
    local_postgres = settings(database_url="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    assert demo_refusals(local_postgres, "localhost") == []
    assert [is_loopback_host(h) for h in ("::1", "127.0.0.2", "0.0.0.0", "", "evil.example")] == [
        True, True, False, False, False,
    ]  # fmt: skip


def test_plan2cash_demo_refuses_before_starting_anything(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLAN2CASH")} | {
        "PLAN2CASH__HARVEST__BASE_URL": "https://api.harvestapp.com/v2",
        "PLAN2CASH__DATABASE_URL": f"sqlite:///{tmp_path / 'store.db'}",
    }
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "demo", "--port", str(free_port())],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    said = " ".join(done.stderr.split())
    assert (
        "harvest.base_url = https://api.harvestapp.com/v2" in said and 'set mode = "live"' in said
    )
    assert not (tmp_path / "store.db").exists()  # nothing started


def test_the_demo_dashboard_is_bound_to_loopback_only(tmp_path: Path) -> None:
    """The real server the demo starts: every socket it listens on is a loopback one."""
    psutil = pytest.importorskip("psutil")
    port = free_port()
    dashboard = launch(settings(database_url=f"sqlite:///{tmp_path / 's.db'}"), port=port)
    (tmp_path / "empty.toml").touch()
    dashboard.env["PLAN2CASH_CONFIG"] = str(tmp_path / "empty.toml")
    process = dashboard.start()
    try:
        wait_until_up(f"http://127.0.0.1:{port}/_stcore/health", process)
        listening = [
            c.laddr
            for c in psutil.Process(process.pid).net_connections(kind="inet")
            if c.status == psutil.CONN_LISTEN
        ]
        assert port in {a.port for a in listening}
        assert all(is_loopback_host(a.ip) for a in listening), listening
    finally:
        dashboard.stop()
