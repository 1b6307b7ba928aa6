"""One flow never stops the others: a flow that fails with any error is recorded as failed with
the reason, and ``sync --once`` runs every later flow, reports each and exits 1."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from app.cli import app
from sync import engine as engine_module
from sync.engine import Engine
from sync.flows.context import FlowContext, FlowResult
from sync.settings import Settings
from sync.store.db import make_engine, session_factory
from sync.store.migrate import upgrade
from sync.store.tables import SyncRunRow


def _broken(ctx: FlowContext) -> FlowResult:
    raise ZeroDivisionError("a mistake in a flow")


def _fine(ctx: FlowContext) -> FlowResult:
    return FlowResult(records_in=1)


def _interrupted(ctx: FlowContext) -> FlowResult:
    raise KeyboardInterrupt


@pytest.fixture
def flows(monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    fake = {"first": _fine, "broken": _broken, "later": _fine}
    monkeypatch.setattr(engine_module, "FLOWS", fake)
    return fake  # type: ignore[return-value]


def test_run_once_goes_on_after_a_flow_raises(tmp_path: Path, flows: dict[str, object]) -> None:
    store = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    upgrade(store)
    reports = Engine(Settings(database_url=str(store.url)), store).run_once()
    assert [(r.flow, r.status) for r in reports] == [
        ("first", "succeeded"),
        ("broken", "failed"),
        ("later", "succeeded"),
    ]
    assert reports[1].error == "ZeroDivisionError: a mistake in a flow"
    with session_factory(store)() as s:
        runs = {r.flow: (r.status, r.error) for r in s.scalars(select(SyncRunRow))}
    assert runs["broken"] == ("failed", "ZeroDivisionError: a mistake in a flow")
    assert runs["later"][0] == "succeeded"


def test_an_interrupt_still_stops_the_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine_module, "FLOWS", {"first": _interrupted, "later": _fine})
    store = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    upgrade(store)
    with pytest.raises(KeyboardInterrupt):
        Engine(Settings(database_url=str(store.url)), store).run_once()


def test_sync_once_runs_every_flow_and_exits_1(
    tmp_path: Path, flows: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLAN2CASH__DATABASE_URL", f"sqlite:///{tmp_path / 'store.db'}")
    result = CliRunner().invoke(app, ["sync", "--once"])
    assert result.exit_code == 1, result.output
    rows = {line.split()[1]: line for line in result.output.splitlines() if line.count("│") > 2}
    assert "failed" in rows["broken"] and "succeeded" in rows["later"], result.output
