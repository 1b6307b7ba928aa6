"""A seeded firm with its rollups built, changed and refreshed: the store the report and
drilldown tests read (on SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from sync.flows import rollups
from sync.store.db import session_factory, transaction
from tests.metrics.seeded import TODAY, change, seed


@pytest.fixture
def seeded(store: Engine) -> Engine:
    firm = seed(store, 11)
    with transaction(session_factory(store)) as session:
        rollups.refresh(session, today=TODAY)
    change(firm, 25)
    with transaction(session_factory(store)) as session:
        rollups.refresh(session, today=TODAY)
    return store
