"""The Integration health page under AppTest: empty store, and the seeded runs and vendor calls."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from sync.store.db import make_engine
from tests.app.conftest import APP
from tests.app.seed import BILLABLE_ERROR, seed_operations
from tests.app.seed_erps import seed_erps

PAGE = APP.parent / "app_pages" / "health.py"


@pytest.fixture
def operations(seeded_url: str) -> str:
    engine = make_engine(seeded_url)
    seed_operations(engine, datetime.now(UTC))
    engine.dispose()
    return seeded_url


def page() -> AppTest:
    at = AppTest.from_file(str(PAGE), default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def frame(at: AppTest, column: str) -> pd.DataFrame:
    """The one table on the page with ``column``."""
    (table,) = [df.value for df in at.dataframe if column in df.value.columns]
    return table


def by_name(table: pd.DataFrame, column: str) -> dict[str, dict[str, object]]:
    return {row[column]: row for row in table.to_dict("records")}


def test_an_empty_store_explains_how_to_get_data(store_url: str) -> None:
    at = page()
    assert at.title[0].value == "Integration health"
    assert "No flow has run yet" in at.info[0].value
    assert "plan2cash sync --once" in at.info[0].value
    assert len(at.dataframe) == 0


@pytest.mark.usefixtures("operations")
def test_flows_show_the_hand_computed_error_rate_throughput_and_lag() -> None:
    flows = by_name(frame(page(), "run_error_rate"), "flow")
    billable = flows["billable"]
    assert billable["runs"] == 4
    assert billable["failed_runs"] == 1
    assert billable["run_error_rate"] == pytest.approx(0.25)  # 1 failed of 4
    assert billable["records_per_minute"] == pytest.approx(20.0)  # 120 records in 6 min
    assert billable["record_error_rate"] == pytest.approx(0.05)  # 6 exceptions / 120
    assert billable["state"] == "stale"  # 5 min since success; stale after 3 × 1 min
    assert flows["outbox"]["state"] == "on time"  # 30 s ago; stale after 1.5 min
    assert flows["invoicing"]["state"] == "never succeeded"
    assert flows["invoicing"]["run_error_rate"] == pytest.approx(1.0)


@pytest.mark.usefixtures("operations")
def test_flow_tiles_flag_the_stale_flow() -> None:
    tiles = {m.label: m for m in page().metric}
    lag = tiles["billable · sync lag"].value
    assert lag.endswith(" min") and 5.0 <= float(lag.removesuffix(" min")) < 6.0
    assert "Stale" in tiles["billable · sync lag"].delta
    assert "On time" in tiles["outbox · sync lag"].delta
    assert tiles["invoicing · sync lag"].value == "never"


@pytest.mark.usefixtures("operations")
def test_vendor_calls_show_percentiles_retries_and_429s() -> None:
    vendors = by_name(frame(page(), "p95_ms"), "vendor")
    harvest, xero = vendors["harvest"], vendors["xero"]
    assert harvest["calls"] == 20
    assert harvest["p95_ms"] == pytest.approx(190.0)  # 10 … 200 ms, nearest rank 19 of 20
    assert (harvest["retries"], harvest["throttled"], harvest["errors"]) == (1, 0, 1)
    assert (xero["calls"], xero["retries"], xero["throttled"], xero["errors"]) == (4, 1, 1, 2)


@pytest.mark.usefixtures("operations")
def test_failed_runs_show_their_error_text() -> None:
    failed = frame(page(), "error")
    assert list(failed["flow"]) == ["invoicing", "billable"]  # newest first
    assert BILLABLE_ERROR in list(failed["error"])


@pytest.mark.usefixtures("operations")
def test_open_exceptions_link_to_the_filtered_exceptions_page() -> None:
    table = frame(page(), "oldest_days")
    rows = by_name(table[table["flow"] == "billable"], "category")
    assert set(rows) == {"negative_hours", "over_24h", "no_assignment"}  # not the ignored one
    assert rows["over_24h"]["value_at_risk"] == pytest.approx(4500.0)
    assert rows["over_24h"]["link"] == "exceptions?category=over_24h"


@pytest.mark.usefixtures("operations")
def test_the_page_is_registered_under_operations() -> None:
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    at.switch_page(str(Path("app_pages") / "health.py")).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Integration health"


@pytest.fixture
def erps(operations: str) -> str:
    engine = make_engine(operations)
    seed_erps(engine, datetime.now(UTC))
    engine.dispose()
    return operations


@pytest.mark.usefixtures("erps")
def test_each_erp_shows_its_invoices_by_state_lag_and_calls() -> None:
    at = page()
    erps = by_name(frame(at, "last_call"), "erp_name")
    assert list(erps) == ["Dynamics 365 Finance", "Oracle Fusion", "Xero"]
    d365, fusion, xero = erps["Dynamics 365 Finance"], erps["Oracle Fusion"], erps["Xero"]
    assert (d365["posted"], d365["waiting"], d365["refused"]) == (0, 1, 0)
    assert d365["oldest_waiting_minutes"] == pytest.approx(10.0, abs=0.5)
    assert (d365["calls"], d365["throttled"], d365["errors"]) == (3, 1, 1)
    assert (fusion["posted"], fusion["lag_p95_seconds"]) == (1, pytest.approx(8.0))
    assert (xero["posted"], xero["lag_p50_seconds"]) == (1, pytest.approx(2.0))
    # the operations' own Xero calls count too: 4 seeded before, 1 here
    assert xero["calls"] == 5
    tiles = {m.label: m for m in at.metric}
    assert tiles["Dynamics 365 Finance"].value == "0 posted"
    assert "1 waiting · 0 refused" in tiles["Dynamics 365 Finance"].delta
    assert tiles["Oracle Fusion"].value == "1 posted"


@pytest.mark.usefixtures("erps")
def test_each_set_of_books_shows_its_legal_entity_and_company() -> None:
    books = by_name(frame(page(), "legal_entity"), "company")
    assert books["gb01"]["legal_entity"] == "Brit Ltd"
    assert books["gb01"]["erp_name"] == "Dynamics 365 Finance"
    assert books["BU DE"]["legal_entity"] == "Euro GmbH"
    assert books["tenant-us"]["legal_entity"] == "Acme US Inc"
