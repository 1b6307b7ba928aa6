"""Harvest v2: clients, projects, users, tasks, assignments, time entries and expenses; provisions
clients, projects and user assignments.

Auth is Harvest's three headers (bearer token, ``Harvest-Account-Id``, a ``User-Agent`` naming us);
every list follows ``links.next`` (page-number or cursor style alike); ``updated_since`` is the
incremental filter. Harvest reports no deletions, so deletions are found by full reconciliation.

Approval: Harvest's Timesheet Approval shows up only as ``is_closed`` (with ``is_locked`` and a
``locked_reason``); an approved entry is ``is_closed``. Harvest gives no approval timestamp, so
``approved_at`` is the entry's ``updated_at`` when it is closed (the approval is its last change).

Time entries are mapped a page at a time into a polars frame (the hot path, DESIGN §10);
reference data is mapped record by record into canonical entities. An entry Harvest already shows
as invoiced (``is_billed``, or an ``invoice`` reference: invoiced outside plan2cash) carries
``is_billed`` in the frame so that the engine never bills it again.

Harvest has no idempotency key, so every create looks before it leaps: find the record by its
natural key (client name, project code, user on project), create it only when absent, and after a
create whose reply was lost, look again before creating again.
"""

from __future__ import annotations

from collectors.harvest.connector import (
    MAX_PER_PAGE,
    STREAMS,
    HarvestConnector,
    HarvestSettings,
    ListedPage,
    harvest_pacer,
)
from collectors.harvest.frames import (
    RAW_TIME_SCHEMA,
    TIME_SCHEMA,
    _time_entries_by_record,
    time_entries_frame,
    to_time_entry,
)
from collectors.harvest.mapping import (
    VENDOR,
    iso,
    parse_datetime,
    to_assignment,
    to_customer,
    to_expense,
    to_project_and_contract,
    to_resource,
)
from collectors.harvest.pages import (
    TimeEntryPage,
    concat_pages,
    read_time_entry_page,
    whole_days,
)

__all__ = [
    "MAX_PER_PAGE",
    "RAW_TIME_SCHEMA",
    "STREAMS",
    "TIME_SCHEMA",
    "VENDOR",
    "HarvestConnector",
    "HarvestSettings",
    "ListedPage",
    "TimeEntryPage",
    "_time_entries_by_record",
    "concat_pages",
    "harvest_pacer",
    "iso",
    "parse_datetime",
    "read_time_entry_page",
    "time_entries_frame",
    "to_assignment",
    "to_customer",
    "to_expense",
    "to_project_and_contract",
    "to_resource",
    "to_time_entry",
    "whole_days",
]
