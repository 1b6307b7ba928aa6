"""``[alerts]``: where alert notifications go and which rules are in force.

The channel sections are optional: an absent ``[alerts.email]`` or ``[alerts.slack]`` means that
channel is off, and a route naming it is refused when the rules load. Secrets (the SMTP password,
the Slack webhook URL, which is itself the credential) are ``SecretStr``. The rules are kept as
the tables the file holds; :mod:`alerts.rules` turns them into typed rules and refuses a bad one by
name (``sync`` does not know the KPIs a rule may name). ``rules`` absent means the default rules
that ship with plan2cash; an empty list means no rules.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator


class EmailChannel(BaseModel):
    """``[alerts.email]``: an SMTP server, plain, STARTTLS or implicit TLS, with optional auth."""

    model_config = ConfigDict(extra="forbid")

    host: str = Field(min_length=1)
    port: int = Field(default=25, ge=1, le=65535)
    from_addr: str = Field(min_length=3)
    to: list[str] = Field(min_length=1)
    starttls: bool = False
    ssl: bool = False
    username: str | None = None
    password: SecretStr | None = None
    timeout_seconds: float = Field(default=10, gt=0)

    @model_validator(mode="after")
    def _one_tls(self) -> EmailChannel:
        if self.starttls and self.ssl:
            raise ValueError("alerts.email: starttls and ssl exclude each other; choose one")
        if (self.username is None) != (self.password is None):
            raise ValueError("alerts.email: username and password go together")
        return self


class SlackChannel(BaseModel):
    """``[alerts.slack]``: a Slack incoming webhook (its URL is the secret)."""

    model_config = ConfigDict(extra="forbid")

    webhook_url: SecretStr
    timeout_seconds: float = Field(default=10, gt=0)


class Timing(BaseModel):
    """How notifications are paced (Alertmanager's route timers, same defaults)."""

    model_config = ConfigDict(extra="forbid")

    group_wait_seconds: float = Field(default=30, ge=0)
    group_interval_seconds: float = Field(default=300, ge=0)
    repeat_interval_seconds: float = Field(default=4 * 3600, gt=0)


class AlertsSettings(BaseModel):
    """``[alerts]``: the dashboard links point at, channels, timing, evaluation cadence, rules."""

    model_config = ConfigDict(extra="forbid")

    dashboard_url: str = "http://localhost:8501"
    evaluate_seconds: int = Field(default=60, ge=1)
    timezone: str = "UTC"  # business hours of mute timings are read in this zone
    email: EmailChannel | None = None
    slack: SlackChannel | None = None
    timing: Timing = Timing()
    rules: list[dict[str, Any]] | None = None  # None: the default rules
    routes: list[dict[str, Any]] | None = None  # None: every channel configured gets every alert
    mute_timings: list[dict[str, Any]] = Field(default_factory=list)
    inhibit: list[dict[str, Any]] | None = None  # None: the default inhibitions
