"""What makes a configuration refused, and how a refusal reads.

The rules that make plan2cash fail closed: in ``sandbox`` mode every vendor URL is on loopback;
in ``live`` mode every vendor's URLs and credentials and the database URL are given (nothing
falls back to the sandbox's defaults) and every URL off loopback is https. A ``PLAN2CASH__…``
variable that names no setting is refused, with the closest setting suggested. Each function
returns every problem it finds, so that one error names them all.
"""

from __future__ import annotations

import difflib
import ipaddress
import types
import typing
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, SecretStr, ValidationError

from sync.store.vocabulary import ErpSystem

ENV_PREFIX = "PLAN2CASH__"
ENV_DELIMITER = "__"
LIVE_DATABASE_KEY = "database_url"
OTLP_KEY = ("telemetry", "otlp_endpoint")


class ConfigurationError(ValueError):
    """A configuration plan2cash refuses to run with; the message names every key at fault."""


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
    """Whether ``url`` points at this machine (see :func:`is_loopback_host`)."""
    try:
        return is_loopback_host(urlsplit(url).hostname)
    except ValueError:
        return False


def vendor_sections(settings: BaseModel) -> Iterator[tuple[str, BaseModel]]:
    """``(name, section)`` for each vendor section: the ones that declare ``live_required``."""
    for name in type(settings).model_fields:
        section = getattr(settings, name)
        if isinstance(section, BaseModel) and hasattr(section, "live_required"):
            yield name, section


def vendor_urls(settings: BaseModel) -> Iterator[tuple[str, str]]:
    """``(key, url)`` for every URL a vendor section sets (``harvest.base_url`` …)."""
    for name, section in vendor_sections(settings):
        for field in type(section).model_fields:
            value = getattr(section, field)
            if field.endswith("_url") and isinstance(value, str):
                yield f"{name}.{field}", value


def sandbox_problems(settings: BaseModel) -> list[str]:
    """Sandbox mode talks to the sandbox only: every vendor URL off loopback is a problem, and
    so is an alert channel off loopback (the sandbox firm's alerts go to local sinks only)."""
    away = [f"{key} = {url}" for key, url in vendor_urls(settings) if not is_loopback_url(url)]
    problems = []
    if away:
        problems.append(
            f"sandbox mode reaches the sandbox on loopback only, but {', '.join(away)}; "
            'set mode = "live" (and give every vendor\'s URLs and credentials) to reach real '
            "vendors"
        )
    channels = alert_channels_away(settings)
    if channels:
        problems.append(
            f"sandbox mode sends alerts on loopback only, but {', '.join(channels)}; "
            'point them at a local sink (`make demo` starts one) or set mode = "live"'
        )
    return problems


def alert_channels_away(settings: BaseModel) -> list[str]:
    """The alert channel settings that reach off loopback (a webhook URL is a secret: named by
    its key and host only)."""
    alerts = getattr(settings, "alerts", None)
    away = []
    email = getattr(alerts, "email", None)
    if email is not None and not is_loopback_host(email.host):
        away.append(f"alerts.email.host = {email.host}")
    slack = getattr(alerts, "slack", None)
    if slack is not None:
        url = slack.webhook_url.get_secret_value()
        if not is_loopback_url(url):
            host = _host(url)
            away.append(f"alerts.slack.webhook_url (host {host})" if host else
                        "alerts.slack.webhook_url")  # fmt: skip
    return away


def _host(url: str) -> str | None:
    try:
        return urlsplit(url).hostname
    except ValueError:
        return None


def live_problems(settings: BaseModel) -> list[str]:
    """Live mode takes nothing from the sandbox's defaults and sends credentials over https."""
    missing = [] if LIVE_DATABASE_KEY in settings.model_fields_set else [LIVE_DATABASE_KEY]
    unused = erps_unused(settings)
    for name, section in vendor_sections(settings):
        if name in unused:  # an ERP no legal entity books in needs no credentials
            continue
        for field in section.live_required:  # type: ignore[attr-defined]
            if field not in section.model_fields_set or not _given(getattr(section, field)):
                missing.append(f"{name}.{field}")
    problems = [f"live mode needs: {', '.join(missing)}"] if missing else []
    urls = list(vendor_urls(settings))
    otlp = getattr(getattr(settings, OTLP_KEY[0]), OTLP_KEY[1])
    if otlp:
        urls.append((".".join(OTLP_KEY), otlp))
    plain = [
        f"{key} = {url}"
        for key, url in urls
        if not is_loopback_url(url) and urlsplit(url).scheme != "https"
    ]
    if plain:
        problems.append(f"live mode needs https for every URL off loopback: {', '.join(plain)}")
    return problems


def erps_unused(settings: BaseModel) -> set[str]:
    """The ERP sections no legal entity books in (``[erp]``: neither the default nor mapped)."""
    erp = getattr(settings, "erp", None)
    in_use = {str(name) for name in erp.in_use()} if erp is not None else set()
    return {str(name) for name in ErpSystem} - in_use


def _given(value: Any) -> bool:
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    return value is not None and value != ""


def unknown_variables(model: type[BaseModel], environ: Mapping[str, str]) -> list[str]:
    """A problem for each ``PLAN2CASH__…`` variable that names no setting."""
    problems = []
    for name in sorted(environ):
        if not name.upper().startswith(ENV_PREFIX):
            continue
        path = name[len(ENV_PREFIX) :].lower().split(ENV_DELIMITER)
        known = _known_path(model, path)
        if known is not None:
            hint = f" (did you mean {ENV_PREFIX}{known.upper()}?)" if known else ""
            problems.append(f"{name} is not a setting{hint}")
    return problems


def _known_path(model: type[BaseModel], path: list[str]) -> str | None:
    """``None`` when ``path`` names a setting; otherwise the closest one ("" for none close)."""
    walked: list[str] = []
    for depth, part in enumerate(path):
        fields = model.model_fields
        if part not in fields:
            close = difflib.get_close_matches(part, list(fields), n=1)
            return ENV_DELIMITER.join([*walked, close[0], *path[depth + 1 :]]) if close else ""
        walked.append(part)
        annotation = fields[part].annotation
        section = section_model(annotation)
        if section is not None:
            model = section
            continue
        rest = path[depth + 1 :]
        if rest and typing.get_origin(annotation) is not dict:
            return ""
        return None
    return None


def section_model(annotation: Any) -> type[BaseModel] | None:
    """The settings model a field holds, also when it is optional (``EmailChannel | None``)."""
    optional = typing.get_origin(annotation) in (typing.Union, types.UnionType)
    for candidate in (annotation, *(typing.get_args(annotation) if optional else ())):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def describe(error: ValidationError, model: type[BaseModel]) -> str:
    """One message naming every key a validation error is about, with a fix where we know it."""
    problems = []
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"])
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            problems.append(f"{key} is not a setting{_suggestion(model, item['loc'])}")
        elif key:
            problems.append(f"{key}: {message}")
        else:
            problems.append(message)
    return "; ".join(problems)


def _suggestion(model: type[BaseModel], loc: tuple[int | str, ...]) -> str:
    for part in loc[:-1]:
        annotation = (
            model.model_fields[str(part)].annotation if str(part) in model.model_fields else None
        )
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return ""
        model = annotation
    close = difflib.get_close_matches(str(loc[-1]), list(model.model_fields), n=1)
    return f" (did you mean {'.'.join([*map(str, loc[:-1]), close[0]])}?)" if close else ""
