"""``make demo`` shows alerts with nothing to set up: local sinks stand in for the channels left
unconfigured, and the sandbox firm's planted faults trip the default rules, whose notifications
reach both sinks within the first minute (one group wait) of evaluation."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import select

import alerts
from app.cli.demo import alert_sinks, demo_environment
from sync.settings import Settings
from sync.settings_alerts import SlackChannel
from sync.store import NotificationRow
from sync.store.db import make_engine, session_factory
from sync.store.migrate import upgrade
from tests.reliability.sandboxed import START, rig


def test_unconfigured_channels_point_at_local_sinks_and_links_at_the_demo(tmp_path: Path) -> None:
    settings = Settings()
    sinks = alert_sinks(settings, 8599, directory=tmp_path)
    try:
        assert settings.alerts.email is not None and settings.alerts.slack is not None
        assert settings.alerts.email.host == "127.0.0.1"
        assert settings.alerts.email.port == sinks.smtp_port
        assert settings.alerts.slack.webhook_url.get_secret_value() == sinks.webhook_url
        assert settings.alerts.dashboard_url == "http://127.0.0.1:8599"
        alerts.send_test(settings, alerts.ChannelKind.SLACK, START)
        assert len(sinks.webhook.posts) == 1
        assert list((tmp_path / "slack").glob("*.json"))  # kept for a person to open
    finally:
        sinks.stop()


def test_the_dashboard_is_told_the_store_file_and_the_channels_the_demo_chose(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # a relative store path, as plan2cash.toml's default is
    settings = Settings(database_url="sqlite:///var/demo.db")
    sinks = alert_sinks(settings, 8599, directory=None)
    try:
        env = demo_environment(
            settings, store_url=make_engine(settings.database_url).url, sinks=sinks
        )
    finally:
        sinks.stop()
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir("/")  # the dashboard runs from the project folder, not the caller's
    seen = Settings()
    assert seen.database_url == f"sqlite:///{tmp_path / 'var' / 'demo.db'}"
    assert seen.alerts.email == settings.alerts.email
    assert seen.alerts.slack == settings.alerts.slack
    assert seen.alerts.dashboard_url == "http://127.0.0.1:8599"


def test_configured_channels_and_live_mode_are_left_alone(tmp_path: Path) -> None:
    own = SlackChannel(webhook_url="http://127.0.0.1:9/hook")
    settings = Settings(alerts={"slack": own.model_dump(mode="python")})
    sinks = alert_sinks(settings, 8501, directory=tmp_path)
    try:
        assert settings.alerts.slack is not None
        assert settings.alerts.slack.webhook_url.get_secret_value() == "http://127.0.0.1:9/hook"
        assert settings.alerts.email is not None  # the one left unconfigured goes to the sink
    finally:
        sinks.stop()
    both = settings.model_copy()
    assert alert_sinks(both, 8501, directory=tmp_path) is None  # both configured now


def test_the_sandbox_firm_trips_an_alert_that_reaches_both_sinks(tmp_path: Path) -> None:
    store = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    upgrade(store)
    r = rig(store, "calm")
    settings = Settings(database_url=str(store.url))
    sinks = alert_sinks(settings, 8501, directory=None)
    try:
        with time_machine.travel(START, tick=True) as clock:
            r.engine.run_once()
            first = alerts.evaluate_and_notify(store, settings, START)
            assert first.fired  # the planted faults trip the default rules at once
            clock.shift(timedelta(seconds=31))
            report = alerts.evaluate_and_notify(store, settings, START + timedelta(seconds=31))
        assert report.sent and not report.failed
        assert sinks.mail.messages and sinks.webhook.posts
        with session_factory(store)() as session:
            sent = session.scalars(select(NotificationRow.rule)).all()
        assert set(sent) <= {rule.name for rule in alerts.rules_in_force(settings)}
    finally:
        sinks.stop()
        r.box.stop()
        store.dispose()
