"""Salesforce REST API emulator: OAuth client credentials, SOQL, sObjects, composite, limits.

Modules: ``schema`` (objects, fields, ids), ``records`` (world → records, the mutable store),
``soql`` (the parser), ``query`` (running SOQL, cursors), ``resources`` (REST resources),
``composite``, ``identity`` (tokens) and ``emulator`` (the Starlette app and control surface).
"""

from __future__ import annotations

from sandbox.vendors.salesforce.emulator import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    SalesforceEmulator,
)
from sandbox.vendors.salesforce.records import account_id, contract_id, opportunity_id

__all__ = [
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "SalesforceEmulator",
    "account_id",
    "contract_id",
    "opportunity_id",
]
