"""Sign-in and roles on the dashboard under AppTest, from the entrypoint, on the seeded store.

``[auth] mode = "oidc"`` with the roles of :data:`tests.app.conftest.AUTH_TOML`; ``at.user`` is
what Streamlit would have read from the identity cookie. Every action is checked on the
database: who the audit log names, and that a refused action changed nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, update
from streamlit import config as st_config
from streamlit.testing.v1 import AppTest

from app import data, signin
from sync.access import Forbidden, Identity, Role
from sync.replay import ExceptionFilter
from sync.store.tables import AuditRow, ExceptionRow
from tests.app.conftest import APP, run_page, shown
from tests.app.seed import FIXABLE_KEY, OVER_24H_KEY

EXCEPTIONS = str(Path("app_pages") / "exceptions.py")
VIEWER = {"is_logged_in": True, "email": "viewer@firm.example"}
OPERATOR = {"is_logged_in": True, "email": "operator@firm.example"}
ADMIN = {"is_logged_in": True, "email": "admin@firm.example"}
GROUP_OPERATOR = {"is_logged_in": True, "email": "li@elsewhere.example", "groups": ["Finance-Ops"]}
STRANGER = {"is_logged_in": True, "email": "stranger@elsewhere.example"}
EVIL = "**bold** <img src=x onerror=alert(1)> [link](http://evil)"


def dashboard(user: dict[str, Any] | None) -> AppTest:
    return run_page(APP, user)


def exceptions_page(user: dict[str, Any], select: int | None = None) -> AppTest:
    at = dashboard(user)
    at.switch_page(EXCEPTIONS).run()
    assert not at.exception, [e.value for e in at.exception]
    if select is not None:
        ids = [int(i) for i in at.dataframe[0].value["id"]]
        rows = {"rows": [ids.index(select)], "columns": [], "cells": []}
        at.session_state["exception_table"] = {"selection": rows}
        at.run()
        assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.fixture
def setting(monkeypatch: pytest.MonkeyPatch) -> Callable[[str, str], None]:
    """Sets a PLAN2CASH variable for the rest of the test; the dashboard reads settings anew."""

    def set_variable(name: str, value: str) -> None:
        monkeypatch.setenv(name, value)
        data.settings.clear()

    return set_variable


def audit_rows(engine: Engine, action: str) -> list[Any]:
    with engine.connect() as c:
        return list(c.execute(select(AuditRow).where(AuditRow.action == action)).all())


def status_of(engine: Engine, exception_id: int) -> str:
    with engine.connect() as c:
        return str(c.scalar(select(ExceptionRow.status).where(ExceptionRow.id == exception_id)))


@pytest.mark.usefixtures("oidc_roles")
def test_an_anonymous_visitor_sees_only_the_sign_in_page(
    operations: tuple[Engine, dict[str, int]],
) -> None:
    at = dashboard({"is_logged_in": False})
    assert at.button(key="sign_in").label == "Sign in"
    assert not at.metric and not at.dataframe and not at.get("plotly_chart")
    assert not any("Overview" in t.value for t in at.title)
    with pytest.raises(ValueError, match="Could not find"):
        at.switch_page(EXCEPTIONS)  # the data pages are not registered for nobody


@pytest.mark.usefixtures("oidc_roles")
def test_a_cookie_from_a_header_is_not_a_sign_in(operations: tuple[Engine, dict[str, int]]) -> None:
    """In oidc mode only Streamlit's own sign-in counts: an e-mail without ``is_logged_in``
    (what a trusted header would give) opens nothing."""
    at = dashboard({"email": "admin@firm.example"})
    assert at.button(key="sign_in")
    assert not at.metric


@pytest.mark.usefixtures("oidc_roles")
def test_a_signed_in_person_with_no_role_is_told_to_ask(
    operations: tuple[Engine, dict[str, int]],
) -> None:
    at = dashboard(STRANGER)
    assert any(signin.NO_ACCESS in e.value for e in at.error)
    assert at.button(key="sign_out").label == "Sign out"
    assert not at.metric and not at.dataframe
    with pytest.raises(ValueError, match="Could not find"):
        at.switch_page(EXCEPTIONS)


@pytest.mark.usefixtures("oidc_roles")
def test_an_unverified_email_gets_no_role(operations: tuple[Engine, dict[str, int]]) -> None:
    at = dashboard(ADMIN | {"email_verified": False})
    assert any(signin.NO_ACCESS in e.value for e in at.error)


@pytest.mark.usefixtures("oidc_roles")
def test_a_viewer_reads_every_page_but_acts_on_nothing_and_sees_no_payload(
    operations: tuple[Engine, dict[str, int]],
) -> None:
    engine, ids = operations
    at = dashboard(VIEWER)
    assert at.title[0].value == "Overview"
    assert any("viewer@firm.example" in shown(c.value) for c in at.sidebar.caption)
    at = exceptions_page(VIEWER, select=ids[OVER_24H_KEY])
    assert not at.json  # the vendor record as received
    assert any(signin.PAYLOAD_HIDDEN in i.value for i in at.info)
    run = at.button(key="one_run")
    assert run.disabled and run.help and "operator role" in run.help
    bulk = at.button(key="bulk_run")
    assert bulk.disabled
    assert status_of(engine, ids[OVER_24H_KEY]) == "open"


@pytest.mark.usefixtures("oidc_roles")
def test_a_page_that_forgets_to_disable_a_button_is_still_refused_by_the_engine(
    operations: tuple[Engine, dict[str, int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page hides nothing the engine relies on: with the page's own check removed, a
    viewer's click reaches the engine, which refuses it and audits the refusal; the page says
    which role is needed, and nothing changed."""
    engine, ids = operations
    target = ids[OVER_24H_KEY]
    monkeypatch.setattr(signin, "needs", lambda *_, **__: None)
    at = exceptions_page(VIEWER, select=target)
    at.segmented_control(key="one_action").set_value("Resolve").run()
    at.text_input(key="one_reason").input("forged")
    at.button(key="one_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("needs the operator role" in shown(e.value) for e in at.error)
    assert status_of(engine, target) == "open"
    (refusal,) = audit_rows(engine, "refused.resolve")
    assert refusal.actor == "viewer@firm.example"
    assert refusal.detail["needed"] == "operator"


@pytest.mark.usefixtures("oidc_roles")
def test_an_operator_replays_and_the_audit_names_them(
    operations: tuple[Engine, dict[str, int]],
) -> None:
    engine, ids = operations
    target = ids[OVER_24H_KEY]
    at = exceptions_page(OPERATOR, select=target)
    assert at.json  # an operator sees the payload
    assert at.text_area(key="one_edit").disabled  # editing needs an admin
    assert not at.button(key="one_run").disabled
    at.segmented_control(key="one_action").set_value("Replay").run()
    at.text_input(key="one_reason").input("checked with the consultant")
    at.button(key="one_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    (replayed,) = audit_rows(engine, "exception.replay")
    assert replayed.actor == "operator@firm.example"
    assert replayed.target == f"exception:{target}"


@pytest.mark.usefixtures("oidc_roles")
def test_a_group_claim_grants_its_role(operations: tuple[Engine, dict[str, int]]) -> None:
    engine, ids = operations
    target = ids[OVER_24H_KEY]
    at = exceptions_page(GROUP_OPERATOR, select=target)
    at.segmented_control(key="one_action").set_value("Resolve").run()
    at.text_input(key="one_reason").input("split in Harvest")
    at.button(key="one_run").click().run()
    assert status_of(engine, target) == "resolved"
    (entry,) = audit_rows(engine, "exception.resolved")
    assert entry.actor == "li@elsewhere.example"


@pytest.mark.usefixtures("oidc_roles")
def test_an_admin_edits_and_replays(operations: tuple[Engine, dict[str, int]]) -> None:
    engine, ids = operations
    target = ids[FIXABLE_KEY]
    at = exceptions_page(ADMIN, select=target)
    assert not at.text_area(key="one_edit").disabled
    at.segmented_control(key="one_action").set_value("Replay").run()
    at.text_input(key="one_reason").input("hours were typed with a minus")
    at.text_area(key="one_edit").input('{"hours": 2.0}')
    at.button(key="one_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert status_of(engine, target) == "resolved"
    (entry,) = audit_rows(engine, "exception.replay")
    assert entry.actor == "admin@firm.example"
    assert entry.detail["edit"] == {"hours": 2.0}


@pytest.mark.usefixtures("oidc_roles")
def test_an_operator_may_not_act_on_more_than_the_bulk_limit(
    operations: tuple[Engine, dict[str, int]], setting: Callable[[str, str], None]
) -> None:
    setting("PLAN2CASH__AUTH__BULK_LIMIT", "2")
    at = exceptions_page(OPERATOR)
    at.segmented_control(key="bulk_action").set_value("Resolve").run()
    bulk = at.button(key="bulk_run")
    assert bulk.disabled and bulk.help and "admin role for 5 records" in bulk.help


@pytest.mark.usefixtures("oidc_roles")
def test_a_forged_replay_with_a_viewer_identity_is_refused_and_audited(
    operations: tuple[Engine, dict[str, int]],
) -> None:
    """The dashboard's data function, called directly as a forged request would: the engine
    refuses the viewer, audits it, and nothing changes."""
    engine, ids = operations
    target = ids[FIXABLE_KEY]
    viewer = Identity("viewer@firm.example", Role.VIEWER, "oidc")
    with pytest.raises(Forbidden, match="needs the operator role"):
        data.replay_exceptions(
            ExceptionFilter(ids=(target,), statuses=()),
            actor=viewer,
            reason="forged",
            dry_run=False,
        )
    assert status_of(engine, target) == "open"
    assert not audit_rows(engine, "exception.replay")
    (refusal,) = audit_rows(engine, "refused.replay")
    assert (refusal.actor, refusal.target) == ("viewer@firm.example", f"exception:{target}")


@pytest.mark.usefixtures("header_roles")
def test_header_mode_takes_the_proxys_email_and_groups(
    operations: tuple[Engine, dict[str, int]],
) -> None:
    at = dashboard({"email": "li@elsewhere.example", "groups": "staff,finance-ops"})
    assert at.title[0].value == "Overview"
    assert any("operator" in c.value for c in at.sidebar.caption)
    assert not any(b.key == "sign_out" for b in at.button)  # the proxy signs people out


@pytest.mark.usefixtures("header_roles")
def test_header_mode_without_the_header_opens_nothing(
    operations: tuple[Engine, dict[str, int]],
) -> None:
    at = dashboard({"email": None})
    assert any("no user arrived" in e.value for e in at.error)
    assert not at.metric and not at.dataframe


def test_demo_mode_says_so_on_every_page(operations: tuple[Engine, dict[str, int]]) -> None:
    at = dashboard(None)
    assert at.warning[0].value == signin.DEMO_BANNER
    at.switch_page(EXCEPTIONS).run()
    assert at.warning[0].value == signin.DEMO_BANNER
    assert any("dashboard user" in shown(c.value) for c in at.caption)


def test_demo_mode_off_loopback_is_refused_in_the_page(
    operations: tuple[Engine, dict[str, int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server started on every interface by hand (not by the launcher) shows no data."""
    before = st_config.get_option("server.address")
    st_config.set_option("server.address", "0.0.0.0")
    try:
        at = dashboard(None)
    finally:
        st_config.set_option("server.address", before)
    (refused,) = at.error
    assert "Demo mode refused" in refused.value
    assert "listen on address 0.0.0.0" in shown(refused.value)
    assert not at.metric and not at.dataframe


def test_a_real_vendor_in_sandbox_mode_is_refused_in_the_page(
    operations: tuple[Engine, dict[str, int]], setting: Callable[[str, str], None]
) -> None:
    setting("PLAN2CASH__HARVEST__BASE_URL", "https://firm.harvestapp.com/v2")
    at = dashboard(None)
    (refused,) = at.error
    assert "configuration is refused" in refused.value
    assert "harvest.base_url = https://firm.harvestapp.com/v2" in shown(refused.value)
    assert not at.metric and not at.dataframe


def test_vendor_text_is_shown_literally(operations: tuple[Engine, dict[str, int]]) -> None:
    """A reason written as Markdown and HTML reaches the page escaped: the reader sees the
    characters, no emphasis, no image, no link."""
    engine, ids = operations
    target = ids[OVER_24H_KEY]
    with engine.begin() as c:
        c.execute(
            update(ExceptionRow)
            .where(ExceptionRow.id == target)
            .values(reason=EVIL, notes="[x](javascript:alert(1))", record_key="k`ey")
        )
    at = exceptions_page({"is_logged_in": True, "email": "admin@firm.example"}, select=target)
    reason = next(m.value for m in at.markdown if "bold" in m.value)
    escaped = r"\*\*bold\*\* \<img src\=x onerror\=alert\(1\)\> \[link\]\(http\:" + "\u2060"
    escaped += r"\/\/evil\)"  # a word joiner after the colon: no bare link either
    assert reason == f"**{escaped}**"
    assert shown(reason) == f"**{EVIL}**"
    facts = next(m.value for m in at.markdown if "**Record:**" in m.value)
    assert "``k`ey``" in facts and r"\[x\]\(javascript\:alert\(1\)\)" in facts


def test_a_refused_configuration_shows_why_and_no_data(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLAN2CASH__AUHT__MODE", "oidc")  # misspelt: refused, never ignored
    at = dashboard(None)
    (error,) = at.error
    assert "PLAN2CASH__AUHT__MODE" in shown(error.value)
    assert "PLAN2CASH__AUTH__MODE" in shown(error.value)  # the setting it resembles
    assert not at.dataframe and not at.metric
