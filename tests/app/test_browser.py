"""Real-browser smoke test: the billing page served by ``streamlit run`` and read by chromium."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sync.store.db import make_engine
from sync.store.migrate import upgrade
from tests.app.seed import USD_INVOICE, seed

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT = ROOT / "var" / "screenshots" / "billing.png"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_healthy(url: str, server: subprocess.Popen[bytes], deadline: float) -> None:
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"streamlit exited with {server.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"streamlit at {url} never became healthy")


def test_billing_page_renders_in_chromium(tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip(
            "Debian's chromium is not installed at /usr/bin/chromium (apt-get install chromium)"
        )
    sync_api = pytest.importorskip("playwright.sync_api")
    url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = make_engine(url)
    upgrade(engine)
    seed(engine, datetime.now(UTC).date())
    engine.dispose()

    port = _free_port()
    env = {
        **os.environ,
        "PLAN2CASH__DATABASE_URL": url,
        "PLAN2CASH_CONFIG": str(tmp_path / "absent.toml"),
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
        _wait_healthy(base, server, time.monotonic() + 30)
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1600, "height": 2800})
            page.goto(base, timeout=30_000)
            expect = sync_api.expect
            expect(page.get_by_role("heading", name="Billing")).to_be_visible(timeout=30_000)
            page.wait_for_selector('[data-testid="stMetric"]', timeout=30_000)
            page.wait_for_selector('[data-testid="stPlotlyChart"] .main-svg', timeout=30_000)
            expect(page.get_by_text("WIP (unbilled, approved) — USD")).to_be_visible()
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
            browser.close()
        assert USD_INVOICE in text
        assert "$2,300.00" in text
        assert "Traceback" not in text
        assert "Error" not in text
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


def _select_first_invoice(page: object) -> None:
    """Click the first row's selection marker: the grid is drawn on a canvas, so by coordinates."""
    grid = page.locator('[data-testid="stDataFrame"]').first  # type: ignore[attr-defined]
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + 15, box["y"] + 35 + 17)  # type: ignore[attr-defined]
