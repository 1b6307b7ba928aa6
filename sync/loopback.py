"""Whether a configuration is the sandbox on this machine: every vendor, the store and the
dashboard on loopback (or a local file).

Demo mode (nobody signs in, everyone is an administrator) is safe only there; :func:`check_demo`
is the one check of it, made by the dashboard launcher before it starts and by the dashboard
itself on every run.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from pydantic import BaseModel
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

if TYPE_CHECKING:
    from sync.settings import Settings

VENDORS = ("harvest", "xero", "salesforce", "kantata", "bamboohr")


class DemoRefused(ValueError):
    """Demo mode was asked for where it is not safe; the message names every reason."""


def is_loopback_host(host: str | None) -> bool:
    """``localhost``, ``127.x.x.x`` or ``::1``; an empty host (every interface) is not."""
    if not host:
        return False
    name = host.strip().strip("[]").lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def is_loopback_url(url: str) -> bool:
    """The URL's host is on this machine (see :func:`is_loopback_host`)."""
    try:
        return is_loopback_host(urlsplit(url).hostname)
    except ValueError:
        return False


def vendor_urls(settings: Settings) -> dict[str, str]:
    """Every URL configured for a vendor, as ``vendor.field``."""
    urls: dict[str, str] = {}
    for vendor in VENDORS:
        section = getattr(settings, vendor, None)
        if not isinstance(section, BaseModel):
            continue
        for field in type(section).model_fields:
            value = getattr(section, field)
            if field.endswith("_url") and isinstance(value, str) and value:
                urls[f"{vendor}.{field}"] = value
    return urls


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
    mode = getattr(settings, "mode", None)  # [mode] sandbox | live, where configured
    if mode is not None and str(getattr(mode, "value", mode)) != "sandbox":
        reasons.append(f'mode is "{getattr(mode, "value", mode)}", not "sandbox"')
    if not store_is_local(settings.database_url):
        reasons.append("the store is not a local file or a database on loopback")
    reasons += [f"{name} is not on loopback" for name, url in vendor_urls(settings).items()
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
    "is_loopback_host",
    "is_loopback_url",
    "store_is_local",
    "vendor_urls",
]
