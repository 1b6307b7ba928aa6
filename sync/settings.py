"""plan2cash configuration: one TOML file plus ``PLAN2CASH__…`` environment variables.

``mode`` says what plan2cash talks to. ``sandbox`` (the default, and all that an empty
configuration can be) talks to the sandbox firm on loopback with the sandbox's credentials and
keeps its store in ``var/plan2cash.db``; a vendor URL off loopback is refused. ``live`` takes
nothing from those defaults: the database URL and every vendor's URLs and credentials must be
given, and every URL off loopback must be https (:mod:`sync.settings_checks`).

Precedence: init arguments, then the environment (``PLAN2CASH__XERO__CLIENT_SECRET`` and so on,
``__`` between levels), then the TOML file (``--config``, else ``PLAN2CASH_CONFIG``, else
``plan2cash.toml`` when present). A key no setting has — in the file, in any section, or in a
``PLAN2CASH__…`` variable — is refused, and so is a ``PLAN2CASH_CONFIG`` naming no file.
Secrets are ``SecretStr`` and only unwrapped inside the auth that sends them.
"""

from __future__ import annotations

import os
import tomllib
from datetime import date, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    TomlConfigSettingsSource,
)

from collectors.bamboohr import BambooHRSettings
from collectors.dynamics365 import Dynamics365Settings
from collectors.harvest import HarvestSettings
from collectors.kantata import KantataSettings
from collectors.netsuite import NetSuiteSettings
from collectors.oracle_fusion import OracleFusionSettings
from collectors.salesforce import SalesforceSettings
from collectors.xero import XeroSettings
from sync.access import AuthSettings
from sync.settings_alerts import AlertsSettings
from sync.settings_checks import (
    ENV_DELIMITER,
    ENV_PREFIX,
    ConfigurationError,
    describe,
    live_problems,
    sandbox_problems,
    unknown_variables,
)
from sync.settings_erp import ErpSettings, erp_problems, moved_keys
from sync.store.vocabulary import ErpSystem

DEFAULT_DATABASE = "sqlite:///var/plan2cash.db"
CONFIG_VARIABLE = "PLAN2CASH_CONFIG"
DEFAULT_CONFIG = Path("plan2cash.toml")


class Mode(StrEnum):
    """What plan2cash talks to: the sandbox firm on loopback, or the firm's real vendors."""

    SANDBOX = "sandbox"
    LIVE = "live"


class Schedule(BaseModel):
    """How often each flow runs under ``plan2cash run`` (seconds)."""

    model_config = ConfigDict(extra="forbid")

    customers_seconds: int = Field(default=300, ge=1)
    people_seconds: int = Field(default=900, ge=1)
    reference_seconds: int = Field(default=300, ge=1)
    time_seconds: int = Field(default=60, ge=1)
    invoicing_seconds: int = Field(default=120, ge=1)
    outbox_seconds: int = Field(default=30, ge=1)
    status_back_seconds: int = Field(default=300, ge=1)
    reconcile_seconds: int = Field(default=3600, ge=1)
    rollups_seconds: int = Field(default=300, ge=1)


class Billing(BaseModel):
    """How approved time becomes invoices."""

    model_config = ConfigDict(extra="forbid")

    payment_terms_days: int = Field(default=30, ge=0, le=365)
    invoice_prefix: str = Field(default="P2C", min_length=1, max_length=8)
    cursor_lag_seconds: int = Field(default=300, ge=0)
    max_delivery_attempts: int = Field(default=8, ge=1)
    # the books: accounting periods through this day are locked (finance's period lock date);
    # time for a locked month entered more than ``close_grace_days`` after it ended is held
    closed_through: date | None = None
    close_grace_days: int = Field(default=3, ge=0, le=31)
    # transient delivery failures are retried for at least this long (an ERP outage of hours
    # must not dead-letter invoices); after that, ``max_delivery_attempts`` ends it
    delivery_retry_hours: float = Field(default=48, gt=0)

    @property
    def delivery_retry_window(self) -> timedelta:
        return timedelta(hours=self.delivery_retry_hours)


class SandboxOptions(BaseModel):
    """The simulated firm ``plan2cash demo`` and ``plan2cash sandbox serve`` start: by default a
    firm of four legal entities, each keeping its books in another ERP."""

    model_config = ConfigDict(extra="forbid")

    seed: int = 7
    size: str = Field(default="tiny", pattern="^(tiny|small|medium|large)$")
    # the firm's legal entities, each keeping its books in the next of ``erps`` in turn
    entities: int = Field(default=4, ge=1, le=4)
    erps: tuple[ErpSystem, ...] = Field(default=tuple(ErpSystem), min_length=1)
    scenario: str = "calm"  # API faults: calm, flaky, storm, outage:xero:2h, drift:harvest …
    speed: float | None = Field(default=None, gt=0)  # simulated seconds per real second


class Telemetry(BaseModel):
    """Where spans go besides the store: an OTLP/HTTP collector (needs ``plan2cash[otlp]``)."""

    model_config = ConfigDict(extra="forbid")

    otlp_endpoint: str | None = None
    service_name: str = "plan2cash"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter=ENV_DELIMITER, extra="forbid"
    )

    mode: Mode = Mode.SANDBOX
    database_url: str = DEFAULT_DATABASE  # live mode: must be given
    dashboard_url: str = "http://localhost:8501"
    dashboard_address: str = "127.0.0.1"  # the interface the dashboard listens on
    salesforce: SalesforceSettings = SalesforceSettings()
    kantata: KantataSettings = KantataSettings()
    harvest: HarvestSettings = HarvestSettings()
    bamboohr: BambooHRSettings = BambooHRSettings()
    erp: ErpSettings = ErpSettings()
    xero: XeroSettings = XeroSettings()
    dynamics365: Dynamics365Settings | None = None
    oracle_fusion: OracleFusionSettings | None = None
    netsuite: NetSuiteSettings | None = None
    schedule: Schedule = Schedule()
    billing: Billing = Billing()
    telemetry: Telemetry = Telemetry()
    sandbox: SandboxOptions = SandboxOptions()
    auth: AuthSettings = AuthSettings()
    alerts: AlertsSettings = AlertsSettings()

    @model_validator(mode="before")
    @classmethod
    def _nothing_moved(cls, data: Any) -> Any:
        problems = moved_keys(data)
        if problems:
            raise ValueError("; ".join(problems))
        return data

    @model_validator(mode="after")
    def _fails_closed(self) -> Settings:
        problems = erp_problems(self, self.erp)
        problems += live_problems(self) if self.mode is Mode.LIVE else sandbox_problems(self)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = settings_cls.model_config.get("toml_file") or config_path()
        toml = TomlConfigSettingsSource(settings_cls, toml_file=toml_file)
        return init_settings, CheckedEnvSource(settings_cls), toml


class CheckedEnvSource(EnvSettingsSource):
    """The ``PLAN2CASH__…`` variables, refusing any that names no setting."""

    def __call__(self) -> dict[str, Any]:
        problems = unknown_variables(self.settings_cls, os.environ)
        if problems:
            raise ConfigurationError("; ".join(problems))
        return super().__call__()


def config_path() -> Path:
    """The configuration file when none is passed: ``PLAN2CASH_CONFIG``'s (which must exist),
    else ``plan2cash.toml`` in the working directory (read when present)."""
    named = os.environ.get(CONFIG_VARIABLE)
    if named is None:
        return DEFAULT_CONFIG
    path = Path(named)
    if not path.is_file():
        raise ConfigurationError(f"{CONFIG_VARIABLE} names {path}, which does not exist")
    return path


def settings_class(path: Path | None = None) -> type[Settings]:
    """:class:`Settings` reading ``path`` (instead of the default file) when one is given."""
    if path is None:
        return Settings
    if not path.is_file():
        raise ConfigurationError(f"configuration file {path} does not exist")

    class FileSettings(Settings):
        model_config = SettingsConfigDict(**{**Settings.model_config, "toml_file": path})

    return FileSettings


def load_settings(path: Path | None = None) -> Settings:
    """Settings from ``path`` (or the default file, if present) and the environment.

    Raises :class:`ConfigurationError` naming every key at fault when they make no valid,
    closed configuration.
    """
    cls = settings_class(path)
    try:
        return cls()
    except ValidationError as exc:
        raise ConfigurationError(describe(exc, Settings)) from None
    except tomllib.TOMLDecodeError as exc:
        file = path or config_path()
        raise ConfigurationError(f"{file} is not valid TOML: {exc}") from None
    except SettingsError as exc:
        raise ConfigurationError(str(exc)) from None


__all__ = [
    "DEFAULT_DATABASE",
    "Billing",
    "ConfigurationError",
    "Mode",
    "SandboxOptions",
    "Schedule",
    "Settings",
    "Telemetry",
    "load_settings",
    "settings_class",
]
