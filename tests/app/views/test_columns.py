"""Table column configs: shared where tables share a column, listed in the order given."""

from __future__ import annotations

import pytest

from app.views import columns


def test_a_table_lists_its_columns_in_order_with_shared_configs_unless_its_own() -> None:
    own = columns.money("Amount (USD)")
    config = columns.table("customer", "amount", "hours", amount=own)
    assert list(config) == ["customer", "amount", "hours"]
    assert config["amount"] is own
    assert config["customer"] is columns.SHARED["customer"]
    assert config["hours"]["label"] == "Hours"


def test_a_config_for_a_column_the_table_does_not_list_is_refused() -> None:
    with pytest.raises(ValueError, match="amount"):
        columns.table("customer", amount=columns.money("Amount"))


def test_a_column_neither_shared_nor_given_is_refused() -> None:
    with pytest.raises(KeyError, match="reason"):
        columns.table("customer", "reason")
