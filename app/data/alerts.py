"""The Alerts page's data: alerts firing and recently resolved, silences, the notification log
and the SLOs, through the alerts' front door (:mod:`alerts`), cached for ``TTL_SECONDS``; and
silencing (create, expire) as the signed-in person, never cached, forgetting the cache after."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import polars as pl
import streamlit as st

import alerts
from app.data.store import TTL_SECONDS, engine, refresh, settings
from sync.access import Identity
from sync.store import session_factory, transaction


@dataclass(frozen=True)
class AlertsReport:
    """What the Alerts page shows, as of ``fetched_at``; ``problem`` says why the rules or the
    routes could not be read (the rest still shows)."""

    fetched_at: datetime
    alerts: pl.DataFrame  # alerts.views.ALERTS + value_shown, threshold_shown
    silences: pl.DataFrame  # alerts.views.SILENCES (active and pending)
    history: pl.DataFrame  # alerts.views.HISTORY
    rules: int
    channels: tuple[str, ...]
    problem: str | None = None

    def firing(self) -> pl.DataFrame:
        return self.alerts.filter(pl.col("state") == "firing")

    def at_risk(self) -> list[tuple[str, float]]:
        """Value at risk of the firing alerts, per currency (never summed across currencies)."""
        totals = (
            self.firing()
            .filter(pl.col("value_at_risk").is_not_null() & (pl.col("currency") != ""))
            .group_by("currency")
            .agg(pl.col("value_at_risk").sum())
            .sort("currency")
        )
        return [(r["currency"], r["value_at_risk"]) for r in totals.iter_rows(named=True)]

    def failed(self) -> int:
        return self.history.filter(pl.col("delivery") == "failed").height


def _config() -> tuple[alerts.PipelineConfig | None, alerts.RuleSet | None, str | None]:
    try:
        ruleset = alerts.check(settings())
        return alerts.PipelineConfig.from_settings(settings().alerts), ruleset, None
    except (alerts.RuleError, alerts.AlertsConfigError) as exc:
        return None, None, str(exc)


def with_units(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` (alerts.views.ALERTS) with ``value_shown`` and ``threshold_shown``: each number
    with its unit (``72.5 %``, ``18.2×``, ``64 days``)."""
    units = frame["unit"].to_list()

    def shown(column: str) -> pl.Series:
        values = zip(frame[column], units, strict=True)
        return pl.Series(f"{column}_shown", [alerts.measure(v, u) for v, u in values], pl.String)

    return frame.with_columns(shown("value"), shown("threshold"))


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def alerts_report(history_limit: int = 200) -> AlertsReport:
    """Alerts firing and resolved in the last day, silences in force, the newest notifications."""
    now = datetime.now(UTC)
    config, ruleset, problem = _config()
    shown = config or alerts.PipelineConfig(channels=frozenset())
    with session_factory(engine())() as session:
        listed = with_units(alerts.views.alert_list(session, shown, now))
        silenced = alerts.views.silences(session, now)
        logged = alerts.views.history(session, limit=history_limit)
    return AlertsReport(
        fetched_at=now,
        alerts=listed,
        silences=silenced,
        history=logged,
        rules=len(ruleset) if ruleset is not None else 0,
        channels=tuple(sorted(str(c) for c in shown.channels)),
        problem=problem,
    )


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def slo_report() -> list[alerts.views.SloStatus]:
    """Each SLO the rules watch: error budget left over 30 days and burn rate over 3 days."""
    _, ruleset, _ = _config()
    if ruleset is None:
        return []
    with engine().connect() as connection:
        return alerts.views.slo_status(connection, settings(), ruleset, datetime.now(UTC))


def add_silence(
    matchers: list[str], length: timedelta, comment: str, *, actor: Identity
) -> alerts.Silence:
    """A silence from now for ``length`` by ``actor`` (checked and audited by the engine);
    :class:`alerts.SilenceError` or :class:`sync.access.Forbidden` when refused."""
    now = datetime.now(UTC)
    with transaction(session_factory(engine())) as session:
        made = alerts.silence_add(
            session, actor, matchers, ends_at=now + length, comment=comment, now=now
        )
    refresh()
    return made


def expire_silence(silence_id: str, *, actor: Identity) -> alerts.Silence:
    """End a silence now, as ``actor``."""
    with transaction(session_factory(engine())) as session:
        ended = alerts.silence_expire(session, actor, silence_id, now=datetime.now(UTC))
    refresh()
    return ended
