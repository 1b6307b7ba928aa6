"""plan2cash configuration: one TOML file plus ``PLAN2CASH__…`` environment variables.

With no configuration at all, plan2cash talks to the sandbox firm on loopback and keeps its store
in ``var/plan2cash.db``. Precedence: init arguments, then the environment
(``PLAN2CASH__XERO__CLIENT_SECRET`` and so on, ``__`` between levels), then the TOML file
(``PLAN2CASH_CONFIG`` or ``plan2cash.toml``).
Secrets are ``SecretStr`` and only unwrapped inside the auth that sends them.
"""

from __future__ import annotations

import os
from datetime import date, timedelta
from pathlib import Path

from pydantic import BaseModel, Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from collectors.bamboohr import BambooHRSettings
from collectors.harvest import HarvestSettings
from collectors.kantata import KantataSettings
from collectors.salesforce import SalesforceSettings
from collectors.xero import XeroSettings
from sync.access import AuthSettings

DEFAULT_DATABASE = "sqlite:///var/plan2cash.db"


class Schedule(BaseModel):
    """How often each flow runs under ``plan2cash run`` (seconds)."""

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
    """The simulated firm ``plan2cash demo`` and ``plan2cash sandbox serve`` start."""

    seed: int = 7
    size: str = Field(default="tiny", pattern="^(tiny|small|medium|large)$")
    scenario: str = "calm"  # API faults: calm, flaky, storm, outage:xero:2h, drift:harvest …
    speed: float | None = Field(default=None, gt=0)  # simulated seconds per real second


class Telemetry(BaseModel):
    otlp_endpoint: str | None = None
    service_name: str = "plan2cash"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="PLAN2CASH__", env_nested_delimiter="__", extra="forbid"
    )

    database_url: str = DEFAULT_DATABASE
    dashboard_url: str = "http://localhost:8501"
    dashboard_address: str = "127.0.0.1"  # the interface the dashboard listens on
    salesforce: SalesforceSettings = SalesforceSettings()
    kantata: KantataSettings = KantataSettings()
    harvest: HarvestSettings = HarvestSettings()
    bamboohr: BambooHRSettings = BambooHRSettings()
    xero: XeroSettings = XeroSettings()
    schedule: Schedule = Schedule()
    billing: Billing = Billing()
    telemetry: Telemetry = Telemetry()
    sandbox: SandboxOptions = SandboxOptions()
    auth: AuthSettings = AuthSettings()

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
        return init_settings, env_settings, toml


def config_path() -> Path:
    return Path(os.environ.get("PLAN2CASH_CONFIG", "plan2cash.toml"))


def load_settings(path: Path | None = None) -> Settings:
    """Settings from ``path`` (or the default file, if present) and the environment."""
    if path is None:
        return Settings()
    if not path.is_file():
        raise FileNotFoundError(f"configuration file {path} does not exist")

    class FileSettings(Settings):
        model_config = SettingsConfigDict(**{**Settings.model_config, "toml_file": path})

    return FileSettings()
