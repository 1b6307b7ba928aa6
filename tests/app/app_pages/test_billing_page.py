"""The billing page under AppTest: empty store, seeded store, and the invoice drilldown."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from sync.store.db import make_engine
from tests.app.conftest import APP, shown
from tests.app.seed import EUR_INVOICE, GBP_INVOICE, INVOICE_NUMBERS, USD_INVOICE
from tests.app.seed_erps import seed_erps


def _run() -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    at.switch_page("app_pages/billing.py").run()  # the Overview is the default page
    assert not at.exception, [e.value for e in at.exception]
    return at


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_an_empty_store_explains_how_to_get_data(store_url: str) -> None:
    at = _run()
    assert at.title[0].value == "Billing"
    assert len(at.info) == 1
    assert "No data has synced" in at.info[0].value
    assert "plan2cash sync --once" in at.info[0].value
    assert "make demo" in at.info[0].value
    assert len(at.metric) == 0
    assert len(at.dataframe) == 0


@pytest.mark.usefixtures("seeded_url")
def test_metrics_are_the_hand_computed_figures_per_currency() -> None:
    at = _run()
    month = f"{datetime.now(UTC):%b %Y}"
    metrics = _metrics(at)
    assert metrics["WIP, unbilled — USD"] == "$2,300.00"  # 1,200 + 600 + 500
    assert metrics["WIP, unbilled — GBP"] == "£720.00"
    assert metrics["WIP, unbilled — EUR"] == "€0.00"
    assert metrics[f"Posted in {month} — USD"] == "$1,500.00"
    assert metrics[f"Posted in {month} — EUR"] == "€0.00"  # posted 70 days ago
    assert metrics["Posted to date — EUR"] == "€300.00"
    assert metrics["Awaiting posting — GBP"] == "£600.00"
    assert metrics["Awaiting posting — USD"] == "$0.00"
    assert metrics["At risk (open exceptions) — USD"] == "$450.00"  # not the resolved 999
    assert metrics["Open exceptions (all flows)"] == "2"
    assert metrics["Billing events (all time)"] == "7"
    assert metrics["Invoices (all time)"] == "3"
    assert metrics["Unbilled hours (approved, all currencies)"] == "20.5 h"
    assert not any("USD" in label and "GBP" in label for label in metrics)


@pytest.mark.usefixtures("seeded_url")
def test_the_caption_names_the_source_and_the_syncs() -> None:
    caption = _run().caption[0].value
    assert "Source: plan2cash store" in caption
    assert "as of" in caption
    assert "billable 5 min ago" in caption
    assert "invoicing never" in caption  # its only run failed


@pytest.mark.usefixtures("seeded_url")
def test_the_invoice_table_lists_every_invoice_with_its_status() -> None:
    at = _run()
    invoices = at.dataframe[0].value
    assert sorted(invoices["number"]) == sorted(INVOICE_NUMBERS)
    statuses = dict(zip(invoices["number"], invoices["status"], strict=True))
    assert statuses[USD_INVOICE] == "posted"
    assert statuses[GBP_INVOICE] == "pending"
    totals = dict(zip(invoices["number"], invoices["total"], strict=True))
    assert totals[USD_INVOICE] == pytest.approx(1500.0)
    events = at.dataframe[-1].value
    assert len(events) == 7
    assert (events["invoice_number"] == "not invoiced").sum() == 4


@pytest.mark.usefixtures("seeded_url")
def test_selecting_an_invoice_shows_its_lines_and_events() -> None:
    at = _run()
    row = list(at.dataframe[0].value["number"]).index(USD_INVOICE)
    at.session_state["invoice_table"] = {"selection": {"rows": [row], "columns": [], "cells": []}}
    at.run()
    assert not at.exception
    assert any(f"Invoice {USD_INVOICE} · Acme Corp" in shown(m.value) for m in at.markdown)
    lines, events = at.dataframe[1].value, at.dataframe[2].value
    assert list(lines["description"]) == ["Professional services — Ada Lovelace, 10 h"]
    assert list(lines["amount"]) == [pytest.approx(1500.0)]
    assert list(events["id"]) == ["e4"]


@pytest.mark.usefixtures("seeded_url")
def test_the_events_view_filters_to_not_invoiced() -> None:
    at = _run()
    at.segmented_control(key="event_view").set_value("Not invoiced").run()
    assert not at.exception
    events = at.dataframe[-1].value
    assert sorted(events["id"]) == ["e1", "e2", "e3", "e5"]


@pytest.fixture
def erps(seeded_url: str) -> str:
    engine = make_engine(seeded_url)
    seed_erps(engine, datetime.now(UTC))
    engine.dispose()
    return seeded_url


def _table(at: AppTest, column: str) -> pd.DataFrame:
    """The one table on the page with ``column``."""
    (table,) = [df.value for df in at.dataframe if column in df.value.columns]
    return table


@pytest.mark.usefixtures("erps")
def test_invoices_per_erp_show_each_legal_entitys_value_per_currency() -> None:
    values = _table(_run(), "posted_value").set_index("legal_entity")
    assert values.loc["Acme US Inc", "erp_name"] == "Xero"
    assert values.loc["Acme US Inc", "posted_value"] == pytest.approx(1500.0)
    assert values.loc["Brit Ltd", "erp_name"] == "Dynamics 365 Finance"
    assert values.loc["Brit Ltd", "currency"] == "GBP"
    assert values.loc["Brit Ltd", "waiting_value"] == pytest.approx(600.0)
    assert values.loc["Brit Ltd", "posted_invoices"] == 0
    assert values.loc["Euro GmbH", "company"] == "BU DE"


@pytest.mark.usefixtures("erps")
def test_each_invoice_names_its_erp_legal_entity_and_erp_id() -> None:
    invoices = _table(_run(), "period_start").set_index("number")
    assert invoices.loc[USD_INVOICE, "erp_name"] == "Xero"
    assert invoices.loc[USD_INVOICE, "legal_entity"] == "Acme US Inc"
    assert invoices.loc[USD_INVOICE, "erp_invoice_id"] == "xero-1"
    assert invoices.loc[GBP_INVOICE, "erp_name"] == "Dynamics 365 Finance"
    assert pd.isna(invoices.loc[GBP_INVOICE, "erp_invoice_id"])  # waiting: no id in the ERP yet


@pytest.mark.usefixtures("erps")
def test_the_invoices_filter_to_one_erp() -> None:
    at = _run()
    control = at.segmented_control(key="invoice_erp")
    assert control.options == ["All", "Dynamics 365 Finance", "Oracle Fusion", "Xero"]
    control.set_value("Oracle Fusion").run()
    assert not at.exception
    assert list(_table(at, "period_start")["number"]) == [EUR_INVOICE]


@pytest.mark.usefixtures("seeded_url")
def test_with_nothing_queued_for_an_erp_the_section_says_so() -> None:
    at = _run()
    assert any("No invoice has been queued for an ERP yet" in c.value for c in at.caption)
