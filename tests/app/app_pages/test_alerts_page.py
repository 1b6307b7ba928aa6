"""The Alerts page under AppTest: alerts evaluated over the seeded store and sent to a loopback
webhook sink, then shown with their links, the SLOs with their budget and burn-rate chart, the
notification log with the message as rendered; silences made from a selected alert and expired,
checked in the store; a viewer sees the silencing controls disabled with the role needed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from streamlit.testing.v1 import AppTest

import alerts
from sandbox.sinks import WebhookSink
from sync.settings import load_settings
from sync.store import AuditRow, SilenceRow
from sync.store.db import make_engine, session_factory
from tests.app.conftest import APP, AUTH_TOML, _clear_caches, run_page
from tests.app.seed import seed_operations

PAGE = APP.parent / "app_pages" / "alerts.py"
VIEWER = {"is_logged_in": True, "email": "viewer@firm.example"}
OPERATOR = {"is_logged_in": True, "email": "operator@firm.example"}
RULES = """
[alerts]
dashboard_url = "http://dash.example:8501"
[alerts.timing]
group_wait_seconds = 0
[alerts.slack]
webhook_url = "{url}"
[[alerts.rules]]
name = "open-exceptions"
kind = "exceptions"
severity = "page"
by = ["category"]
count_above = 0
[[alerts.rules]]
name = "slo-posted-page"
kind = "slo"
severity = "page"
sli = "posted_within_1h"
"""


@pytest.fixture
def sink() -> Iterator[WebhookSink]:
    with WebhookSink() as webhook:
        yield webhook


def configure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    path = tmp_path / "plan2cash.toml"
    path.write_text(text)
    monkeypatch.setenv("PLAN2CASH_CONFIG", str(path))
    _clear_caches()


@pytest.fixture
def evaluated(
    seeded_url: str, sink: WebhookSink, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Engine]:
    """The seeded store with the operations seed, evaluated once: the exceptions alerts fire and
    go to the webhook sink."""
    configure(tmp_path, monkeypatch, RULES.format(url=sink.url))
    engine = make_engine(seeded_url)
    seed_operations(engine, datetime.now(UTC))
    report = alerts.evaluate_and_notify(engine, load_settings(), datetime.now(UTC))
    assert report.fired and report.sent and sink.posts
    yield engine
    engine.dispose()


def page(user: dict[str, Any] | None = None) -> AppTest:
    return run_page(PAGE, user)


def test_an_empty_store_says_how_alerts_come(store_url: str) -> None:
    at = page()
    assert at.title[0].value == "Alerts"
    assert any("plan2cash alerts evaluate" in i.value for i in at.info)
    assert any("No notification has been sent yet" in c.value for c in at.caption)


def test_firing_alerts_their_links_slos_and_the_log_are_shown(evaluated: Engine) -> None:
    at = page()
    shown = at.dataframe[0].value
    assert set(shown["state"]) == {"firing"}
    assert set(shown["rule"]) == {"open-exceptions"}
    assert all(link.startswith("http://dash.example:8501/exceptions?") for link in shown["link"])
    assert any("category=" in link and "status=open" in link for link in shown["link"])
    assert all(value.endswith("exceptions") or value[0].isdigit() for value in shown["value_shown"])
    tiles = {m.label: m.value for m in at.metric}
    assert tiles["Firing now"] == str(len(shown))
    assert tiles["Error budget left (30 days)"] == "100.0 %"  # every seeded invoice posted
    assert any("(objective 99.5 %)" in m.value for m in at.markdown)
    assert len(at.get("plotly_chart")) == 1  # the burn rate of the posting SLO
    log = at.dataframe[1].value
    assert set(log["channel"]) == {"slack"} and set(log["delivery"]) == {"sent"}
    messages = [e for e in at.expander if e.label.startswith("\\#")]
    assert messages and any('"blocks"' in c.value for c in at.code)


def test_a_silence_made_from_a_selected_alert_is_stored_audited_and_shown(
    evaluated: Engine,
) -> None:
    at = page()
    at.session_state["alert_table"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    area = next(a for a in at.text_area if a.key.startswith("silence_matchers_"))
    assert 'rule="open-exceptions"' in area.value and "category=" in area.value
    at.text_input(key="silence_comment").input("rate cards being loaded today")
    at.button(key="silence_add").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("in force until" in s.value for s in at.success)
    with session_factory(evaluated)() as session:
        silence = session.scalars(select(SilenceRow)).one()
        audit = session.scalars(select(AuditRow).where(AuditRow.action.like("alerts.%"))).all()
    assert 'rule="open-exceptions"' in silence.matchers
    assert silence.comment == "rate cards being loaded today"
    assert [a.action for a in audit] == ["alerts.silence.add"]
    assert at.dataframe[0].value["suppressed"].str.startswith("silenced by").any()

    at.selectbox(key="silence_expire_id").set_value(silence.id)
    at.button(key="silence_expire").click().run()
    assert any("expired" in s.value for s in at.success)
    with session_factory(evaluated)() as session:
        assert session.get(SilenceRow, silence.id).expired_at is not None  # type: ignore[union-attr]


def test_a_silence_without_a_reason_is_refused(evaluated: Engine) -> None:
    at = page()
    at.session_state["alert_table"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    at.button(key="silence_add").click().run()
    assert any("say why" in e.value for e in at.error)
    with session_factory(evaluated)() as session:
        assert session.scalars(select(SilenceRow)).all() == []


def test_a_viewer_sees_silencing_disabled_with_the_role_needed(
    evaluated: Engine, sink: WebhookSink, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(tmp_path, monkeypatch, AUTH_TOML.format(mode="oidc") + RULES.format(url=sink.url))
    at = page(VIEWER)
    button = at.button(key="silence_add")
    assert button.disabled and button.help and "operator role" in button.help
    at = page(OPERATOR)
    assert not at.button(key="silence_add").disabled
