from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from sync.settings import DEFAULT_DATABASE, ConfigurationError, Mode, Settings, load_settings
from sync.settings_sources import MASK, Source, resolved


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
    with pytest.raises(ConfigurationError, match=r"nope\.toml does not exist"):
        load_settings(tmp_path / "nope.toml")


def test_unknown_keys_are_refused(tmp_path: Path) -> None:
    config = tmp_path / "p2c.toml"
    config.write_text('databse_url = "typo"\n')
    with pytest.raises(ValueError, match="databse_url"):
        load_settings(config)


# --- configuration fails closed -------------------------------------------------------------

LIVE_SECRETS = {
    "PLAN2CASH__HARVEST__TOKEN": "h",
    "PLAN2CASH__XERO__CLIENT_SECRET": "x",
    "PLAN2CASH__SALESFORCE__CLIENT_SECRET": "s",
    "PLAN2CASH__KANTATA__TOKEN": "k",
    "PLAN2CASH__BAMBOOHR__API_KEY": "b",
}
LIVE_FILE = """mode = "live"
database_url = "postgresql+psycopg://p2c@db.internal/plan2cash"
[harvest]
base_url = "https://api.harvestapp.com/v2"
account_id = "123"
[xero]
base_url = "https://api.xero.com/api.xro/2.0"
token_url = "https://identity.xero.com/connect/token"
connections_url = "https://api.xero.com/connections"
client_id = "firm-client"
[salesforce]
login_url = "https://firm.my.salesforce.com"
client_id = "firm-app"
[kantata]
base_url = "https://api.mavenlink.com/api/v1"
[bamboohr]
base_url = "https://api.bamboohr.com/api/gateway.php/firm/v1"
"""


def write(tmp_path: Path, text: str) -> Path:
    config = tmp_path / "p2c.toml"
    config.write_text(text)
    return config


def test_no_configuration_is_sandbox_mode() -> None:
    assert load_settings().mode is Mode.SANDBOX


def test_a_complete_live_configuration_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in LIVE_SECRETS.items():
        monkeypatch.setenv(name, value)
    settings = load_settings(write(tmp_path, LIVE_FILE))
    assert settings.mode is Mode.LIVE
    assert settings.xero.client_secret.get_secret_value() == "x"


def test_live_mode_names_every_missing_key_in_one_error(tmp_path: Path) -> None:
    config = write(
        tmp_path, 'mode = "live"\n[harvest]\nbase_url = "https://api.harvestapp.com/v2"\n'
    )
    with pytest.raises(ConfigurationError) as refused:
        load_settings(config)
    message = str(refused.value)
    assert message.startswith("live mode needs: database_url, ")
    for key in (
        "harvest.account_id", "harvest.token", "xero.base_url", "xero.token_url",
        "xero.connections_url", "xero.client_id", "xero.client_secret", "salesforce.login_url",
        "salesforce.client_id", "salesforce.client_secret", "kantata.base_url", "kantata.token",
        "bamboohr.base_url", "bamboohr.api_key",
    ):  # fmt: skip
        assert key in message
    assert "harvest.base_url" not in message  # given


def test_live_mode_takes_no_sandbox_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Leaving one credential out does not fall back to the sandbox's."""
    for name, value in LIVE_SECRETS.items():
        if name != "PLAN2CASH__XERO__CLIENT_SECRET":
            monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError, match=r"^live mode needs: xero.client_secret$"):
        load_settings(write(tmp_path, LIVE_FILE))


def test_live_mode_needs_the_database_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in LIVE_SECRETS.items():
        monkeypatch.setenv(name, value)
    text = LIVE_FILE.replace(
        'database_url = "postgresql+psycopg://p2c@db.internal/plan2cash"\n', ""
    )
    with pytest.raises(ConfigurationError, match=r"^live mode needs: database_url$"):
        load_settings(write(tmp_path, text))


def test_live_mode_refuses_plain_http_off_loopback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in LIVE_SECRETS.items():
        monkeypatch.setenv(name, value)
    text = LIVE_FILE.replace("https://identity.xero.com", "http://identity.xero.com")
    with pytest.raises(ConfigurationError, match=r"https .*xero.token_url = http://identity"):
        load_settings(write(tmp_path, text))
    monkeypatch.setenv("PLAN2CASH__TELEMETRY__OTLP_ENDPOINT", "http://tempo.internal:4318")
    with pytest.raises(ConfigurationError, match=r"telemetry\.otlp_endpoint"):
        load_settings(write(tmp_path, LIVE_FILE))
    monkeypatch.setenv("PLAN2CASH__TELEMETRY__OTLP_ENDPOINT", "http://127.0.0.1:4318")
    assert load_settings(write(tmp_path, LIVE_FILE)).telemetry.otlp_endpoint  # loopback: fine


@pytest.mark.parametrize(
    "url", ["https://api.harvestapp.com/v2", "http://10.0.0.5/v2", "http://harvest.local/v2"]
)
def test_sandbox_mode_refuses_a_real_url(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLAN2CASH__HARVEST__BASE_URL", url)
    with pytest.raises(ConfigurationError, match=r'harvest.base_url .*set mode = "live"'):
        load_settings()


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost", "[::1]"])
def test_sandbox_mode_takes_any_loopback_url(host: str) -> None:
    settings = Settings(harvest={"base_url": f"http://{host}:8711/v2"})
    assert settings.harvest.base_url == f"http://{host}:8711/v2"


def test_settings_built_in_code_fail_closed_too() -> None:
    with pytest.raises(ValidationError, match="live mode needs: database_url"):
        Settings(mode="live")
    with pytest.raises(ValidationError, match='set mode = "live"'):
        Settings(xero={"token_url": "https://identity.xero.com/connect/token"})


@pytest.mark.parametrize(
    ("section", "key"),
    [("harvest", "tokn"), ("xero", "client_secet"), ("schedule", "time_second"),
     ("billing", "invoice_prefx"), ("telemetry", "otlp_endpont"), ("sandbox", "sede"),
     ("auth", "rols"), ("bamboohr", "api_ky"), ("salesforce", "login_ur"),
     ("kantata", "tokn")],
)  # fmt: skip
def test_an_unknown_key_in_any_section_is_named(section: str, key: str, tmp_path: Path) -> None:
    config = write(tmp_path, f'[{section}]\n{key} = "1"\n')
    with pytest.raises(ConfigurationError, match=rf"^{section}\.{key} is not a setting"):
        load_settings(config)


def test_an_unknown_key_gets_the_close_match(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"did you mean xero\.client_secret\?"):
        load_settings(write(tmp_path, '[xero]\nclient_secet = "x"\n'))


@pytest.mark.parametrize(
    ("variable", "suggestion"),
    [
        ("PLAN2CASH__XERO__CLIENT_SECRT", "PLAN2CASH__XERO__CLIENT_SECRET"),
        ("PLAN2CASH__HARVST__TOKEN", "PLAN2CASH__HARVEST__TOKEN"),
        ("PLAN2CASH__DATABSE_URL", "PLAN2CASH__DATABASE_URL"),
        ("PLAN2CASH__AUTH__OIDC__CLIENT_SECRE", "PLAN2CASH__AUTH__OIDC__CLIENT_SECRET"),
        ("plan2cash__schedule__time_secs", "PLAN2CASH__SCHEDULE__TIME_SECONDS"),
    ],
)
def test_an_unknown_variable_is_named_with_its_close_match(
    variable: str, suggestion: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(variable, "x")
    with pytest.raises(ConfigurationError) as refused:
        load_settings()
    assert str(refused.value) == f"{variable} is not a setting (did you mean {suggestion}?)"


def test_an_unknown_variable_with_nothing_close_is_still_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PLAN2CASH__HARVEST__TOKEN__EXTRA", "x")  # under a plain value
    monkeypatch.setenv("PLAN2CASH__ZZZ", "x")
    with pytest.raises(ConfigurationError) as refused:
        load_settings()
    assert "PLAN2CASH__HARVEST__TOKEN__EXTRA is not a setting" in str(refused.value)
    assert "PLAN2CASH__ZZZ is not a setting" in str(refused.value)


def test_variables_under_a_mapping_are_its_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLAN2CASH__ERP__ENTITIES__ACME__ERP", "xero")
    monkeypatch.setenv("PLAN2CASH__ERP__ENTITIES__ACME__COMPANY", "tenant-1")
    books = load_settings().erp.entities
    assert {name: (b.erp, b.company) for name, b in books.items()} == {"acme": ("xero", "tenant-1")}


# --- [erp]: which ERP and company keeps each legal entity's books ----------------------------


def test_an_entity_maps_to_an_erp_and_company_else_the_default_by_name(tmp_path: Path) -> None:
    config = write(
        tmp_path,
        '[erp]\ndefault = "xero"\n'
        '[erp.entities]\n"Meridian UK" = { erp = "xero", company = "tenant-uk" }\n'
        '"Meridian US" = { erp = "xero" }\n',
    )
    erp = load_settings(config).erp
    assert erp.in_use() == ["xero"]
    uk, us = erp.books_of("  meridian   uk "), erp.books_of("Meridian US")
    assert uk is not None and (uk.erp, uk.company) == ("xero", "tenant-uk")
    assert us is not None and (us.erp, us.company) == ("xero", None)  # the company of its name
    assert erp.books_of("Meridian Atlantis") is None  # the default ERP's company of its name


def test_an_entity_mapped_to_an_erp_that_is_not_configured_is_refused(tmp_path: Path) -> None:
    config = write(
        tmp_path, '[erp.entities]\n"Meridian DE" = { erp = "dynamics365", company = "DE01" }\n'
    )
    with pytest.raises(ConfigurationError) as refused:
        load_settings(config)
    assert str(refused.value) == (
        "erp.entities maps Meridian DE to dynamics365, which is not configured: add a "
        "[dynamics365] section with its connection, or map the entities to another ERP"
    )
    with pytest.raises(ConfigurationError, match=r"^erp\.default is netsuite, which is not conf"):
        load_settings(write(tmp_path, '[erp]\ndefault = "netsuite"\n'))


@pytest.mark.parametrize(
    ("text", "fault"),
    [
        ('[erp.entities]\n"A" = { erp = "oracle" }\n', r"erp\.entities\.A\.erp: Input should be"),
        ('[erp.entities]\n"A" = { erp = "xero", tenant = "t" }\n', r"erp\.entities\.A\.tenant is"),
        ('[erp.entities]\n"A" = { erp = "xero", company = "" }\n', r"erp\.entities\.A\.company"),
        ('[erp.entities]\n"A b" = { erp = "xero" }\n"a  B" = { erp = "xero" }\n', "twice: A b"),
    ],
)
def test_a_bad_erp_entry_is_named(text: str, fault: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=fault):
        load_settings(write(tmp_path, text))


def test_the_old_xero_tenants_key_says_where_it_went(tmp_path: Path) -> None:
    config = write(tmp_path, '[xero]\ntenants = { "Meridian UK" = "tenant-uk" }\n')
    with pytest.raises(ConfigurationError, match=r"^xero\.tenants has moved to \[erp\] entities"):
        load_settings(config)


def test_a_missing_plan2cash_config_file_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLAN2CASH_CONFIG", str(tmp_path / "gone.toml"))
    with pytest.raises(ConfigurationError, match=r"PLAN2CASH_CONFIG names .*gone\.toml"):
        load_settings()
    write(tmp_path, "[schedule]\ntime_seconds = 15\n")
    monkeypatch.setenv("PLAN2CASH_CONFIG", str(tmp_path / "p2c.toml"))
    assert load_settings().schedule.time_seconds == 15


def test_a_file_that_is_not_toml_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"p2c\.toml is not valid TOML"):
        load_settings(write(tmp_path, "mode = \n"))


def test_a_bad_value_is_named_with_its_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"^mode: Input should be 'sandbox' or 'live'"):
        load_settings(write(tmp_path, 'mode = "production"\n'))


def test_every_value_shows_its_source_and_secrets_are_masked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write(tmp_path, '[harvest]\naccount_id = "42"\ntoken = "file-secret"\n')
    monkeypatch.setenv("PLAN2CASH__XERO__CLIENT_SECRET", "env-secret")
    monkeypatch.setenv("PLAN2CASH__HARVEST__TOKEN", "env-wins")
    monkeypatch.setenv("PLAN2CASH__DATABASE_URL", "postgresql+psycopg://p2c:pa55@127.0.0.1/p2c")
    rows = {row.key: row for row in resolved(load_settings(config), config)}
    assert (rows["harvest.account_id"].value, rows["harvest.account_id"].source) == (
        "42",
        Source.FILE,
    )
    assert (rows["harvest.token"].value, rows["harvest.token"].source) == (MASK, Source.ENVIRONMENT)
    assert rows["xero.client_secret"].source is Source.ENVIRONMENT
    assert rows["kantata.token"].source is Source.DEFAULT and rows["kantata.token"].value == MASK
    assert rows["database_url"].value == f"postgresql+psycopg://p2c:{MASK}@127.0.0.1/p2c"
    assert rows["mode"].source is Source.DEFAULT
    shown = " ".join(row.value for row in rows.values())
    for secret in ("file-secret", "env-secret", "env-wins", "pa55", "sandbox-harvest-token"):
        assert secret not in shown


EMAIL = {"port": 25, "from_addr": "p2c@firm.example", "to": ["ops@firm.example"]}
SECRET_PATH = "/services/T000/B000/very-secret-token"


def test_sandbox_mode_refuses_alert_channels_off_loopback() -> None:
    with pytest.raises(ValidationError, match=r"alerts\.email\.host = smtp\.firm\.example"):
        Settings(alerts={"email": {"host": "smtp.firm.example", **EMAIL}})
    with pytest.raises(ValidationError, match=r"alerts\.slack\.webhook_url \(host hooks") as error:
        Settings(alerts={"slack": {"webhook_url": f"https://hooks.slack.com{SECRET_PATH}"}})
    message = error.value.errors()[0]["msg"]  # what plan2cash says (pydantic echoes its input)
    assert "very-secret-token" not in message  # the webhook URL is the credential


def test_sandbox_mode_takes_alert_channels_on_loopback() -> None:
    settings = Settings(
        alerts={
            "email": {"host": "127.0.0.1", **EMAIL},
            "slack": {"webhook_url": f"http://127.0.0.1:8726{SECRET_PATH}"},
        }
    )
    assert settings.alerts.email is not None and settings.alerts.slack is not None


def test_a_secret_of_an_optional_section_can_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PLAN2CASH__ALERTS__SLACK__WEBHOOK_URL", "http://127.0.0.1:8726/hook")
    monkeypatch.setenv("PLAN2CASH__ALERTS__EMAIL__PASWORD", "x")  # a typo is still refused
    with pytest.raises(
        ConfigurationError, match="PLAN2CASH__ALERTS__EMAIL__PASWORD is not a setting"
    ):
        Settings()
    monkeypatch.delenv("PLAN2CASH__ALERTS__EMAIL__PASWORD")
    slack = Settings().alerts.slack
    assert slack is not None
    assert slack.webhook_url.get_secret_value() == "http://127.0.0.1:8726/hook"
