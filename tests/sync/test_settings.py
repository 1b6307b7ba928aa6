from __future__ import annotations

from pathlib import Path

import pytest

from sync.settings import DEFAULT_DATABASE, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    for key in list(__import__("os").environ):
        if key.startswith("PLAN2CASH"):
            monkeypatch.delenv(key)


def test_no_configuration_means_sandbox_and_sqlite_under_var() -> None:
    settings = load_settings()
    assert settings.database_url == DEFAULT_DATABASE == "sqlite:///var/plan2cash.db"
    assert settings.harvest.base_url.startswith("http://127.0.0.1:")
    assert settings.xero.token_url.startswith("http://127.0.0.1:")


def test_toml_file_then_environment_override(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "p2c.toml"
    config.write_text(
        'database_url = "postgresql+psycopg://db/p2c"\n'
        '[harvest]\naccount_id = "42"\n[schedule]\ntime_seconds = 15\n'
    )
    monkeypatch.setenv("PLAN2CASH__HARVEST__TOKEN", "from-env")
    monkeypatch.setenv("PLAN2CASH__SCHEDULE__TIME_SECONDS", "20")
    settings = load_settings(config)
    assert settings.database_url == "postgresql+psycopg://db/p2c"
    assert settings.harvest.account_id == "42"
    assert settings.harvest.token.get_secret_value() == "from-env"
    assert settings.schedule.time_seconds == 20


@pytest.mark.parametrize(
    "variable",
    [
        "PLAN2CASH__XERO__CLIENT_SECRET",
        "PLAN2CASH__SALESFORCE__CLIENT_SECRET",
        "PLAN2CASH__KANTATA__TOKEN",
        "PLAN2CASH__HARVEST__TOKEN",
        "PLAN2CASH__BAMBOOHR__API_KEY",
    ],
)
def test_secrets_do_not_show_in_reprs(variable: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(variable, "s3cr3t-value")
    settings = load_settings()
    assert "s3cr3t-value" not in repr(settings) and "s3cr3t-value" not in str(settings)
    assert "s3cr3t-value" not in settings.model_dump_json()


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_settings(tmp_path / "nope.toml")


def test_unknown_keys_are_refused(tmp_path: Path) -> None:
    config = tmp_path / "p2c.toml"
    config.write_text('databse_url = "typo"\n')
    with pytest.raises(ValueError, match="databse_url"):
        load_settings(config)
