"""Starting the dashboard: the ``streamlit run`` command line that serves it safely.

What holds for every dashboard this module starts:

- it listens on ``dashboard_address`` (default ``127.0.0.1``), never on every interface unless
  configured so;
- XSRF and CORS protection are on, whatever a config file says;
- error details reach the browser only in demo mode (the sandbox on loopback); elsewhere a
  browser sees a generic message and the traceback goes to the server's log;
- ``[auth] mode = "oidc"``: Streamlit's ``[auth]`` secrets are written from ``[auth.oidc]`` to a
  private file (0600, in a 0700 directory of its own, removed when the dashboard stops) that
  only this server reads (``--secrets.files``);
- ``[auth] mode = "header"``: the proxy's headers become ``st.user`` (``trustedUserHeaders``);
  in every other mode no header is trusted;
- ``[auth] mode = "demo"`` starts only on the sandbox on loopback
  (:func:`sync.loopback.check_demo`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import tomli_w

from sync.access import AuthMode, AuthSettings
from sync.loopback import check_demo
from sync.settings import Settings

ENTRYPOINT = Path(__file__).with_name("streamlit_app.py")
PROJECT = ENTRYPOINT.resolve().parents[1]
CALLBACK = "/oauth2callback"


class DashboardConfigError(ValueError):
    """The configuration cannot start a safe dashboard; the message says what to fix."""


@dataclass
class Launch:
    """A dashboard command line, its environment, and the private directory it needs."""

    command: list[str]
    env: dict[str, str]
    private_dir: Path | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self) -> subprocess.Popen[bytes]:
        cwd = PROJECT if (PROJECT / ".streamlit").is_dir() else None
        self.process = subprocess.Popen(self.command, cwd=cwd, env=self.env)
        return self.process

    def stop(self) -> None:
        """Stop the server (if started) and remove the private secrets."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        if self.private_dir is not None:
            shutil.rmtree(self.private_dir, ignore_errors=True)


def launch(
    settings: Settings,
    *,
    port: int,
    store_url: str | None = None,
    config: Path | None = None,
) -> Launch:
    """The checked command line for the dashboard on ``port``; raises
    :class:`DashboardConfigError` (or :class:`sync.loopback.DemoRefused`) before anything starts."""
    auth = settings.auth
    address = settings.dashboard_address
    if auth.mode is AuthMode.DEMO:
        check_demo(settings, address)
    demo = auth.mode is AuthMode.DEMO
    env = dict(os.environ)
    if store_url is not None:
        env["PLAN2CASH__DATABASE_URL"] = store_url
    if config is not None:
        env["PLAN2CASH_CONFIG"] = str(config.resolve())
    command = [
        sys.executable, "-m", "streamlit", "run", str(ENTRYPOINT),
        "--server.port", str(port),
        "--server.address", address,
        "--server.headless", "true",
        "--server.enableXsrfProtection", "true",
        "--server.enableCORS", "true",
        "--server.trustedUserHeaders", json.dumps(trusted_headers(auth)),
        "--client.showErrorDetails", "full" if demo else "none",
        "--client.toolbarMode", "minimal",
        "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    private_dir = None
    if auth.mode is AuthMode.OIDC:
        private_dir = Path(tempfile.mkdtemp(prefix="plan2cash-dashboard-"))
        secrets = write_secrets(private_dir, oidc_secrets(settings))
        command += ["--secrets.files", str(secrets)]
    return Launch(command, env, private_dir)


def trusted_headers(auth: AuthSettings) -> dict[str, str]:
    """The proxy headers copied into ``st.user``: only in header mode."""
    if auth.mode is not AuthMode.HEADER:
        return {}
    headers = {auth.header: "email"}
    if auth.groups_header:
        headers[auth.groups_header] = "groups"
    return headers


def oidc_secrets(settings: Settings) -> dict[str, object]:
    """Streamlit's ``[auth]`` section from ``[auth.oidc]``; every missing key named at once."""
    oidc = settings.auth.oidc
    redirect = oidc.redirect_uri or settings.dashboard_url.rstrip("/") + CALLBACK
    values = {
        "server_metadata_url": oidc.server_metadata_url,
        "client_id": oidc.client_id,
        "client_secret": oidc.client_secret.get_secret_value(),
        "cookie_secret": oidc.cookie_secret.get_secret_value(),
    }
    missing = [f"auth.oidc.{key}" for key, value in values.items() if not value]
    if missing:
        raise DashboardConfigError(
            '[auth] mode = "oidc" needs ' + ", ".join(missing) + " (the identity provider's "
            "metadata URL and this dashboard's client; cookie_secret: a long random string)"
        )
    if not redirect.endswith(CALLBACK):
        raise DashboardConfigError(f"auth.oidc.redirect_uri must end with {CALLBACK}")
    return {"auth": {"redirect_uri": redirect, **values, "client_kwargs": {"scope": oidc.scope}}}


def write_secrets(directory: Path, secrets: dict[str, object]) -> Path:
    """``secrets.toml`` in ``directory``, readable by this user only (0600, created so)."""
    directory.chmod(0o700)
    path = directory / "secrets.toml"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        tomli_w.dump(secrets, out)
    return path


__all__ = ["DashboardConfigError", "Launch", "launch", "oidc_secrets", "trusted_headers"]
