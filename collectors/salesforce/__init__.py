"""Salesforce (CRM): accounts, won opportunities and activated contracts in; AR status out.

``connector`` has the settings, auth, SOQL streams, replication calls and the write-back call;
``mapping`` turns records into canonical entities (the only place Salesforce field names are
read); ``writeback`` builds and reads the composite requests that carry AR onto accounts.
"""

from __future__ import annotations

from collectors.salesforce.connector import (
    STREAMS,
    Replication,
    SalesforceAuth,
    SalesforceConnector,
    SalesforceSettings,
    SObjectStream,
    salesforce_pacer,
)
from collectors.salesforce.mapping import (
    VENDOR,
    WonOpportunity,
    cursor_of,
    to_contract,
    to_customer,
    to_won_opportunity,
)
from collectors.salesforce.writeback import ARResult, ARUpdate

__all__ = [
    "STREAMS",
    "VENDOR",
    "ARResult",
    "ARUpdate",
    "Replication",
    "SObjectStream",
    "SalesforceAuth",
    "SalesforceConnector",
    "SalesforceSettings",
    "WonOpportunity",
    "cursor_of",
    "salesforce_pacer",
    "to_contract",
    "to_customer",
    "to_won_opportunity",
]
