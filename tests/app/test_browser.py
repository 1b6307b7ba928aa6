"""Real-browser smoke tests: the dashboard served by ``streamlit run`` and read by chromium.

One server on a seeded store (billing and operations rows) for the module; each page is opened by
its URL path, waited for, checked for its key text and for the absence of a traceback, and saved
as a screenshot under ``var/screenshots/`` for a person to look at.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import alerts
from sync.flows import rollups
from sync.settings import Settings
from sync.store.db import make_engine, session_factory, transaction
from sync.store.migrate import upgrade
from sync.store.tables import BillingEventRow, BusinessEventRow, TimeEntryRow
from tests.app.seed import BILLABLE_ERROR, USD_INVOICE, seed, seed_operations
from tests.app.serving import CHROMIUM, free_port, headless_chromium, wait_until_up

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "var" / "screenshots"
SCREENSHOT = SCREENSHOTS / "billing.png"

pytestmark = pytest.mark.browser


def _backing_time(session: Session) -> None:
    """The approved time entry each seeded billing event was made from (the rollups are built
    from the first day of time, so a billing event older than every time entry is left out),
    and the milestones of ``e1``'s journey."""
    for event in session.scalars(select(BillingEventRow)).all():
        if event.id == "e1":
            for name, kind, key, hours in (
                ("time.approved", "time_entry", event.source_record_id, 0),
                ("billing_event.created", "billing_event", event.id, 2),
            ):
                at = event.approved_at + timedelta(hours=hours)
                milestone = {"occurred_at": at, "recorded_at": at, "attributes": {}}
                session.add(
                    BusinessEventRow(name=name, entity_type=kind, entity_id=key, **milestone)
                )
        session.add(
            TimeEntryRow(
                id=event.source_record_id, source="test", source_id=event.source_record_id,
                updated_at=event.approved_at, resource_id=event.resource_id,
                project_id=event.project_id, spent_date=event.occurred_on, hours=event.quantity,
                billable=True, status="approved", approved_at=event.approved_at,
            )
        )  # fmt: skip


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``streamlit run`` on a seeded store; yields the base URL."""
    if not CHROMIUM.exists():
        pytest.skip(
            "Debian's chromium is not installed at /usr/bin/chromium (apt-get install chromium)"
        )
    pytest.importorskip("playwright.sync_api")
    tmp_path = tmp_path_factory.mktemp("dashboard")
    (tmp_path / "empty.toml").touch()  # no plan2cash.toml of the working directory
    url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = make_engine(url)
    upgrade(engine)
    seed(engine, datetime.now(UTC).date())
    seed_operations(engine, datetime.now(UTC))
    with transaction(session_factory(engine)) as session:
        _backing_time(session)
    with transaction(session_factory(engine)) as session:  # as the engine's rollups flow does
        rollups.refresh(session, today=datetime.now(UTC).date())
    settings = Settings(database_url=url)  # the default rules, no channel: alerts fire, unsent
    alerts.evaluate_and_notify(engine, settings, datetime.now(UTC))
    engine.dispose()

    port = free_port()
    env = {
        **os.environ,
        "PLAN2CASH__DATABASE_URL": url,
        "PLAN2CASH_CONFIG": str(tmp_path / "empty.toml"),
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app/streamlit_app.py",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{base}/_stcore/health", server, seconds=30)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


@pytest.fixture(scope="module")
def browser(dashboard: str) -> Iterator[Any]:
    with headless_chromium() as chromium:
        yield chromium


def opened(
    browser: Any, url: str, heading: str, *, height: int, width: int = 1600
) -> tuple[Any, Any]:
    """A new page on ``url`` once its ``heading`` shows; and playwright's ``expect``."""
    expect = pytest.importorskip("playwright.sync_api").expect
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(url, timeout=30_000)
    expect(page.get_by_role("heading", name=heading)).to_be_visible(timeout=30_000)
    return page, expect


def test_billing_page_renders_in_chromium(dashboard: str, browser: Any) -> None:
    page, expect = opened(browser, f"{dashboard}/billing", "Billing", height=2800)
    page.wait_for_selector('[data-testid="stMetric"]', timeout=30_000)
    page.wait_for_selector('[data-testid="stPlotlyChart"] .main-svg', timeout=30_000)
    expect(page.get_by_text("WIP, unbilled — USD")).to_be_visible()
    page.wait_for_selector('[data-testid="stDataFrame"]', timeout=30_000)
    _select_first_invoice(page)
    expect(page.get_by_text(f"Invoice {USD_INVOICE}")).to_be_visible(timeout=15_000)
    # invoices, its lines, its events, all events: the rerun after the click is complete
    grids = page.locator('[data-testid="stDataFrame"]')
    expect(grids).to_have_count(4, timeout=15_000)
    expect(page.get_by_role("heading", name="Billing events")).to_be_visible()
    text = page.inner_text('[data-testid="stMain"]')
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    page.close()
    assert USD_INVOICE in text
    assert "$2,300.00" in text
    assert "Traceback" not in text
    assert "Error" not in text


def test_exceptions_page_renders_and_selects_in_chromium(dashboard: str, browser: Any) -> None:
    page, expect = opened(browser, f"{dashboard}/exceptions", "Exceptions", height=2400)
    page.wait_for_selector('[data-testid="stPlotlyChart"] .main-svg', timeout=30_000)
    tiles = page.locator('[data-testid="stMetric"]')
    expect(tiles.filter(has_text="Value at risk — USD")).to_be_visible()
    page.wait_for_selector('[data-testid="stDataFrame"]', timeout=30_000)
    _select_row(page, 3)  # the over-24 h entry: x1, x2, negative hours, over 24 h, …
    expect(page.get_by_role("heading", name="Exception #5")).to_be_visible(timeout=15_000)
    page.wait_for_selector('[data-testid="stJson"]', timeout=15_000)
    text = page.inner_text('[data-testid="stMain"]')
    page.screenshot(path=str(SCREENSHOTS / "exceptions.png"), full_page=True)
    page.close()
    assert "$4,950.00" in text and "£240.00" in text
    assert "30.0 hours on" in text
    assert "Traceback" not in text


def test_health_page_renders_in_chromium(dashboard: str, browser: Any) -> None:
    page, expect = opened(browser, f"{dashboard}/health", "Integration health", height=2200)
    page.wait_for_selector('[data-testid="stPlotlyChart"] .main-svg', timeout=30_000)
    expect(page.get_by_role("heading", name="Recent failed runs")).to_be_visible()
    expect(page.get_by_role("heading", name="ERPs")).to_be_visible()
    # flows, vendor calls, open exceptions, failed runs; each ERP and each company's books
    expect(page.locator('[data-testid="stDataFrame"]')).to_have_count(6, timeout=15_000)
    text = page.inner_text('[data-testid="stMain"]')
    page.screenshot(path=str(SCREENSHOTS / "health.png"), full_page=True)
    page.close()
    assert "billable · sync lag" in text
    assert "Stale" in text
    assert "Traceback" not in text
    assert BILLABLE_ERROR  # shown in a canvas grid; its text is asserted under AppTest


def test_overview_renders_and_drills_from_a_bar_in_chromium(dashboard: str, browser: Any) -> None:
    """The default page, 1400 px wide as an executive's laptop: tiles, then a WIP bar clicked
    lists the billing events behind it."""
    page, expect = opened(browser, dashboard, "Overview", height=2200, width=1400)
    page.wait_for_selector('[data-testid="stMetric"]', timeout=30_000)
    expect(page.get_by_text("WIP, unbilled — USD")).to_be_visible()
    page.get_by_role("tab", name="WIP").click()
    bars = page.locator('[role="tabpanel"]:visible [data-testid="stPlotlyChart"] g.point')
    expect(bars.first).to_be_visible(timeout=30_000)
    box = bars.first.bounding_box()  # the 0–30 days bucket: one USD event
    assert box is not None  # plotly's drag layer lies on top: click where the bar is drawn
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] - 5)
    shown = page.locator('[role="tabpanel"]:visible')
    expect(shown.get_by_text("1 record — select one to see its journey.")).to_be_visible(
        timeout=15_000
    )
    expect(shown.locator('[data-testid="stDataFrame"]')).to_have_count(1)
    _select_row(page, 0, shown.locator('[data-testid="stDataFrame"]').first)
    expect(shown.get_by_text("Journey of billing event")).to_be_visible(timeout=15_000)
    expect(shown.locator('[data-testid="stPlotlyChart"] .main-svg').nth(1)).to_be_visible(
        timeout=15_000
    )  # the journey's timeline, beside its table of milestones
    text = page.inner_text('[data-testid="stMain"]')
    page.screenshot(path=str(SCREENSHOTS / "overview.png"), full_page=True)
    page.close()
    assert "$2,300.00" in text and "vs " in text  # every trend says what it compares with
    assert "Traceback" not in text and "None" not in text.split()


def _select_row(page: Any, row: int, grid: Any = None) -> None:
    """Click a row's selection marker in a grid (the first by default; drawn on a canvas, so by
    coordinates)."""
    grid = grid or page.locator('[data-testid="stDataFrame"]').first
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + 15, box["y"] + 35 + 35 * row + 17)


def _select_first_invoice(page: object) -> None:
    """Click the first row's selection marker: the grid is drawn on a canvas, so by coordinates."""
    grid = page.locator('[data-testid="stDataFrame"]').first  # type: ignore[attr-defined]
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + 15, box["y"] + 35 + 17)  # type: ignore[attr-defined]


def test_alerts_page_renders_in_chromium(dashboard: str, browser: Any) -> None:
    expect = pytest.importorskip("playwright.sync_api").expect
    page = browser.new_page(viewport={"width": 1600, "height": 2400})
    page.goto(f"{dashboard}/alerts", timeout=30_000)
    expect(page.get_by_role("heading", name="Alerts", exact=True)).to_be_visible(timeout=30_000)
    page.wait_for_selector('[data-testid="stMetric"]', timeout=30_000)
    page.wait_for_selector('[data-testid="stPlotlyChart"] .main-svg', timeout=30_000)
    expect(page.get_by_role("heading", name="Service level objectives")).to_be_visible()
    text = page.inner_text('[data-testid="stMain"]')
    page.screenshot(path=str(SCREENSHOTS / "alerts.png"), full_page=True)
    page.close()
    assert "Firing now" in text and "Error budget left (30 days)" in text
    assert "Traceback" not in text
