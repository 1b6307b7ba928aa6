"""Column configs for the dashboard's tables, each column defined once where tables share it.

:func:`table` lists a table's columns in display order: the shared config of each name, or the
one given for that table (a label with its currency, a help text only that table needs).
"""

from __future__ import annotations

from typing import Any

import streamlit as st

MONEY = "accounting"  # 1,234.50 — the currency sits in its own column next to it
DAY = "D MMM YYYY"
WHEN = "D MMM YYYY, HH:mm"
WHEN_EXACT = "D MMM YYYY, HH:mm:ss"

Config = Any  # a streamlit column config (a typed dict)


def text(label: str, **options: Any) -> Config:
    """A text column labelled ``label``."""
    return st.column_config.TextColumn(label, **options)


def number(label: str, number_format: str, **options: Any) -> Config:
    """A number column labelled ``label``, shown in ``number_format`` (printf or a preset)."""
    return st.column_config.NumberColumn(label, format=number_format, **options)


def money(label: str, **options: Any) -> Config:
    """An amount in accounting format; its currency is named by the label or a column beside."""
    return number(label, MONEY, **options)


def day(label: str) -> Config:
    """A date column labelled ``label``."""
    return st.column_config.DateColumn(label, format=DAY)


def when(label: str, moment_format: str = WHEN) -> Config:
    """A UTC timestamp column labelled ``label``."""
    return st.column_config.DatetimeColumn(label, format=moment_format)


SHARED: dict[str, Config] = {
    "id": number("#", "%d", width="small"),
    "status": text("Status"),
    "category": text("Category"),
    "flow": text("Flow"),
    "record_key": text("Record"),
    "trace_id": text("Trace id"),
    "customer": text("Customer"),
    "project": text("Project"),
    "person": text("Person"),
    "currency": text("Currency", width="small"),
    "hours": number("Hours", "%.2f"),
    "rate": money("Rate"),
    "amount": money("Amount"),
    "value_at_risk": money("Value at risk"),
    "spent_date": day("Date"),
    "occurred_on": day("Work date"),
    "occurred_at": when("When (UTC)"),
    "issue_date": day("Issued"),
}


def table(*names: str, **own: Config) -> dict[str, Config]:
    """The configs of a table's columns in the order given: ``own`` where given, else shared.

    Every name in ``own`` must be one of ``names``, and every other name must be shared.
    """
    stray = set(own) - set(names)
    if stray:
        raise ValueError(f"column configs for columns the table does not list: {sorted(stray)}")
    return {name: own[name] if name in own else SHARED[name] for name in names}


def dataframe(frame: Any, config: dict[str, Config], **options: Any) -> Any:
    """``frame`` as a table of exactly ``config``'s columns in its order, without the index,
    an empty cell shown as "—"; ``options`` as for ``st.dataframe`` (key, selection …)."""
    return st.dataframe(
        frame,
        hide_index=True,
        placeholder="—",
        column_order=list(config),
        column_config=config,
        **options,
    )
