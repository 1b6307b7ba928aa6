"""Every setting plan2cash resolved, with secrets masked and where its value came from.

A section is shown setting by setting; a table of sections (``[erp] entities``: a legal entity →
its books) row by row, its key quoted as TOML quotes it (``erp.entities."Meridian Advisory
B.V."``); a list of names as the names, comma-separated.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, SecretStr
from pydantic_settings import EnvSettingsSource, TomlConfigSettingsSource

from sync.settings import Settings, config_path, settings_class

MASK = "********"


class Source(StrEnum):
    """Where a setting's value came from (the environment wins over the file)."""

    ENVIRONMENT = "environment"
    FILE = "file"
    DEFAULT = "default"


@dataclass(frozen=True)
class Resolved:
    """One setting: its dotted key, its value as shown (secrets masked) and its source."""

    key: str
    value: str
    source: Source


def config_file(path: Path | None = None) -> Path | None:
    """The file the configuration is read from: ``path``, ``PLAN2CASH_CONFIG``'s, or
    ``plan2cash.toml`` when present (``None``: no file)."""
    chosen = path or config_path()
    return chosen if chosen.is_file() else None


def resolved(settings: Settings, path: Path | None = None) -> list[Resolved]:
    """Every leaf setting of ``settings`` (loaded from ``path``), in declaration order."""
    cls = settings_class(path)
    environment = EnvSettingsSource(cls)()
    file = config_file(path)
    from_file = TomlConfigSettingsSource(cls, toml_file=file)() if file else {}
    rows = []
    for keys, value in _leaves(settings):
        if _has(environment, keys):
            source = Source.ENVIRONMENT
        elif _has(from_file, keys):
            source = Source.FILE
        else:
            source = Source.DEFAULT
        rows.append(Resolved(".".join(_quoted(key) for key in keys), shown(value), source))
    return rows


def _quoted(key: str) -> str:
    """A key as a TOML dotted key spells it: bare when it can be, else quoted."""
    bare = key.replace("_", "").replace("-", "").isalnum() and key.isascii()
    return key if bare else json.dumps(key)


def _leaves(
    model: BaseModel, prefix: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], Any]]:
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            yield from _leaves(value, (*prefix, name))
        elif _table(value):
            yield from (((*prefix, name, key), entry) for key, entry in value.items())
        else:
            yield (*prefix, name), value


def _table(value: Any) -> bool:
    """A mapping of names to sections (each a model), shown a row per name."""
    return (
        isinstance(value, dict)
        and bool(value)
        and all(isinstance(entry, BaseModel) for entry in value.values())
    )


def _has(values: Mapping[str, Any], keys: tuple[str, ...]) -> bool:
    for key in keys:
        if not isinstance(values, Mapping) or key not in values:
            return False
        values = values[key]
    return True


def shown(value: Any) -> str:
    """A setting's value as it may be printed: secrets masked, URL passwords hidden."""
    if isinstance(value, SecretStr):
        return MASK if value.get_secret_value() else ""
    if value is None:
        return ""
    if isinstance(value, BaseModel):
        return ", ".join(
            f"{k} = {shown(v)}" for k, v in value.model_dump(exclude_none=True).items()
        )
    if isinstance(value, dict):
        return json.dumps(value, default=_plain)
    if isinstance(value, list | tuple):
        return ", ".join(shown(item) for item in value)
    if isinstance(value, str) and "://" in value:
        return _without_password(value)
    return str(value)


def _plain(value: Any) -> Any:
    """A value inside a mapping setting, as JSON can show it (``[erp] entities``' books)."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_none=True)
    return str(value)


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:{MASK}@{host}"))


__all__ = ["Resolved", "Source", "config_file", "resolved", "shown"]
