"""``plan2cash alerts …`` in this process, on a store with open exceptions, with the channels
pointed at the loopback sinks: what fires is sent, listed, silenced and logged."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from app.cli import app, common
from sandbox.sinks import MailSink, WebhookSink
from sync.store import AuditRow
from sync.store.db import make_engine, session_factory
from sync.store.migrate import upgrade
from tests.app.seed import seed_operations

RULE = """
[[alerts.rules]]
name = "open-exceptions"
kind = "exceptions"
severity = "page"
count_above = 0
"""


@pytest.fixture
def sinks() -> Iterator[tuple[MailSink, WebhookSink]]:
    with MailSink() as mail, WebhookSink() as webhook:
        yield mail, webhook


@pytest.fixture
def cli(cli: CliRunner, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """The runner of ``conftest.py``, its consoles wide enough that no cell wraps."""
    for console in (common.console, common.err):
        monkeypatch.setattr(console, "width", 250)
    return cli


def write_config(
    tmp_path: Path, sinks: tuple[MailSink, WebhookSink] | None, rules: str = RULE
) -> str:
    channels = ""
    if sinks is not None:
        mail, webhook = sinks
        channels = (
            f'[alerts.email]\nhost = "{mail.host}"\nport = {mail.port}\n'
            'from_addr = "plan2cash@firm.example"\nto = ["ops@firm.example"]\n'
            f'[alerts.slack]\nwebhook_url = "{webhook.url}"\n'
        )
    text = (
        f'database_url = "sqlite:///{tmp_path / "store.db"}"\n'
        '[alerts]\ndashboard_url = "http://localhost:8501"\n'
        "[alerts.timing]\ngroup_wait_seconds = 0\n" + channels + rules
    )
    path = tmp_path / "plan2cash.toml"
    path.write_text(text)
    return str(path)


@pytest.fixture
def seeded(tmp_path: Path) -> Path:
    store = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    upgrade(store)
    seed_operations(store, datetime.now(UTC))
    store.dispose()
    return tmp_path


def run(cli: CliRunner, *args: str) -> tuple[int, str]:
    result = cli.invoke(app, list(args))
    return result.exit_code, result.output


def test_rules_lists_the_default_rules_in_force(cli: CliRunner, tmp_path: Path) -> None:
    code, out = run(cli, "alerts", "rules", "-c", write_config(tmp_path, None, rules=""))
    assert code == 0, out
    assert "from the default rules" in out
    assert "slo-posted-page" in out and "close-unapproved-hours" in out


def test_a_bad_rule_is_one_line_naming_it_and_exit_2(cli: CliRunner, tmp_path: Path) -> None:
    bad = '[[alerts.rules]]\nname = "dso-too-high"\nkind = "kpi"\nkpi = "dso_nonsense"\nabove = 1\n'
    code, out = run(cli, "alerts", "rules", "-c", write_config(tmp_path, None, rules=bad))
    assert code == 2
    assert "dso-too-high" in out and "kpi" in out and "Traceback" not in out


def test_test_without_the_channel_names_the_key_and_exits_2(cli: CliRunner, tmp_path: Path) -> None:
    code, out = run(cli, "alerts", "test", "--channel", "slack", "-c", write_config(tmp_path, None))
    assert code == 2
    assert "alerts.slack is not configured" in out and "webhook_url" in out


def test_test_sends_the_sample_through_each_channel(
    cli: CliRunner, tmp_path: Path, sinks: tuple[MailSink, WebhookSink]
) -> None:
    config = write_config(tmp_path, sinks)
    assert run(cli, "alerts", "test", "--channel", "email", "-c", config)[0] == 0
    assert run(cli, "alerts", "test", "--channel", "slack", "-c", config)[0] == 0
    mail, webhook = sinks
    assert len(mail.messages) == 1
    assert mail.messages[0].message["Subject"].startswith("[TEST] [PAGE]")
    assert len(webhook.posts) == 1 and webhook.posts[0].body["blocks"][0]["type"] == "header"


def test_a_refused_sample_is_one_line_and_exit_1(
    cli: CliRunner, tmp_path: Path, sinks: tuple[MailSink, WebhookSink]
) -> None:
    sinks[1].refuse(500)
    config = write_config(tmp_path, sinks)
    code, out = run(cli, "alerts", "test", "--channel", "slack", "-c", config)
    assert code == 1
    assert "not delivered" in out and sinks[1].url not in out  # the webhook URL is a secret


def test_evaluate_list_history_and_silences(
    cli: CliRunner, seeded: Path, sinks: tuple[MailSink, WebhookSink]
) -> None:
    config = write_config(seeded, sinks)
    code, out = run(cli, "alerts", "evaluate", "-c", config)
    assert code == 0, out
    assert "fired" in out and "email open-exceptions{}" in out and "slack open-exceptions{}" in out
    mail, webhook = sinks
    assert len(mail.messages) == 1 and len(webhook.posts) == 1

    code, out = run(cli, "alerts", "list", "-c", config)
    assert code == 0 and "firing" in out and "open-exceptions" in out and "page" in out
    assert "http://localhost:8501/exceptions" in out

    code, out = run(cli, "alerts", "history", "-c", config)
    assert code == 0 and out.count("sent") == 2

    why = "known: fixing the rate cards"
    code, out = run(cli, "alerts", "silence", "add", "--match", "rule=open-exceptions",
                    "--for", "2h", "--comment", why, "-c", config)  # fmt: skip
    assert code == 0, out
    silence_id = out.split()[1].rstrip(":")
    code, out = run(cli, "alerts", "silence", "list", "-c", config)
    assert silence_id in out and "active" in out and "fixing the rate cards" in out
    code, out = run(cli, "alerts", "list", "-c", config)
    assert f"silenced by {silence_id}" in out
    assert run(cli, "alerts", "silence", "expire", silence_id, "-c", config)[0] == 0
    code, out = run(cli, "alerts", "silence", "expire", silence_id, "-c", config)
    assert code == 2 and "already over" in out
    store = make_engine(f"sqlite:///{seeded / 'store.db'}")
    with session_factory(store)() as session:
        actions = session.scalars(select(AuditRow.action).where(AuditRow.target.like("silence:%")))
        assert sorted(actions) == ["alerts.silence.add", "alerts.silence.expire"]
        actors = set(session.scalars(select(AuditRow.actor).where(AuditRow.target.like("sil%"))))
    assert all(actor.startswith("os:") for actor in actors)  # the CLI acts as the OS user
    store.dispose()


def test_a_silence_needs_a_comment_and_a_duration(cli: CliRunner, seeded: Path) -> None:
    config = write_config(seeded, None)
    code, out = run(cli, "alerts", "silence", "add", "--match", "rule=x", "--for", "2h",
                    "--comment", " ", "-c", config)  # fmt: skip
    assert code == 2 and "say why" in out
    code, out = run(cli, "alerts", "silence", "add", "--match", "rule=x", "--for", "soon",
                    "--comment", "why", "-c", config)  # fmt: skip
    assert code == 2 and "30m, 2h or 1d" in out
