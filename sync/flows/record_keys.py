"""The exception keys of time entries, shared by the flows that open and resolve them.

A key names the record a person fixes, stable across runs: an entry held by a rule is
``harvest:time_entry:<Harvest id>`` (flow 3, ``billable``); an entry changed after it was invoiced
is ``be:<Harvest id>`` (also ``billable``'s, resolved by ``compensation`` once it is put right)."""

from __future__ import annotations

from sync.store.vocabulary import Flow

BILLABLE_FLOW = Flow.BILLABLE  # the flow whose exceptions these are


def held_entry(source_id: str) -> str:
    """The key of a Harvest time entry held by a billing rule."""
    return f"harvest:time_entry:{source_id}"


def edited_entry(source_id: str) -> str:
    """The key of a Harvest time entry that changed after it was invoiced."""
    return f"be:{source_id}"
