"""Sign-in in a real browser: the dashboard started by :mod:`app.dashboard` in oidc mode, a mock
OpenID Connect provider (``oidc-provider-mock``) on loopback, Debian's chromium.

An anonymous visitor sees the sign-in page and no data; a viewer signs in and reads the pages
but can act on nothing and sees no payload; an operator signs in, replays an exception, and the
audit log names them. Screenshots of each step go to the test's temporary folder.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from app.dashboard import Launch, launch
from sync.settings import load_settings
from sync.store.db import make_engine
from sync.store.migrate import upgrade
from sync.store.tables import AuditRow, ExceptionRow
from tests.app.seed import OVER_24H_KEY, seed, seed_operations
from tests.app.serving import CHROMIUM, free_port, headless_chromium, wait_until_up

EVIL = "**bold** <img src=x onerror=alert(1)> [link](http://evil)"
USERS = {
    "viewer": '{"sub": "viewer", "email": "viewer@firm.example", "email_verified": true}',
    "operator": '{"sub": "operator", "email": "operator@firm.example", "groups": ["ops"]}',
}
CONFIG = """
dashboard_url = "http://127.0.0.1:{port}"
[auth]
mode = "oidc"
[auth.roles]
"viewer@firm.example" = "viewer"
"group:ops" = "operator"
[auth.oidc]
server_metadata_url = "http://localhost:{idp}/.well-known/openid-configuration"
client_id = "plan2cash-test"
client_secret = "test-only-client-secret"
cookie_secret = "test-only-cookie-secret-0123456789abcdef"
"""

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The mock provider and the dashboard on free loopback ports; a seeded store in which one
    exception's reason is Markdown and HTML."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed at /usr/bin/chromium")
    pytest.importorskip("playwright.sync_api")
    mock = shutil.which("oidc-provider-mock") or str(
        Path(sys.executable).with_name("oidc-provider-mock")
    )
    folder = tmp_path_factory.mktemp("signin")
    store = f"sqlite:///{folder / 'store.db'}"
    engine = make_engine(store)
    upgrade(engine)
    seed(engine, datetime.now(UTC).date())
    ids = seed_operations(engine, datetime.now(UTC))
    with engine.begin() as c:
        c.execute(
            update(ExceptionRow).where(ExceptionRow.id == ids[OVER_24H_KEY]).values(reason=EVIL)
        )
    idp_port, port = free_port(), free_port()
    provider = subprocess.Popen(
        [mock, "--port", str(idp_port), *(a for u in USERS.values() for a in ("--user-claims", u))],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    config = folder / "plan2cash.toml"
    config.write_text(CONFIG.format(port=port, idp=idp_port))
    dashboard: Launch | None = None
    try:
        wait_until_up(f"http://localhost:{idp_port}/.well-known/openid-configuration", provider)
        settings = load_settings(config)
        dashboard = launch(settings, port=port, store_url=store, config=config)
        wait_until_up(f"http://127.0.0.1:{port}/_stcore/health", dashboard.start())
        yield {
            "url": f"http://127.0.0.1:{port}",
            "engine": engine,
            "target": ids[OVER_24H_KEY],
            "shots": folder,
        }
    finally:
        if dashboard is not None:
            dashboard.stop()
        provider.terminate()
        provider.wait(timeout=10)
        engine.dispose()


@pytest.fixture(scope="module")
def browser(served: dict[str, Any]) -> Iterator[Any]:
    with headless_chromium() as chromium:
        yield chromium


def test_an_anonymous_visitor_sees_the_sign_in_page_and_no_data(
    served: dict[str, Any], browser: Any
) -> None:
    expect = pytest.importorskip("playwright.sync_api").expect
    page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    for path in ("", "/exceptions"):  # a deep link opens nothing either
        page.goto(served["url"] + path, timeout=30_000)
        expect(page.get_by_role("button", name="Sign in")).to_be_visible(timeout=30_000)
        text = page.inner_text('[data-testid="stMain"]')
        assert "Exceptions" not in text and "Overview" not in text
        assert page.locator('[data-testid="stMetric"]').count() == 0
        assert page.locator('[data-testid="stDataFrame"]').count() == 0
        assert page.locator('[data-testid="stSidebarNav"]').count() == 0
    page.screenshot(path=str(served["shots"] / "anonymous.png"), full_page=True)
    page.context.close()


def test_a_viewer_reads_pages_but_has_no_action_and_no_payload(
    served: dict[str, Any], browser: Any
) -> None:
    expect = pytest.importorskip("playwright.sync_api").expect
    page = _signed_in(browser, served["url"], "viewer")
    sidebar = page.inner_text('[data-testid="stSidebar"]').replace("\u2060", "")
    assert "Signed in as viewer@firm.example · viewer" in sidebar
    assert page.locator('[data-testid="stSidebar"] a[href^="mailto"]').count() == 0
    page.wait_for_selector('[data-testid="stMetric"]', timeout=30_000)
    page.screenshot(path=str(served["shots"] / "viewer-overview.png"), full_page=True)
    page.goto(served["url"] + "/exceptions", timeout=30_000)
    expect(page.get_by_role("heading", name="Exceptions")).to_be_visible(timeout=30_000)
    page.wait_for_selector('[data-testid="stDataFrame"]', timeout=30_000)
    _select_row(page, 3)  # x1, x2, negative hours, over 24 h (its reason is EVIL)
    expect(page.get_by_text("payload hidden: needs the operator role")).to_be_visible(
        timeout=15_000
    )
    expect(page.locator(".st-key-one_run button").first).to_be_disabled()
    expect(page.locator(".st-key-bulk_run button").first).to_be_disabled()
    assert page.locator('[data-testid="stJson"]').count() == 0
    text = page.inner_text('[data-testid="stMain"]').replace("\u2060", "")  # invisible
    assert EVIL in text  # the reason as written: no bold, no image, no link
    assert page.locator('[data-testid="stMain"] img[src="x"]').count() == 0
    assert page.locator('[data-testid="stMain"] a[href*="evil"]').count() == 0
    assert "Needs the operator role; you are viewer." in text
    page.screenshot(path=str(served["shots"] / "viewer-exceptions.png"), full_page=True)
    page.context.close()


def test_an_operator_replays_and_the_audit_names_them(served: dict[str, Any], browser: Any) -> None:
    expect = pytest.importorskip("playwright.sync_api").expect
    page = _signed_in(browser, served["url"], "operator")
    page.goto(served["url"] + "/exceptions", timeout=30_000)
    expect(page.get_by_role("heading", name="Exceptions")).to_be_visible(timeout=30_000)
    page.wait_for_selector('[data-testid="stDataFrame"]', timeout=30_000)
    _select_row(page, 3)
    page.wait_for_selector('[data-testid="stJson"]', timeout=15_000)  # an operator sees it
    page.locator(".st-key-one_action").get_by_text("Replay", exact=True).click()
    expect(page.locator(".st-key-one_run button").first).to_have_text("Replay", timeout=15_000)
    reason = page.locator(".st-key-one_reason input")
    reason.fill("checked with the consultant")
    reason.press("Enter")
    page.locator(".st-key-one_run button").first.click()
    expect(page.get_by_text("Replayed 1 exception.")).to_be_visible(timeout=30_000)
    page.screenshot(path=str(served["shots"] / "operator-replayed.png"), full_page=True)
    page.context.close()
    with served["engine"].connect() as c:
        (entry,) = c.execute(select(AuditRow).where(AuditRow.action == "exception.replay")).all()
    assert entry.actor == "operator@firm.example"
    assert entry.target == f"exception:{served['target']}"


def _signed_in(browser: Any, url: str, user: str) -> Any:
    """A fresh browser context signed in through the mock provider as a predefined ``user``."""
    expect = pytest.importorskip("playwright.sync_api").expect
    page = browser.new_context(viewport={"width": 1600, "height": 2400}).new_page()
    page.goto(url, timeout=30_000)
    page.get_by_role("button", name="Sign in").click()
    page.locator(f'button[name="sub"][value="{user}"]').click(timeout=30_000)
    expect(page.get_by_role("heading", name="Overview")).to_be_visible(timeout=30_000)
    return page


def _select_row(page: Any, row: int) -> None:
    grid = page.locator('[data-testid="stDataFrame"]').first
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + 15, box["y"] + 35 + 35 * row + 17)
