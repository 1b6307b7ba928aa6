"""BambooHR (HR, system of record for people): employees, their changes, time off, holidays.

``connector`` reaches the API (Basic auth with the API key, cursor paging, ``/employees/changed``
for increments); ``mapping`` turns its records into canonical ``Resource`` entities and the time
off and holiday records; ``webhooks`` verifies signed deliveries. We read; we never write.
"""

from __future__ import annotations

from collectors.bamboohr.connector import (
    DETAIL_FIELDS,
    LAST_CHANGED,
    LIST_FIELDS,
    VENDOR,
    BambooHRAuth,
    BambooHRConnector,
    BambooHRSettings,
    ChangeSet,
    bamboohr_pacer,
)
from collectors.bamboohr.mapping import (
    Absence,
    Holiday,
    TimeOffRecord,
    resource_id,
    to_resource,
    to_time_off,
    to_whos_out,
)
from collectors.bamboohr.webhooks import verify_webhook

__all__ = [
    "DETAIL_FIELDS",
    "LAST_CHANGED",
    "LIST_FIELDS",
    "VENDOR",
    "Absence",
    "BambooHRAuth",
    "BambooHRConnector",
    "BambooHRSettings",
    "ChangeSet",
    "Holiday",
    "TimeOffRecord",
    "bamboohr_pacer",
    "resource_id",
    "to_resource",
    "to_time_off",
    "to_whos_out",
    "verify_webhook",
]
