"""The front door: one full pass over the store, and the scheduled job that never raises."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

import alerts
from sync.settings import Settings
from sync.store import AlertRow, AlertState
from tests.app.seed import seed_operations

NOW = datetime(2026, 12, 7, 10, tzinfo=UTC)
OPEN = {"name": "open-exceptions", "kind": "exceptions", "severity": "page", "count_above": 0}


def settings_with(store: Engine, *rules: dict[str, object]) -> Settings:
    return Settings(database_url=str(store.url), alerts={"rules": list(rules)})


def test_a_full_pass_fires_and_a_removed_rule_resolves(sqlite_store: Engine) -> None:
    seed_operations(sqlite_store, NOW)
    report = alerts.evaluate_and_notify(sqlite_store, settings_with(sqlite_store, OPEN), NOW)
    assert report.fired and report.kept == []
    later = alerts.evaluate_and_notify(sqlite_store, settings_with(sqlite_store), NOW)
    assert sorted(later.resolved) == sorted(report.fired)
    with Session(sqlite_store) as session:
        assert {r.state for r in session.scalars(select(AlertRow))} == {AlertState.RESOLVED}


def test_a_pass_over_given_rules_leaves_the_others_alone(sqlite_store: Engine) -> None:
    seed_operations(sqlite_store, NOW)
    settings = settings_with(sqlite_store, OPEN)
    alerts.evaluate_and_notify(sqlite_store, settings, NOW)
    report = alerts.evaluate_and_notify(sqlite_store, settings, NOW, rules=alerts.load_rules([]))
    assert report.resolved == []


def test_the_scheduled_job_logs_a_failing_pass_and_never_raises(
    sqlite_store: Engine, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = alerts.evaluation_job(sqlite_store, settings_with(sqlite_store, OPEN), lambda: NOW)

    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("the store went away")

    monkeypatch.setattr("alerts.service.run_pass", broken)
    with caplog.at_level(logging.ERROR, logger="plan2cash.alerts"):
        assert job.run() is None
        assert job.tick() == "failed: RuntimeError: the store went away"
    assert "the store went away" in caplog.text
    monkeypatch.undo()
    assert "0 failed" in job.tick() and job.last_error is None  # the next tick works again


def test_check_names_a_bad_rule_and_a_bad_route(sqlite_store: Engine) -> None:
    with pytest.raises(alerts.RuleError, match="open-exceptions"):
        alerts.check(settings_with(sqlite_store, {**OPEN, "count_above": -1}))
    bad_route = Settings(alerts={"routes": [{"channels": ["slack"]}]})
    with pytest.raises(alerts.AlertsConfigError, match=r"alerts\.routes\[0\]\.channels"):
        alerts.check(bad_route)
