"""Whether a configuration is the sandbox on this machine: every vendor, the store and the
dashboard on loopback (or a local file).

Demo mode (nobody signs in, everyone is an administrator) is safe only there; :func:`check_demo`
is the one check of it, made by the dashboard launcher before it starts and by the dashboard
itself on every run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from sync.settings_checks import is_loopback_host, is_loopback_url, vendor_urls

if TYPE_CHECKING:
    from sync.settings import Settings


class DemoRefused(ValueError):
    """Demo mode was asked for where it is not safe; the message names every reason."""


def store_is_local(database_url: str) -> bool:
    """A SQLite file (or memory), or a server on loopback or a local socket."""
    try:
        url = make_url(database_url)
    except ArgumentError:
        return False
    return url.get_backend_name() == "sqlite" or not url.host or is_loopback_host(url.host)


def demo_refusals(settings: Settings, address: str | None) -> list[str]:
    """Why demo mode may not run with ``settings`` and a dashboard bound to ``address``
    (empty: it may)."""
    reasons: list[str] = []
    mode = str(getattr(settings.mode, "value", settings.mode))
    if mode != "sandbox":
        reasons.append(f'mode is "{mode}", not "sandbox"')
    if not store_is_local(settings.database_url):
        reasons.append("the store is not a local file or a database on loopback")
    reasons += [f"{name} is not on loopback" for name, url in vendor_urls(settings)
                if not is_loopback_url(url)]  # fmt: skip
    if not is_loopback_host(address):
        where = f"address {address}" if address else "every network interface"
        reasons.append(f"the dashboard would listen on {where}, not on loopback")
    return reasons


def check_demo(settings: Settings, address: str | None) -> None:
    """Raise :class:`DemoRefused` unless demo mode is the sandbox's on loopback."""
    reasons = demo_refusals(settings, address)
    if reasons:
        raise DemoRefused(
            '[auth] mode = "demo" (no sign-in, everyone an administrator) runs only on the '
            "sandbox on this machine: " + "; ".join(reasons) + ". Configure [auth] mode = "
            '"oidc" or "header" to serve anything else.'
        )


__all__ = [
    "DemoRefused",
    "check_demo",
    "demo_refusals",
    "store_is_local",
]
