"""The demo books each legal entity where the sandbox firm does, unless the configuration says
otherwise (``app.cli.sandbox.adopt_books``)."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import SecretStr

from app.cli.sandbox import adopt_books
from collectors.dynamics365 import Dynamics365Settings
from sandbox.server import Sandbox
from sandbox.world.catalog import ERPS
from sync import erps
from sync.settings import Settings
from sync.settings_erp import EntityBooks, ErpSettings
from sync.store import ErpSystem


@pytest.fixture(scope="module")
def box() -> Sandbox:
    return Sandbox(7, today=date(2026, 11, 25), entities=4, erps=ERPS)


def test_each_entity_books_in_its_sandbox_erp(box: Sandbox) -> None:
    settings = Settings()
    adopt_books(settings, box.connections())
    booked = {name: books.erp for name, books in settings.erp.entities.items()}
    assert booked == {e.name: ErpSystem(e.erp) for e in box.world.legal_entities}
    assert set(booked.values()) == set(ErpSystem)
    # NetSuite's key exists only in the running sandbox: it comes from its connections
    assert settings.netsuite is not None
    assert settings.netsuite.private_key.get_secret_value().startswith("-----BEGIN")
    built = erps.build(settings, transports=box.transports())
    assert list(built) == [str(e) for e in ErpSystem]
    for name, erp in built.items():
        with erp.client() as client:
            names = {c.name for c in erp.companies(client)}
        assert names == {e.name for e in box.world.legal_entities if e.erp == name}


def test_the_configuration_wins_over_the_sandbox(box: Sandbox) -> None:
    mine = Dynamics365Settings(client_secret=SecretStr("configured"), page_size=7)
    settings = Settings(
        erp=ErpSettings(
            entities={"Meridian Advisory GmbH": EntityBooks(erp=ErpSystem.DYNAMICS365)}
        ),
        dynamics365=mine,
    )
    adopt_books(settings, box.connections())
    assert set(settings.erp.entities) == {"Meridian Advisory GmbH"}  # not the sandbox's four
    assert settings.dynamics365 is mine
    assert settings.oracle_fusion is None and settings.netsuite is None  # not in use
