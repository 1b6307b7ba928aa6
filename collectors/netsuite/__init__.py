"""Oracle NetSuite (REST web services and SuiteQL) as plan2cash's ERP, per subsidiary.

The vendor facts it relies on (``shared/vendors/erps.md`` §3):

- Auth is OAuth 2.0 client credentials (machine to machine) with a signed JWT assertion: header
  ``typ=JWT``, ``alg`` PS256 (or another PS/ES algorithm), ``kid`` = the certificate id; claims
  ``iss`` = client id, ``scope=rest_webservices``, ``aud`` = the token URL, ``iat``, ``exp`` ≤ 60
  min later; then ``Authorization: Bearer``. [confirmed]
- A legal entity is a subsidiary (OneWorld); subsidiaries, currencies and document status come
  from SuiteQL (``POST /query/v1/suiteql`` with ``Prefer: transient``), ordered for stable paging.
  SuiteQL's ``transaction.subsidiary`` column and ``foreignamountremaining`` on credit memos are
  [unconfirmed]: on a real account the subsidiary is on the main ``transactionline``.
- Records (``/record/v1/customer``, ``invoice``, ``creditMemo``, ``customerPayment``) page by
  ``limit`` (at most 1000) and ``offset`` with ``hasMore``/``totalResults``; collections list ids
  only, so each record is read with ``expandSubResources=true``; ``q=lastModifiedDate
  ON_OR_AFTER "M/D/YYYY h:mm am"`` reads what changed (field [3rd-party], the account's date
  format and time zone [unconfirmed]: US format, UTC).
- Posting is at most once by upsert on our key as external id (``PUT …/eid:<key>``), answered
  204 with ``Location``; a credit memo settles an invoice through its ``apply`` sublist, and a
  customer payment's ``apply`` lines become one canonical payment per invoice.
- Throttling is a per-account concurrency limit answered 429 (on REST [unconfirmed]); we pace by
  requests in flight. Errors carry ``o:errorDetails`` (``detail``, ``o:errorCode``).
"""

from __future__ import annotations

from collectors.netsuite.connector import NetSuiteConnector, NetSuiteSettings
from collectors.netsuite.mapping import (
    VENDOR,
    account_datetime,
    credit_memo_body,
    customer_body,
    invoice_body,
    to_customer,
    to_invoice,
    to_payments,
)
from collectors.netsuite.posting import MAX_BATCH

__all__ = [
    "MAX_BATCH",
    "VENDOR",
    "NetSuiteConnector",
    "NetSuiteSettings",
    "account_datetime",
    "credit_memo_body",
    "customer_body",
    "invoice_body",
    "to_customer",
    "to_invoice",
    "to_payments",
]
